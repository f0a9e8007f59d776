"""The bridge on its own: an aiohttp server on loopback in front of a unix socket that speaks like a VNC server."""

from __future__ import annotations

import asyncio
import tempfile
from pathlib import Path

import aiohttp
import pytest
from aiohttp import web

from slicer_cloud.auth.tokens import TokenAuth
from slicer_cloud.desktop.bridge import make_app

EDIT, VIEW = "edit-token-0123456789", "view-token-0123456789"


async def _with_bridge(action):
    """Run ``action(base_url, connections)`` against a bridge whose VNC side greets with an RFB version line."""
    connections: list[bytes] = []

    async def fake_vnc(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.write(b"RFB 003.008\n")
        await writer.drain()
        connections.append(await reader.read(64))
        writer.close()

    with tempfile.TemporaryDirectory() as private:
        sock = Path(private) / "vnc.sock"
        server = await asyncio.start_unix_server(fake_vnc, str(sock))
        runner = web.AppRunner(make_app(TokenAuth(token=EDIT, view_token=VIEW), sock), access_log=None)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        port = runner.addresses[0][1]
        try:
            return await action(f"http://127.0.0.1:{port}", connections)
        finally:
            await runner.cleanup()
            server.close()


async def _open(base: str, token: str) -> tuple[int, bytes]:
    async with aiohttp.ClientSession(headers={"Authorization": f"Bearer {token}"}) as session:
        try:
            ws = await session.ws_connect(f"{base}/websockify", protocols=("binary",))
        except aiohttp.WSServerHandshakeError as refused:
            return refused.status, b""
        greeting = (await ws.receive(timeout=10)).data
        await ws.send_bytes(b"RFB 003.008\n")
        await ws.receive(timeout=10)  # the VNC side closes after reading: the bridge closes the WebSocket
        await ws.close()
        return 101, greeting


def test_the_access_token_gets_the_vnc_stream_and_bytes_pass_both_ways():
    async def action(base, connections):
        return await _open(base, EDIT), connections

    (status, greeting), connections = asyncio.run(_with_bridge(action))
    assert status == 101
    assert greeting == b"RFB 003.008\n"
    assert connections == [b"RFB 003.008\n"]


@pytest.mark.parametrize("token", [VIEW, "not-a-token-000000000"])
def test_a_read_only_share_link_or_a_wrong_token_cannot_open_the_desktop(token):
    async def action(base, connections):
        async with aiohttp.ClientSession(headers={"Authorization": f"Bearer {token}"}) as session:
            async with session.get(f"{base}/websockify") as plain:  # the error body says what to do
                body = await plain.json()
        return await _open(base, token), body, connections

    (status, _), body, connections = asyncio.run(_with_bridge(action))
    assert status == (403 if token == VIEW else 401)
    assert connections == []  # nothing reached the VNC server
    if token == VIEW:
        assert "access token" in str(body)
