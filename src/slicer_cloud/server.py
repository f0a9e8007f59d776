"""Wiring root of ``slicer-cloud serve``: settings -> session -> auth -> front ends (web viewer, REST) -> one port.

The only module that imports several front ends; they never import each other.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from trame.app import get_server

from .api import add_api_routes
from .auth.http import AuthMiddleware
from .auth.responses import error_middleware
from .auth.tokens import TokenAuth, new_secret
from .core.session import Session
from .settings import Settings
from .web.routes import CONNECT_PATH, add_routes
from .web.ws_guard import guard_wslink_server

logger = logging.getLogger(__name__)

SETTLE_S = 3.0  # seconds after start-up during which view/panel set-up is not counted as a scene change


@dataclass
class ServeUrls:
    url: str
    share_url: str


def make_auth(settings: Settings) -> TokenAuth:
    return TokenAuth(
        token=settings.token or new_secret(),
        view_token=settings.view_token or new_secret(),
        enabled=not settings.no_auth,
    )


def urls_for(settings: Settings, auth: TokenAuth, port: int) -> ServeUrls:
    host = settings.host if ":" not in settings.host else f"[{settings.host}]"
    base = f"http://{host}:{port}/"
    if not auth.enabled:
        return ServeUrls(base, base)
    return ServeUrls(f"{base}?token={auth.token}", f"{base}?token={auth.view_token}")


class WebServer:
    """One session served on one port: viewer, HTTP API and health, behind one auth layer."""

    def __init__(
        self,
        settings: Settings,
        on_ready: Callable[[ServeUrls], None] | None = None,
        *,
        slicer_app: Any = None,
        name: str = "slicer_cloud",
    ) -> None:
        """``slicer_app``: serve an existing SlicerApp's scene (e.g. a notebook kernel's) instead of a new one;
        ``name``: the trame server's name, distinct per server in one process."""
        from .web.viewer import ViewerApp

        if slicer_app is None:
            from trame_slicer.core import SlicerApp

            slicer_app = SlicerApp()
        self.settings = settings
        self.auth = make_auth(settings)
        self._on_ready = on_ready
        self._autosave_task: asyncio.Task | None = None
        self.server = get_server(name, client_type="vue3")
        self._pin_trame_arguments()
        self.session = Session(settings, slicer_app)
        self.viewer = ViewerApp(self.server, self.session)
        self.server.controller.on_server_bind.add(self._bind_http)
        self.server.controller.on_server_ready.add(self._ready)

    def _pin_trame_arguments(self) -> None:
        """trame parses sys.argv by default; ours are parsed already, so hand it a fixed list."""
        parser = self.server.cli
        original = parser.parse_known_args
        # --no-ws-compress: frames are JPEG, deflating them again costs CPU for nothing.
        fixed = ["--server", f"--authKey={new_secret()}", "--timeout", "0", "--no-ws-compress"]
        parser.parse_known_args = lambda args=None, namespace=None: original(  # type: ignore[method-assign]
            fixed if args is None else args, namespace
        )

    def _bind_http(self, wslink_server: Any) -> None:
        app = wslink_server.app
        app.middlewares.append(error_middleware)
        app.middlewares.append(
            AuthMiddleware(
                self.auth,
                xsrf_exempt=[CONNECT_PATH],
                view_allowed_mutations=[CONNECT_PATH],
                allowed_origins=self.settings.allowed_origins,
            ).middleware()
        )
        add_routes(app, self.session, self.auth)
        add_api_routes(app, self.session)
        resend = self.server.controller.slicer_cloud_resend_frames
        guard_wslink_server(wslink_server, self.auth, resend_frames=resend if resend.exists() else None)

    def _ready(self, **_: Any) -> None:
        loop = asyncio.get_event_loop()
        # The first renders and the viewer's panels adjust display nodes and add helper nodes (e.g. the cropping ROI):
        # not user changes. Re-baseline the autosave once they settled, unless something was loaded meanwhile.
        loads = self.session.load_count
        loop.call_later(SETTLE_S, self._settle_autosave_baseline, loads)
        if self._on_ready is not None:
            self._on_ready(urls_for(self.settings, self.auth, self.server.port))

    def _settle_autosave_baseline(self, loads_at_ready: int) -> None:
        if self.session.load_count == loads_at_ready:
            self.session.autosaver.mark_saved()
        if self.settings.autosave_interval > 0:
            self._autosave_task = asyncio.get_event_loop().create_task(self._autosave_loop())

    async def _autosave_loop(self) -> None:
        while True:
            await asyncio.sleep(self.settings.autosave_interval)
            self.autosave()

    def autosave(self) -> None:
        try:
            self.session.autosaver.save_if_changed()
        except Exception:  # an autosave failure must not stop the session
            logger.exception("autosave failed")

    def load_startup(self) -> None:
        self.session.load_startup(self.settings.files)

    def run(self) -> None:
        """Serve until SIGINT/SIGTERM, then autosave a changed scene and return."""
        self.server.start(
            port=self.settings.port,
            host=self.settings.host,
            open_browser=False,
            show_connection_info=False,
            timeout=0,
        )
        logger.info("shutting down")
        if self._autosave_task is not None:
            self._autosave_task.cancel()
        self.autosave()
