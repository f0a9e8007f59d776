"""HTTP routes of the web front end: health and the viewer's connection endpoint.

The data-root file API (``/api/v1/files``, ``/api/v1/scene``) lives with the versioned API in ``slicer_cloud.api``.
"""

from __future__ import annotations

import logging
import re
from typing import TYPE_CHECKING

from aiohttp import web

from ..auth.http import ROLE_KEY, forwarded_scheme

if TYPE_CHECKING:
    from ..auth.tokens import TokenAuth
    from ..core.session import Session

logger = logging.getLogger(__name__)

SESSION_KEY = web.AppKey("slicer_cloud_session", object)
AUTH_KEY = web.AppKey("slicer_cloud_auth", object)
CONNECT_PATH = "/paraview/"  # where trame's client asks for its WebSocket URL and secret


def _session(request: web.Request) -> Session:
    return request.app[SESSION_KEY]  # type: ignore[return-value]


async def healthz(request: web.Request) -> web.Response:
    return web.json_response(_session(request).health(), headers={"Cache-Control": "no-store"})


async def connect(request: web.Request) -> web.Response:
    """Tell an authenticated trame client where the WebSocket is and which secret its role has."""
    auth: TokenAuth = request.app[AUTH_KEY]  # type: ignore[assignment]
    role = request[ROLE_KEY]
    body = {"sessionURL": "USE_HOST/ws", "secret": auth.ws_secret_for(role), "role": role}
    scheme = "wss" if request.secure or forwarded_scheme(request) == "https" else "ws"
    # A prefix-stripping proxy (jupyter-server-proxy, nginx) names the prefix the browser used.
    prefix = re.sub(r"[^A-Za-z0-9/_.~-]", "", request.headers.get("X-Forwarded-Prefix", "")).rstrip("/")
    body["sessionURL"] = f"{scheme}://{request.host}{prefix}/ws"
    return web.json_response(body, headers={"Cache-Control": "no-store"})


def add_routes(app: web.Application, session: Session, auth: TokenAuth) -> None:
    app[SESSION_KEY] = session
    app[AUTH_KEY] = auth
    app.router.add_get("/healthz", healthz)
    app.router.add_post(CONNECT_PATH, connect)
