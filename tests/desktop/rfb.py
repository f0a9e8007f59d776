"""A minimal RFB (VNC) client over the desktop's authenticated WebSocket.

Handshake, raw frames, keys, pointer, clipboard (ClientCutText / ServerCutText), remote resize (SetDesktopSize with
the ExtendedDesktopSize / DesktopSize pseudo-encodings), and a "count only" mode for the benchmark that asks for
the encodings noVNC asks for (Tight with JPEG quality 6, compression level 2) and walks the stream without decoding.
"""

from __future__ import annotations

import asyncio
import struct
import time

import aiohttp
import numpy as np

KEYSYMS = {"Up": 0xFF52, "Down": 0xFF54, "Left": 0xFF51, "Right": 0xFF53, "Return": 0xFF0D}

RAW, COPYRECT, TIGHT = 0, 1, 7
DESKTOP_SIZE, LAST_RECT, EXTENDED_DESKTOP_SIZE = -223, -224, -308
CURSOR, DESKTOP_NAME = -239, -307
JPEG_QUALITY_6, COMPRESS_LEVEL_2 = -32 + 6, -256 + 2  # noVNC's defaults
BENCH_ENCODINGS = (COPYRECT, TIGHT, RAW, JPEG_QUALITY_6, COMPRESS_LEVEL_2, DESKTOP_SIZE, LAST_RECT)


class RfbClient:
    """Speaks RFB 3.8 with security type None (the desktop's bridge is the only way in; the token guards it).

    :param encodings: what to ask the server for; default raw pixels (decoded into :attr:`screen`) plus the
        resize pseudo-encodings. With :data:`BENCH_ENCODINGS` the pixels are not decoded, only counted.
    """

    def __init__(self, ws: aiohttp.ClientWebSocketResponse, encodings=(RAW, EXTENDED_DESKTOP_SIZE, DESKTOP_SIZE)):
        self.ws = ws
        self.encodings = tuple(encodings)
        self.buffer = bytearray()
        self.width = self.height = 0
        self.screen: np.ndarray | None = None
        self.cut_texts: list[str] = []  # ServerCutText received, in order
        self.screens: list[tuple[int, int, int]] = []  # ExtendedDesktopSize replies: (status, width, height)
        self.bytes_received = 0
        self.updates: list[tuple[float, int, int]] = []  # per FramebufferUpdate: (time, bytes, pixels)

    @classmethod
    async def connect(cls, session: aiohttp.ClientSession, url: str, encodings=None, **kwargs) -> RfbClient:
        ws = await session.ws_connect(url, protocols=("binary",), max_msg_size=0, **kwargs)
        client = cls(ws) if encodings is None else cls(ws, encodings)
        await client.handshake()
        return client

    async def read(self, n: int) -> bytes:
        while len(self.buffer) < n:
            message = await asyncio.wait_for(self.ws.receive(), 30)
            if message.type != aiohttp.WSMsgType.BINARY:
                raise ConnectionError(f"websocket closed: {message.type}")
            self.buffer.extend(message.data)
            self.bytes_received += len(message.data)
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
        await self.send(struct.pack(f">BxH{len(self.encodings)}i", 2, len(self.encodings), *self.encodings))
        self.screen = np.zeros((self.height, self.width, 3), np.uint8)

    async def request(self, incremental: bool = False) -> None:
        await self.send(struct.pack(">BBHHHH", 3, int(incremental), 0, 0, self.width, self.height))

    async def read_message(self) -> tuple[int, int]:
        """Read one server message; returns (type, number of pixel rectangles) — 0 for non-update messages."""
        (kind,) = struct.unpack("B", await self.read(1))
        if kind == 0:
            return kind, await self._read_update()
        if kind == 1:  # colour map entries
            _, n = struct.unpack(">xHH", await self.read(5))
            await self.read(6 * n)
        elif kind == 2:  # bell
            pass
        elif kind == 3:  # server cut text (Latin-1)
            (n,) = struct.unpack(">3xi", await self.read(7))
            assert n >= 0, "extended clipboard was not asked for"
            self.cut_texts.append((await self.read(n)).decode("latin-1"))
        else:
            raise AssertionError(f"unexpected server message {kind}")
        return kind, 0

    async def _read_update(self) -> int:
        start = self.bytes_received - len(self.buffer)
        (rects,) = struct.unpack(">xH", await self.read(3))
        pixel_rects = pixels = 0
        index = 0
        while rects == 0xFFFF or index < rects:
            index += 1
            x, y, w, h, encoding = struct.unpack(">HHHHi", await self.read(12))
            if encoding == LAST_RECT:
                break
            if encoding in (DESKTOP_SIZE, EXTENDED_DESKTOP_SIZE):
                if encoding == EXTENDED_DESKTOP_SIZE:
                    (n,) = struct.unpack(">B3x", await self.read(4))
                    await self.read(16 * n)
                    self.screens.append((y, w, h))  # x: reason, y: status (0 = ok)
                # Xtigervnc repeats the layout on every full request: keep the picture unless the size changed.
                if (encoding == DESKTOP_SIZE or y == 0) and (w, h) != (self.width, self.height):
                    self.width, self.height = w, h
                    self.screen = np.zeros((h, w, 3), np.uint8)
                continue
            if encoding == CURSOR:
                await self.read(w * h * 4 + (w + 7) // 8 * h)
                continue
            if encoding == DESKTOP_NAME:
                (n,) = struct.unpack(">I", await self.read(4))
                await self.read(n)
                continue
            pixel_rects += 1
            pixels += w * h
            if encoding == RAW:
                raw = np.frombuffer(await self.read(w * h * 4), np.uint8).reshape(h, w, 4)
                if self.screen is not None and y + h <= self.screen.shape[0] and x + w <= self.screen.shape[1]:
                    self.screen[y : y + h, x : x + w] = raw[:, :, [2, 1, 0]]
            elif encoding == COPYRECT:
                await self.read(4)
            elif encoding == TIGHT:
                await self._skip_tight(w, h)
            else:
                raise AssertionError(f"unexpected encoding {encoding}")
        end = self.bytes_received - len(self.buffer)
        if pixel_rects:
            self.updates.append((time.monotonic(), end - start + 1, pixels))
        return pixel_rects

    async def _compact_length(self) -> int:
        length = shift = 0
        for _ in range(3):
            (byte,) = await self.read(1)
            length |= (byte & 0x7F) << shift
            shift += 7
            if not byte & 0x80:
                break
        return length

    async def _skip_tight(self, w: int, h: int) -> None:
        """Walk past one Tight rectangle (TPIXEL = 3 bytes at depth 24) without decoding it."""
        (control,) = await self.read(1)
        method = control >> 4
        if method == 0x8:  # fill
            await self.read(3)
            return
        if method == 0x9:  # JPEG
            await self.read(await self._compact_length())
            return
        assert method <= 0x7, f"unexpected Tight method {method:#x}"
        row_bytes = w * 3
        if method & 0x4:  # explicit filter
            (filter_id,) = await self.read(1)
            if filter_id == 1:  # palette
                (colours,) = await self.read(1)
                colours += 1
                await self.read(colours * 3)
                row_bytes = (w + 7) // 8 if colours == 2 else w
        size = row_bytes * h
        await self.read(size if size < 12 else await self._compact_length())

    async def capture(self) -> np.ndarray:
        """Ask for the whole screen and apply updates until one with pixels arrived; an RGB array."""
        assert self.screen is not None
        await self.request(incremental=False)
        while True:
            size = (self.width, self.height)
            kind, rects = await self.read_message()
            if kind == 0 and rects:
                return self.screen.copy()
            if kind == 0:
                # An update without pixels: Xtigervnc answers a full request with the screen layout first
                # (ExtendedDesktopSize). Same size: the pixels are still owed, ask incrementally (a full request
                # would be answered with the layout again, for ever); a new size: ask for the whole new screen.
                await self.request(incremental=(self.width, self.height) == size)

    async def wait_for(self, condition, timeout: float = 20) -> bool:
        """Read messages (asking for incremental updates) until ``condition()`` holds or ``timeout`` passes."""
        deadline = time.monotonic() + timeout
        await self.request(incremental=True)
        while not condition():
            left = deadline - time.monotonic()
            if left <= 0:
                return False
            try:
                kind, _ = await asyncio.wait_for(self.read_message(), left)
            except asyncio.TimeoutError:
                return False
            if kind == 0:
                await self.request(incremental=True)
        return True

    async def cut_text(self, text: str) -> None:
        """ClientCutText: put ``text`` on the server's clipboard."""
        data = text.encode("latin-1")
        await self.send(struct.pack(">B3xI", 6, len(data)) + data)

    async def set_desktop_size(self, width: int, height: int) -> None:
        """SetDesktopSize (ExtendedDesktopSize): one screen covering the whole new framebuffer."""
        await self.send(
            struct.pack(">BxHHBx", 251, width, height, 1) + struct.pack(">IHHHHI", 0, 0, 0, width, height, 0)
        )

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
