"""The one place where errors become HTTP responses (every front end): JSON, a message saying what to do, never a
traceback; and the security headers every answer carries."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable

from aiohttp import web

from ..errors import SlicerCloudError

logger = logging.getLogger(__name__)

SECURITY_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Content-Security-Policy": "frame-ancestors 'self'",
}


def error_response(error: SlicerCloudError) -> web.Response:
    response = web.json_response(error.to_dict(), status=error.status)
    if error.status == 401:
        response.headers["WWW-Authenticate"] = 'Bearer, Basic realm="slicer-cloud"'
    return response


@web.middleware
async def error_middleware(
    request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
) -> web.StreamResponse:
    """Map :class:`SlicerCloudError` to JSON, hide unexpected exceptions, add security headers."""
    try:
        response = await handler(request)
    except SlicerCloudError as exc:
        response = error_response(exc)
    except web.HTTPException as exc:
        if exc.status >= 400:
            response = web.json_response(
                {"error": exc.reason.lower().replace(" ", "_"), "message": exc.reason}, status=exc.status
            )
        else:
            raise
    except Exception:
        logger.exception("unexpected error in %s %s", request.method, request.path)
        response = web.json_response(
            {"error": "internal_error", "message": "internal error; the server log has the details"}, status=500
        )
    if not response.prepared:
        for key, value in SECURITY_HEADERS.items():
            response.headers.setdefault(key, value)
    return response
