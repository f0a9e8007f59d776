"""``sj.Viewer(scene)``: the full web viewer of ``slicer-cloud serve`` on the kernel's own scene, in the cell.

The kernel serves the viewer (trame-slicer + our panels, REST API, token auth) on a loopback port, on its own
asyncio loop, so widgets and viewer share one scene. The cell shows it in an iframe, loaded once the server answers.
When Jupyter runs on another machine, the browser cannot reach that port: ``proxy=True`` goes through
jupyter-server-proxy (``{base_url}proxy/{port}/``), which Jupyter serves behind its own login.
"""

from __future__ import annotations

import logging
import socket
from pathlib import Path
from typing import TYPE_CHECKING, Any

import anywidget
import traitlets

from ..auth.tokens import new_secret
from ..server import WebServer
from ..settings import Settings

if TYPE_CHECKING:
    from .scene import Scene

logger = logging.getLogger(__name__)

STATIC = Path(__file__).parent / "static"
_SERVERS: list[Any] = []  # keep viewer servers alive for the kernel's lifetime


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket() as s:
        s.bind((host, 0))
        return s.getsockname()[1]


class _KernelWebServer(WebServer):
    """``WebServer`` wiring (auth, viewer, REST) around an existing SlicerApp instead of a new one."""

    def __init__(self, settings: Settings, slicer_app: Any, name: str) -> None:  # noqa: D107
        super().__init__(settings, slicer_app=slicer_app, name=name)

    def start_task(self):
        return self.server.start(
            port=self.settings.port,
            host=self.settings.host,
            open_browser=False,
            show_connection_info=False,
            timeout=0,
            exec_mode="task",
        )


class Viewer(anywidget.AnyWidget):
    """The web viewer (slice and 3D views, volume rendering, segment editor, markups, data browser) of ``scene``.

    ``proxy``: serve it through jupyter-server-proxy (Jupyter on a remote machine); ``port``: the loopback port
    (default: a free one). The viewer's URL carries its own random token.
    """

    _esm = STATIC / "viewer.js"
    url = traitlets.Unicode("").tag(sync=True)
    health = traitlets.Unicode("").tag(sync=True)
    height = traitlets.Int(720).tag(sync=True)

    def __init__(
        self, scene: Scene, *, height: int = 720, port: int | None = None, proxy: bool = False, base_url: str = "/"
    ) -> None:
        if getattr(scene, "is_remote", False):
            raise TypeError("a remote session has its own viewer: open its URL in the browser")
        port = port or free_port()
        token = new_secret()
        settings = Settings(
            host="127.0.0.1",
            port=port,
            data=scene.data,
            token=token,
            view_token=new_secret(),
            sample=False,
            autosave_interval=0,
        )
        self.web = _KernelWebServer(settings, scene.app, f"slicer_cloud_notebook_{port}")
        self.task = self.web.start_task()
        _SERVERS.append(self)
        base = f"{base_url.rstrip('/')}/proxy/{port}/" if proxy else f"http://127.0.0.1:{port}/"
        super().__init__(url=f"{base}?token={token}", health=f"{base}healthz", height=height)
        self.port = port
        self.token = token
