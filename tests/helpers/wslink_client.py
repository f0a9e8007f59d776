"""A minimal wslink client (the viewer's WebSocket protocol) built on wslink's own chunking and msgpack."""

from __future__ import annotations

import asyncio
import itertools
from typing import Any

import aiohttp
import msgpack
from wslink.chunking import UnChunker, generate_chunks


class WslinkClient:
    def __init__(self, ws: aiohttp.ClientWebSocketResponse) -> None:
        self.ws = ws
        self._ids = itertools.count(1)
        self._unchunker = UnChunker()
        self._unchunker.set_max_message_size(1 << 30)
        self.client_id = "c0"

    async def _send(self, message: dict) -> None:
        for chunk in generate_chunks(msgpack.packb(message, use_bin_type=True), 0):
            await self.ws.send_bytes(chunk)

    async def _receive(self, rpc_id: str, timeout: float) -> dict:
        async with asyncio.timeout(timeout):
            while True:
                msg = await self.ws.receive()
                if msg.type != aiohttp.WSMsgType.BINARY:
                    raise ConnectionError(f"WebSocket closed or not binary: {msg.type}")
                full = self._unchunker.process_chunk(msg.data)
                if full is not None and full.get("id") == rpc_id:
                    return full

    async def hello(self, secret: str, timeout: float = 10) -> dict:
        rpc_id = "system:c0:0"
        await self._send(
            {"wslink": "1.0", "id": rpc_id, "method": "wslink.hello", "args": [{"secret": secret}], "kwargs": {}}
        )
        reply = await self._receive(rpc_id, timeout)
        if "result" in reply:
            self.client_id = reply["result"]["clientID"]
        return reply

    async def call(self, method: str, *args: Any, timeout: float = 20, **kwargs: Any) -> dict:
        rpc_id = f"rpc:{self.client_id}:{next(self._ids)}"
        await self._send({"wslink": "1.0", "id": rpc_id, "method": method, "args": list(args), "kwargs": kwargs})
        return await self._receive(rpc_id, timeout)
