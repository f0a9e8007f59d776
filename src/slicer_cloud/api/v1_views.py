"""``/api/v1/views``: rendered stills at a requested size and format, layout, 3D camera and slice position."""

from __future__ import annotations

from typing import TYPE_CHECKING

from aiohttp import web

from ..core import view_controls
from ..core.image_encoding import encode_still
from ..core.layouts import layout_state, slicer_layout_names
from ..core.session_snapshots import session_snapshots
from ..core.snapshots import DEFAULT_SIZE, SLICE_VIEWS
from ..errors import BadRequest, NotFound
from .v1_request import json_object, query_choice, query_number

if TYPE_CHECKING:
    from ..core.session import Session

NO_STORE = {"Cache-Control": "no-store"}


def requested_size(query) -> tuple[int, int]:
    """``size=N`` (N x N), else ``width``/``height`` (default 512 each)."""
    size = query_number(query, "size", int)
    if size is not None:
        return size, size
    width, height = query_number(query, "width", int), query_number(query, "height", int)
    return width or DEFAULT_SIZE, height or DEFAULT_SIZE


class ViewHandlers:
    """Rendering and view steering for one session."""

    def __init__(self, session: Session) -> None:
        self.session = session

    @property
    def scene(self):
        return self.session.scene

    async def render_view(self, request: web.Request) -> web.Response:
        q = request.query
        view = request.match_info["view"].strip().lower()
        fmt = query_choice(q, "format", ("png", "jpeg", "jpg", "webp"), "png")
        size = requested_size(q)
        snapshots = session_snapshots(self.session)
        quality = self.session.settings.jpeg_quality
        if view == "3d":
            pixels = snapshots.threed_image(look_from_axis=q.get("lookFromAxis") or None, size=size)
            body, media_type = encode_still(pixels, fmt, quality=quality)
        elif view in SLICE_VIEWS:
            frame = snapshots.slice_frame(
                view, orientation=q.get("orientation") or None, offset=query_number(q, "offset"), size=size
            )
            # an unchanged view serves the frame (and the encoding) it made last time
            body, media_type = frame.encoded(fmt, quality, encode_still)
        else:
            raise NotFound("view must be red, yellow, green or 3d")
        return web.Response(body=body, content_type=media_type, headers=NO_STORE)

    async def get_layout(self, request: web.Request) -> web.Response:
        name = layout_state(self.session).name
        return web.json_response({"layout": slicer_layout_names().get(name, name)})

    async def set_layout(self, request: web.Request) -> web.Response:
        layout = (await json_object(request)).get("layout")
        if not isinstance(layout, str):
            raise BadRequest('send {"layout": "FourUp"} (a Slicer layout name)')
        return web.json_response({"layout": layout_state(self.session).request(layout)})

    async def get_camera(self, request: web.Request) -> web.Response:
        return web.json_response(view_controls.get_camera(self.scene))

    async def set_camera(self, request: web.Request) -> web.Response:
        return web.json_response(view_controls.set_camera(self.scene, await json_object(request)))

    async def get_slice(self, request: web.Request) -> web.Response:
        return web.json_response(view_controls.get_slice(self.scene, self._slice_view(request)))

    async def set_slice(self, request: web.Request) -> web.Response:
        view = self._slice_view(request)
        return web.json_response(view_controls.set_slice(self.scene, view, await json_object(request)))

    @staticmethod
    def _slice_view(request: web.Request) -> str:
        view = request.match_info["view"].strip().lower()
        if view not in SLICE_VIEWS:
            raise NotFound("slice views are red, yellow and green")
        return view
