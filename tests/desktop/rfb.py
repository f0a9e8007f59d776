"""A minimal RFB (VNC) client over the desktop's authenticated WebSocket: handshake, raw frames, keys, pointer."""

from __future__ import annotations

import asyncio
import struct

import aiohttp
import numpy as np

KEYSYMS = {"Up": 0xFF52, "Down": 0xFF54, "Left": 0xFF51, "Right": 0xFF53, "Return": 0xFF0D}


class RfbClient:
    """Speaks RFB 3.8 with security type None (the desktop's bridge is the only way in; the token guards it)."""

    def __init__(self, ws: aiohttp.ClientWebSocketResponse) -> None:
        self.ws = ws
        self.buffer = bytearray()
        self.width = self.height = 0
        self.screen: np.ndarray | None = None

    @classmethod
    async def connect(cls, session: aiohttp.ClientSession, url: str, **kwargs) -> RfbClient:
        ws = await session.ws_connect(url, protocols=("binary",), max_msg_size=0, **kwargs)
        client = cls(ws)
        await client.handshake()
        return client

    async def read(self, n: int) -> bytes:
        while len(self.buffer) < n:
            message = await asyncio.wait_for(self.ws.receive(), 30)
            if message.type != aiohttp.WSMsgType.BINARY:
                raise ConnectionError(f"websocket closed: {message.type}")
            self.buffer.extend(message.data)
        data = bytes(self.buffer[:n])
        del self.buffer[:n]
        return data

    async def send(self, data: bytes) -> None:
        await self.ws.send_bytes(data)

    async def handshake(self) -> None:
        version = await self.read(12)
        assert version.startswith(b"RFB 003."), version
        await self.send(b"RFB 003.008\n")
        (count,) = struct.unpack("B", await self.read(1))
        assert count > 0, "server refused the connection"
        types = await self.read(count)
        assert 1 in types, f"security type None not offered: {list(types)}"
        await self.send(b"\x01")
        (result,) = struct.unpack(">I", await self.read(4))
        assert result == 0, "security handshake failed"
        await self.send(b"\x01")  # ClientInit: shared
        self.width, self.height = struct.unpack(">HH", await self.read(4))
        await self.read(16)  # server pixel format
        (name_length,) = struct.unpack(">I", await self.read(4))
        await self.read(name_length)
        # 32 bpp, depth 24, little endian, true colour, red/green/blue at bits 16/8/0.
        pixel_format = struct.pack(">BBBBHHHBBB3x", 32, 24, 0, 1, 255, 255, 255, 16, 8, 0)
        await self.send(b"\x00\x00\x00\x00" + pixel_format)
        await self.send(struct.pack(">BxHi", 2, 1, 0))  # SetEncodings: raw only
        self.screen = np.zeros((self.height, self.width, 3), np.uint8)

    async def capture(self) -> np.ndarray:
        """Ask for the whole screen and apply updates until one full frame arrived; an RGB array."""
        assert self.screen is not None
        await self.send(struct.pack(">BBHHHH", 3, 0, 0, 0, self.width, self.height))
        while True:
            (kind,) = struct.unpack("B", await self.read(1))
            if kind == 0:
                (rects,) = struct.unpack(">xH", await self.read(3))
                for _ in range(rects):
                    x, y, w, h, encoding = struct.unpack(">HHHHi", await self.read(12))
                    assert encoding == 0, f"unexpected encoding {encoding}"
                    raw = np.frombuffer(await self.read(w * h * 4), np.uint8).reshape(h, w, 4)
                    self.screen[y : y + h, x : x + w] = raw[:, :, [2, 1, 0]]
                return self.screen.copy()
            if kind == 1:  # colour map entries
                _, n = struct.unpack(">xHH", await self.read(5))
                await self.read(6 * n)
            elif kind == 2:  # bell
                continue
            elif kind == 3:  # server cut text
                (n,) = struct.unpack(">3xI", await self.read(7))
                await self.read(n)
            else:
                raise AssertionError(f"unexpected server message {kind}")

    async def key(self, keysym: int | str) -> None:
        code = KEYSYMS[keysym] if isinstance(keysym, str) and len(keysym) > 1 else keysym
        code = ord(code) if isinstance(code, str) else code
        await self.send(struct.pack(">BBxxI", 4, 1, code))
        await self.send(struct.pack(">BBxxI", 4, 0, code))

    async def pointer(self, x: int, y: int, buttons: int = 0) -> None:
        await self.send(struct.pack(">BBHH", 5, buttons, x, y))

    async def click(self, x: int, y: int) -> None:
        await self.pointer(x, y, 0)
        await self.pointer(x, y, 1)
        await self.pointer(x, y, 0)

    async def close(self) -> None:
        await self.ws.close()
