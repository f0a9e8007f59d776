"""``/api/v1/nodes`` and ``/api/v1/markups``: thin handlers over ``core.node_info`` and ``core.markups``."""

from __future__ import annotations

from typing import TYPE_CHECKING

from aiohttp import web

from ..core import markups, node_info, scene_query
from ..errors import BadRequest
from .v1_request import json_object

if TYPE_CHECKING:
    from ..core.session import Session


class NodeHandlers:
    """Nodes of the session scene, and point lists."""

    def __init__(self, session: Session) -> None:
        self.session = session

    @property
    def scene(self):
        return self.session.scene

    async def list_nodes(self, request: web.Request) -> web.Response:
        nodes = node_info.find_nodes(self.scene, request.query)
        return web.json_response({"nodes": [node_info.describe(n) for n in nodes]})

    async def get_node(self, request: web.Request) -> web.Response:
        return web.json_response(node_info.describe(node_info.get_node(self.scene, request.match_info["node_id"])))

    async def delete_node(self, request: web.Request) -> web.Response:
        return web.json_response({"removed": node_info.delete_data_node(self.scene, request.match_info["node_id"])})

    async def node_properties(self, request: web.Request) -> web.Response:
        node = node_info.get_node(self.scene, request.match_info["node_id"])
        return web.json_response(
            {"id": node.GetID(), "class": node.GetClassName(), "properties": scene_query.node_properties(node)}
        )

    # -- markups ---------------------------------------------------------------------------------------------

    async def list_markups(self, request: web.Request) -> web.Response:
        return web.json_response({"markups": markups.list_point_lists(self.scene)})

    async def create_point_list(self, request: web.Request) -> web.Response:
        body = await json_object(request)
        name, points = body.get("name", "F"), body.get("points", [])
        if not isinstance(name, str) or not isinstance(points, list):
            raise BadRequest('send {"name": "F", "points": [[R, A, S], ...]}')
        return web.json_response(markups.create_point_list(self.scene, name, points), status=201)

    async def add_point(self, request: web.Request) -> web.Response:
        body = await json_object(request)
        label = body.get("label", "")
        if not isinstance(label, str):
            raise BadRequest("label must be a string")
        result = markups.add_point(self.scene, request.match_info["node_id"], body.get("position"), label)
        return web.json_response(result, status=201)
