"""REST front ends of a session: Slicer WebServer compatibility (``/slicer/...``) and the versioned ``/api/v1``."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from aiohttp import web

    from ..core.session import Session


def add_api_routes(app: web.Application, session: Session) -> None:
    """Register the REST routes on the session's aiohttp application (auth is applied by the app's middleware)."""
    from .slicerweb import add_slicerweb_routes
    from .v1 import add_v1_routes

    add_slicerweb_routes(app, session)
    add_v1_routes(app, session)
