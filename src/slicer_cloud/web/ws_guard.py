"""Guards on the viewer's WebSocket (wslink): per-role secrets, view-only clients, no tracebacks to clients.

wslink builds its aiohttp WebSocket handler itself; :func:`guard_wslink_server` turns the handler it built into a
:class:`GuardedWsHandler` (a subclass adding checks), see docs/adr/0002-viewer-websocket-guard.md.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from wslink.backends.aiohttp import AioHttpWsHandler

from ..auth.http import ROLE_KEY
from ..auth.tokens import Role, TokenAuth, weakest

logger = logging.getLogger(__name__)

AUTHENTICATION_ERROR = -32000
READ_ONLY_ERROR = -32003

# What a read-only (share link) client may call: receive state and frames, report its own errors.
VIEW_ALLOWED_METHODS = frozenset(
    {
        "trame.state.get",
        "trame.force.push",
        "trame.lifecycle.update",
        "trame.error.client",
        "trame.rca.drop",
    }
)
SIZE_METHOD = "trame.rca.size"  # a browser reports a view's size: when it joins and when it resizes


class GuardedWsHandler(AioHttpWsHandler):
    """wslink handler that knows each client's role. Attributes are set by :func:`guard_wslink_server`."""

    slicer_cloud_auth: TokenAuth
    slicer_cloud_http_roles: dict[str, Role | None]
    slicer_cloud_roles: dict[str, Role]
    slicer_cloud_resend_frames: Callable[[], None] | None = None

    async def onConnect(self, request: Any, client_id: str) -> None:  # noqa: N802 - wslink API
        self.slicer_cloud_http_roles[client_id] = request.get(ROLE_KEY) if hasattr(request, "get") else None
        await super().onConnect(request, client_id)

    async def onClose(self, client_id: str) -> None:  # noqa: N802 - wslink API
        self.slicer_cloud_http_roles.pop(client_id, None)
        self.slicer_cloud_roles.pop(client_id, None)
        await super().onClose(client_id)

    async def validateToken(self, token: str, client_id: str) -> bool:  # noqa: N802 - wslink API
        role = weakest(self.slicer_cloud_auth.role_for_ws_secret(token), self.slicer_cloud_http_roles.get(client_id))
        if role is None:
            logger.warning("refused a WebSocket client: wrong secret")
            return False
        self.slicer_cloud_roles[client_id] = role
        return True

    def role_of(self, client_id: str) -> Role | None:
        return self.slicer_cloud_roles.get(client_id)

    def has_editor(self) -> bool:
        return any(role == "edit" for role in self.slicer_cloud_roles.values())

    async def onCompleteMessage(self, rpc: Any, client_id: str) -> None:  # noqa: N802 - wslink API
        method = rpc.get("method", "") if isinstance(rpc, dict) else ""
        is_viewer = self.role_of(client_id) == "view"
        if method == SIZE_METHOD and is_viewer and self.has_editor() and "id" in rpc:
            # A viewer must not resize the editors' views: it gets the current frames at the editors' size.
            self._resend_frames()
            await self.sendWrappedMessage(rpc["id"], None, method=method, client_id=client_id)
            return
        if is_viewer and method not in VIEW_ALLOWED_METHODS and method != SIZE_METHOD and "id" in rpc:
            if not method.startswith("wslink."):
                logger.info("refused %s from a read-only client", method)
                await self.sendWrappedError(
                    rpc["id"], READ_ONLY_ERROR, "read-only share link: editing is not allowed", client_id=client_id
                )
                return
        await super().onCompleteMessage(rpc, client_id)
        if method == SIZE_METHOD:
            self._resend_frames()

    def _resend_frames(self) -> None:
        if self.slicer_cloud_resend_frames is not None:
            self.slicer_cloud_resend_frames()

    async def sendWrappedError(self, rpcid, code, message, data=None, client_id=None):  # noqa: N802 - wslink API
        """Same as wslink's, minus exception text and traceback (they stay in the server log)."""
        if isinstance(data, dict):
            data = {"method": data.get("method")} if "method" in data else None
        await super().sendWrappedError(rpcid, code, message, data=data, client_id=client_id)


def guard_wslink_server(
    wslink_server: Any, auth: TokenAuth, resend_frames: Callable[[], None] | None = None
) -> list[GuardedWsHandler]:
    """Turn the WebSocket handlers of a started-to-be wslink aiohttp server into :class:`GuardedWsHandler`.

    :param resend_frames: called when a browser reports its view sizes, to push the current frames to it.
    """
    guarded = []
    for handler in getattr(wslink_server, "_ws_handlers", []):
        handler.__class__ = GuardedWsHandler
        handler.slicer_cloud_auth = auth
        handler.slicer_cloud_http_roles = {}
        handler.slicer_cloud_roles = {}
        handler.slicer_cloud_resend_frames = resend_frames
        guarded.append(handler)
    if not guarded:
        raise RuntimeError("the wslink server exposes no WebSocket handler to guard")
    return guarded
