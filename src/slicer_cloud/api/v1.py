"""Wiring of the versioned API: the route table (:mod:`.v1_table`) fills the router and the OpenAPI document.

``python -m slicer_cloud.api.v1 docs/openapi.json`` writes the document that ``GET /api/v1/openapi.json`` serves.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from aiohttp import web

from .. import extensions
from .v1_nodes import NodeHandlers
from .v1_scene import SceneHandlers
from .v1_spec import openapi_document
from .v1_table import ROUTES, SCHEMAS
from .v1_views import ViewHandlers
from .v1_volumes import VolumeHandlers

if TYPE_CHECKING:
    from ..core.session import Session

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def all_routes() -> list:
    """The core table plus the routes of every feature package present (:mod:`slicer_cloud.extensions`)."""
    routes = list(ROUTES)
    for module in extensions.api_modules():
        routes.extend(module.ROUTES)
    return routes


def all_schemas() -> dict[str, Any]:
    schemas = dict(SCHEMAS)
    for module in extensions.api_modules():
        schemas.update(module.SCHEMAS)
    return schemas


def openapi() -> dict[str, Any]:
    """The OpenAPI 3.1 document of ``/api/v1``."""
    return openapi_document(all_routes(), all_schemas())


def openapi_text() -> str:
    """The document as served and as committed in ``docs/openapi.json``."""
    return json.dumps(openapi(), indent=2, ensure_ascii=False) + "\n"


async def serve_openapi(request: web.Request) -> web.Response:
    return web.Response(text=openapi_text(), content_type="application/json")


def handlers(session: Session, app: web.Application | None = None) -> dict[str, Handler]:
    """Every operation of the table, by operationId, bound to ``session``."""
    found: dict[str, Handler] = {"openapi": serve_openapi}
    groups: list[Any] = [NodeHandlers(session), VolumeHandlers(session), ViewHandlers(session), SceneHandlers(session)]
    groups += [module.handlers(session, app) for module in extensions.api_modules()]
    routes = all_routes()
    for group in groups:
        for route in routes:
            method = getattr(group, route.operation, None)
            if method is not None:
                found[route.operation] = method
    missing = [r.operation for r in routes if r.operation not in found]
    if missing:
        raise RuntimeError(f"/api/v1 operations without a handler: {missing}")
    return found


def add_v1_routes(app: web.Application, session: Session) -> None:
    """Register every route of the table on ``app`` (auth and JSON errors come from the app's middlewares)."""
    by_operation = handlers(session, app)
    for route in all_routes():
        app.router.add_route(route.method, route.path, by_operation[route.operation])
    for module in extensions.api_modules():
        if hasattr(module, "add_routes"):
            module.add_routes(app, session)


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if args:
        Path(args[0]).write_text(openapi_text(), encoding="utf-8")
    else:
        sys.stdout.write(openapi_text())
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
