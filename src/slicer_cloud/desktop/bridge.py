"""The desktop's one public port: noVNC's static files and a WebSocket <-> VNC bridge, behind the token auth.

The bridge replaces websockify: a few lines of aiohttp that copy bytes between the browser's WebSocket and
x11vnc's private unix socket, so the same :class:`~slicer_cloud.auth.http.AuthMiddleware` as ``serve`` guards
every path (see docs/adr/0004-desktop-vnc-behind-the-bridge.md).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, Iterable
from pathlib import Path
from typing import Literal

from aiohttp import WSMsgType, web

from ..auth.http import ROLE_KEY, AuthMiddleware
from ..auth.responses import error_middleware
from ..auth.tokens import TokenAuth
from ..errors import ReadOnly

logger = logging.getLogger(__name__)

NOVNC_DIR = Path("/usr/share/novnc")
WS_PATH = "/websockify"
# noVNC page options: connect at once, fit the desktop to the window, reconnect after a drop by itself.
# resize=remote: noVNC asks the server to resize its screen to the window (SetDesktopSize; Xtigervnc honours it);
# resize=scale: noVNC scales a fixed-size screen (x11vnc on Xvfb cannot resize).
NOVNC_PAGE = "/vnc.html?autoconnect=1&resize={resize}&reconnect=1&reconnect_delay=1000&path=websockify"
Resize = Literal["remote", "scale"]
CHUNK = 64 * 1024
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


async def _browser_to_vnc(ws: web.WebSocketResponse, writer: asyncio.StreamWriter) -> None:
    async for message in ws:
        if message.type == WSMsgType.BINARY:
            writer.write(message.data)
            await writer.drain()
        elif message.type == WSMsgType.TEXT:  # old clients that base64 over text are not supported
            break
    with contextlib.suppress(OSError):
        writer.close()


async def _vnc_to_browser(reader: asyncio.StreamReader, ws: web.WebSocketResponse) -> None:
    while chunk := await reader.read(CHUNK):
        await ws.send_bytes(chunk)
    await ws.close()


def make_ws_handler(vnc_socket: Path) -> Handler:
    async def websockify(request: web.Request) -> web.StreamResponse:
        # VNC has no read-only mode worth the name here: whoever holds the stream can type and click.
        if request.get(ROLE_KEY) != "edit":
            raise ReadOnly("the desktop needs the access token: a read-only share link cannot open it")
        ws = web.WebSocketResponse(protocols=("binary",), max_msg_size=0, compress=False, heartbeat=30)
        try:
            reader, writer = await asyncio.open_unix_connection(str(vnc_socket))
        except OSError:
            # The VNC server is restarting: the browser (noVNC reconnect=1) tries again.
            raise web.HTTPServiceUnavailable(reason="the desktop is restarting; retry in a moment") from None
        await ws.prepare(request)
        tasks = [
            asyncio.ensure_future(_browser_to_vnc(ws, writer)),
            asyncio.ensure_future(_vnc_to_browser(reader, ws)),
        ]
        try:
            await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for task in tasks:
                task.cancel()
            with contextlib.suppress(OSError):
                writer.close()
            await ws.close()
        return ws

    return websockify


def _make_index(resize: Resize) -> Handler:
    async def index(_request: web.Request) -> web.StreamResponse:
        raise web.HTTPFound(NOVNC_PAGE.format(resize=resize))

    return index


async def _healthz(_request: web.Request) -> web.StreamResponse:
    return web.json_response({"status": "ok"})


def make_app(
    auth: TokenAuth,
    vnc_socket: Path,
    novnc_dir: Path = NOVNC_DIR,
    allowed_origins: Iterable[str] = (),
    resize: Resize = "scale",
) -> web.Application:
    """The public aiohttp application: ``/`` (-> noVNC page), noVNC files, ``/websockify``, ``/healthz``.

    :param resize: noVNC's ``resize`` mode: ``remote`` when the VNC server can resize its screen, else ``scale``.
    """
    guard = AuthMiddleware(auth, allowed_origins=allowed_origins)
    app = web.Application(middlewares=[error_middleware, guard.middleware()])
    app.router.add_get("/", _make_index(resize))
    app.router.add_get("/healthz", _healthz)
    app.router.add_get(WS_PATH, make_ws_handler(vnc_socket))
    # follow_symlinks: Debian links vnc_auto.html -> vnc.html inside this root-owned folder.
    app.router.add_static("/", novnc_dir, follow_symlinks=True, show_index=False)
    return app
