"""Authentication for HTTP and WebSocket upgrades (aiohttp middleware).

- credentials: ``Authorization: Bearer T``, HTTP Basic with T as password, ``?token=T`` (then a cookie), the cookie;
- ``?token=`` on a page visit sets an HttpOnly SameSite=Strict cookie and redirects to the clean URL;
- cookie-authenticated mutations need ``X-XSRF-Token`` equal to the ``_xsrf`` cookie;
- WebSocket upgrades and cookie-authenticated requests must come from an allowed Origin;
- view-only clients cannot mutate; nothing but ``/healthz`` answers without credentials.
"""

from __future__ import annotations

import base64
import binascii
import hmac
import logging
import secrets
from collections.abc import Awaitable, Callable, Iterable
from urllib.parse import urlencode

from aiohttp import hdrs, web

from ..errors import Forbidden, ReadOnly, Unauthorized
from .tokens import Role, TokenAuth

logger = logging.getLogger(__name__)

SESSION_COOKIE = "slicer_cloud_session"
XSRF_COOKIE = "_xsrf"
XSRF_HEADER = "X-XSRF-Token"
ROLE_KEY = web.RequestKey("slicer_cloud_role", str)
VIA_COOKIE_KEY = web.RequestKey("slicer_cloud_via_cookie", bool)
MUTATING = {"POST", "PUT", "PATCH", "DELETE"}

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def _presented_token(request: web.Request) -> str | None:
    header = request.headers.get(hdrs.AUTHORIZATION, "")
    scheme, _, value = header.partition(" ")
    if scheme.lower() == "bearer" and value:
        return value.strip()
    if scheme.lower() == "basic" and value:
        try:
            decoded = base64.b64decode(value.strip(), validate=True).decode("utf-8")
        except (binascii.Error, UnicodeDecodeError):
            return None
        return decoded.partition(":")[2] or None
    return None


def forwarded_scheme(request: web.Request) -> str:
    """``https`` when a TLS proxy in front says it was reached that way (a browser cannot set this header)."""
    forwarded = request.headers.get("X-Forwarded-Proto", "").split(",")[0].strip().lower()
    return forwarded if forwarded in ("http", "https") else request.scheme


def request_origin(request: web.Request) -> str:
    """The origin this server is reached at, as the browser sees it."""
    return f"{forwarded_scheme(request)}://{request.host}"


class AuthMiddleware:
    """aiohttp middleware enforcing :class:`TokenAuth` on every route except ``public_paths``."""

    def __init__(
        self,
        auth: TokenAuth,
        *,
        public_paths: Iterable[str] = ("/healthz",),
        xsrf_exempt: Iterable[str] = (),
        view_allowed_mutations: Iterable[str] = (),
        allowed_origins: Iterable[str] = (),
    ) -> None:
        self.auth = auth
        self.public_paths = set(public_paths)
        self.xsrf_exempt = set(xsrf_exempt)
        self.view_allowed_mutations = set(view_allowed_mutations)
        self.allowed_origins = {o.rstrip("/") for o in allowed_origins}

    def middleware(self) -> Callable:
        """The aiohttp middleware function to append to ``app.middlewares``."""

        @web.middleware
        async def auth_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
            return await self.handle(request, handler)

        return auth_middleware

    async def handle(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        if request.path in self.public_paths:
            return await handler(request)
        is_ws = request.headers.get(hdrs.UPGRADE, "").lower() == "websocket"
        origin = request.headers.get(hdrs.ORIGIN)
        if origin is not None and not self.origin_allowed(request, origin):
            logger.warning("refused %s %s from foreign origin", request.method, request.path)
            raise Forbidden("this origin may not use the session; open the session's own URL")

        query_token = request.query.get("token")
        role = self.auth.role_for_token(_presented_token(request) or query_token)
        via_cookie = False
        if role is None:
            role = self.auth.role_for_session(request.cookies.get(SESSION_COOKIE))
            via_cookie = role is not None
        if role is None:
            raise Unauthorized("a valid token is required: open the URL printed at start, or send it as a Bearer token")

        if query_token and request.method == "GET" and not is_ws and self.auth.enabled:
            return self._login_redirect(request, role)
        if via_cookie and is_ws and origin is None:
            raise Forbidden("WebSocket upgrades with a cookie must send an Origin header")
        if request.method in MUTATING:
            self._check_mutation(request, role, via_cookie)

        request[ROLE_KEY] = role
        request[VIA_COOKIE_KEY] = via_cookie
        response = await handler(request)
        if via_cookie or query_token:
            self._ensure_xsrf_cookie(request, response)
        return response

    def origin_allowed(self, request: web.Request, origin: str) -> bool:
        origin = origin.rstrip("/")
        return hmac.compare_digest(origin, request_origin(request)) or origin in self.allowed_origins

    def _check_mutation(self, request: web.Request, role: Role, via_cookie: bool) -> None:
        if role == "view" and request.path not in self.view_allowed_mutations:
            raise ReadOnly("this is a read-only share link: editing is not allowed")
        if via_cookie and request.path not in self.xsrf_exempt:
            sent = request.headers.get(XSRF_HEADER, "")
            expected = request.cookies.get(XSRF_COOKIE, "")
            if not sent or not expected or not hmac.compare_digest(sent, expected):
                raise Forbidden(f"missing or wrong {XSRF_HEADER} header: send the value of the {XSRF_COOKIE} cookie")

    def _login_redirect(self, request: web.Request, role: Role) -> web.StreamResponse:
        query = {k: v for k, v in request.query.items() if k != "token"}
        location = request.path + (f"?{urlencode(query)}" if query else "")
        response = web.Response(status=302, headers={hdrs.LOCATION: location})
        response.set_cookie(
            SESSION_COOKIE,
            self.auth.open_browser_session(role),
            httponly=True,
            samesite="Strict",
            secure=request.secure,
            path="/",
        )
        self._ensure_xsrf_cookie(request, response, force=True)
        return response

    def _ensure_xsrf_cookie(self, request: web.Request, response: web.StreamResponse, force: bool = False) -> None:
        if (force or XSRF_COOKIE not in request.cookies) and not response.prepared:
            response.set_cookie(
                XSRF_COOKIE, secrets.token_urlsafe(24), samesite="Strict", secure=request.secure, path="/"
            )
