"""jupyter-server-proxy launchers: "Slicer Web" and "Slicer Desktop" inside any Jupyter server.

With slicer-cloud installed, a Jupyter server (JupyterLab, Notebook 7, a JupyterHub single-user server) finds these
through the ``jupyter_serverproxy_servers`` entry points. The first visit to ``BASE/slicer/`` starts
``slicer-cloud serve`` (``BASE/slicer-desktop/`` starts ``slicer-cloud desktop``) as the user's own process.

Who may use the session: the process binds to loopback on a port jupyter-server-proxy picks, and requires a token
that is made up here, once per Jupyter server, handed to the child in its environment (``SLICER_CLOUD_TOKEN``) and
added by the proxy to every request it forwards (``Authorization: Bearer``). So only requests that passed Jupyter's
own login reach the session; another local user connecting to the port directly gets 401. (A unix socket would hide
the port too, but the viewer's WebSocket server, wslink, listens on TCP only.)

The proxy strips ``BASE/slicer`` from the path. The viewer's page and scripts use relative URLs, so they work under
the prefix; the two absolute URLs the processes hand out (the viewer's WebSocket address, noVNC's WebSocket path)
are rewritten on the way back by :func:`rewrite_viewer_connect` and :func:`rewrite_desktop_redirect`.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from ..auth.tokens import new_secret

ICONS = Path(__file__).parent / "icons"
CONNECT_PATH = "/paraview/"  # where the viewer asks for its WebSocket address (slicer_cloud.web.routes)
DESKTOP_WS_PATH = "websockify"  # noVNC's WebSocket path (slicer_cloud.desktop.bridge)
START_TIMEOUT_S = 180.0  # slicer-core start-up, first on a cold page cache, can take a while
DATA_ENV = "SLICER_CLOUD_DATA"


def _default_data() -> str:
    """The data root of a proxied session: ``$SLICER_CLOUD_DATA`` or ``~/slicer-cloud-data`` (created)."""
    data = Path(os.environ.get(DATA_ENV) or Path.home() / "slicer-cloud-data").expanduser()
    data.mkdir(parents=True, exist_ok=True)
    return str(data)


def _proxy_prefix(request: Any, path: str) -> str:
    """The public path prefix of the proxied process, e.g. ``/user/alice/slicer``, from the original request."""
    full = request.path
    return full[: -len(path)] if path and full.endswith(path) else full.rstrip("/")


def _public_ws_origin(request: Any) -> str:
    """``ws://host`` or ``wss://host`` as the browser reached the Jupyter server (TLS may end at a proxy before)."""
    forwarded = request.headers.get("X-Forwarded-Proto", "").split(",")[0].strip().lower()
    scheme = forwarded or request.protocol
    return f"{'wss' if scheme == 'https' else 'ws'}://{request.host}"


def rewrite_viewer_connect(response: Any, request: Any, path: str) -> None:
    """Point the viewer's WebSocket address at the proxied path (the session hands out ``ws://HOST/ws``)."""
    if path != CONNECT_PATH or response.code != 200 or not response.body:
        return
    try:
        body = json.loads(response.body)
    except ValueError:
        return
    if not isinstance(body, dict) or "sessionURL" not in body:
        return
    body["sessionURL"] = f"{_public_ws_origin(request)}{_proxy_prefix(request, path)}/ws"
    response.body = json.dumps(body).encode()


def rewrite_desktop_redirect(response: Any, request: Any, path: str) -> None:
    """Give noVNC the proxied WebSocket path (the desktop's ``/`` redirects to ``vnc.html?path=websockify``)."""
    location = response.headers.get("Location")
    if response.code not in (301, 302, 303, 307, 308) or not location:
        return
    parts = urlsplit(location)
    query = dict(parse_qsl(parts.query))
    if query.get("path") != DESKTOP_WS_PATH:
        return
    query["path"] = f"{_proxy_prefix(request, path).lstrip('/')}/{DESKTOP_WS_PATH}"
    response.headers["Location"] = urlunsplit(parts._replace(query=urlencode(query)))


def _process(mode: str, title: str, icon: str, rewrite: Any) -> dict[str, Any]:
    """A jupyter-server-proxy server description running ``slicer-cloud MODE`` behind a fresh token."""
    token = new_secret()  # URL-safe base64: '{' and '}' never occur, safe in jupyter-server-proxy's templates
    return {
        "command": [sys.executable, "-m", "slicer_cloud", mode, "--host", "127.0.0.1", "--port", "{port}"],
        "environment": lambda: {"SLICER_CLOUD_TOKEN": token, "SLICER_CLOUD_NO_AUTH": "0", DATA_ENV: _default_data()},
        "request_headers_override": {"Authorization": f"Bearer {token}"},
        "rewrite_response": rewrite,
        "timeout": START_TIMEOUT_S,
        "absolute_url": False,
        "new_browser_tab": True,
        "launcher_entry": {
            "enabled": True,
            "title": title,
            "icon_path": str(ICONS / icon),
            "category": "Slicer",
        },
    }


def setup_slicer() -> dict[str, Any]:
    """Entry point ``slicer``: "Slicer Web", a ``slicer-cloud serve`` session at ``BASE/slicer/``."""
    return _process("serve", "Slicer Web", "slicer-web.svg", rewrite_viewer_connect)


def setup_slicer_desktop() -> dict[str, Any]:
    """Entry point ``slicer-desktop``: "Slicer Desktop", ``slicer-cloud desktop`` at ``BASE/slicer-desktop/``."""
    return _process("desktop", "Slicer Desktop", "slicer-desktop.svg", rewrite_desktop_redirect)
