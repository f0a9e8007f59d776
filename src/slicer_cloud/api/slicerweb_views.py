"""``/slicer/slice``, ``/slicer/threeD``, ``/slicer/screenshot``, ``/slicer/threeDGraphics`` and ``/slicer/timeimage``:
rendered stills from the session's offscreen REST views (``core.snapshots``), PNG by default, ``format=jpeg`` too.
Unlike the original, ``size`` is honoured (an N x N image; ``width``/``height`` also accepted)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING

from aiohttp import web

from ..core.layouts import layout_state
from ..core.session_snapshots import session_snapshots
from ..core.snapshots import DEFAULT_SIZE, encode_image, time_image
from ..errors import BadRequest

if TYPE_CHECKING:
    from ..core.session import Session

NO_STORE = {"Cache-Control": "no-store"}
SCREENSHOT_SIZE = (1024, 768)


def _number(query: Mapping[str, str], key: str, kind: type = float):
    text = query.get(key)
    if text is None or not text.strip():
        return None
    try:
        value = kind(text)
    except ValueError:
        raise BadRequest(f"{key} must be a number") from None
    if value != value or abs(value) == float("inf"):
        raise BadRequest(f"{key} must be a finite number")
    return value


def image_size(query: Mapping[str, str], default: tuple[int, int]) -> tuple[int, int]:
    """``size=N`` (N x N), else ``width``/``height``, else ``default``."""
    size = _number(query, "size", int)
    if size is not None:
        return size, size
    return _number(query, "width", int) or default[0], _number(query, "height", int) or default[1]


class ViewRoutes:
    """Handlers of the rendering endpoints of one session."""

    def __init__(self, session: Session) -> None:
        self.session = session
        self.snapshots = session_snapshots(session)

    def _answer(self, request: web.Request, pixels) -> web.Response:
        fmt = request.query.get("format", "png")
        body, media_type = encode_image(pixels, fmt, quality=self.session.settings.jpeg_quality)
        return web.Response(body=body, content_type=media_type, headers=NO_STORE)

    async def slice(self, request: web.Request) -> web.Response:
        q = request.query
        view = q.get("view", "red").strip().lower()
        frame = self.snapshots.slice_frame(
            view if view in ("red", "yellow", "green") else "red",
            orientation=q.get("orientation") or None,
            scroll_to=_number(q, "scrollTo"),
            offset=_number(q, "offset"),
            size=image_size(q, (DEFAULT_SIZE, DEFAULT_SIZE)),
        )
        # an unchanged view serves the frame (and the encoding) it made last time
        body, media_type = frame.encoded(q.get("format", "png"), self.session.settings.jpeg_quality)
        return web.Response(body=body, content_type=media_type, headers=NO_STORE)

    async def threed(self, request: web.Request) -> web.Response:
        q = request.query
        pixels = self.snapshots.threed_image(
            look_from_axis=q.get("lookFromAxis") or None, size=image_size(q, (DEFAULT_SIZE, DEFAULT_SIZE))
        )
        return self._answer(request, pixels)

    async def screenshot(self, request: web.Request) -> web.Response:
        rows = layout_state(self.session).screenshot_rows
        pixels = self.snapshots.screenshot(rows, image_size(request.query, SCREENSHOT_SIZE))
        return self._answer(request, pixels)

    async def threed_graphics(self, request: web.Request) -> web.Response:
        fmt = request.query.get("format", "glTF").strip().lower()
        if fmt != "gltf":
            raise BadRequest(f"format {fmt[:20]!r} not supported; use glTF")
        box = request.query.get("boxVisible", "false").strip().lower() != "false"
        body = self.snapshots.gltf(box_visible=box)
        return web.Response(text=body, content_type="application/json", headers=NO_STORE)

    async def timeimage(self, request: web.Request) -> web.Response:
        body = time_image(request.query.get("color", "330").strip())
        return web.Response(body=body, content_type="image/png", headers=NO_STORE)

    def add_routes(self, app: web.Application) -> None:
        app.router.add_get("/slicer/slice", self.slice)
        app.router.add_get("/slicer/threeD", self.threed)
        app.router.add_get("/slicer/screenshot", self.screenshot)
        app.router.add_get("/slicer/threeDGraphics", self.threed_graphics)
        app.router.add_get("/slicer/timeimage", self.timeimage)
