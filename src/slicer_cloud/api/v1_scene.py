"""``/api/v1/scene`` and ``/api/v1/files``: load, save and clear the scene; list, upload and download files of
the data root. Every path is resolved inside the data root (``core.paths.DataRoot``)."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from aiohttp import web

from ..core.scene_nodes import list_nodes
from ..core.scene_query import clear_data
from ..errors import BadRequest
from .v1_request import json_object, query_bool, query_text, stream_to_file

if TYPE_CHECKING:
    from ..core.session import Session

logger = logging.getLogger(__name__)


async def path_body(request: web.Request) -> dict:
    body = await json_object(request)
    if not isinstance(body.get("path"), str):
        raise BadRequest('the body must be a JSON object with a "path" string, e.g. {"path": "brain.nii.gz"}')
    return body


class SceneHandlers:
    """The scene as a whole and the files of the data root."""

    def __init__(self, session: Session) -> None:
        self.session = session

    async def scene_nodes(self, request: web.Request) -> web.Response:
        return web.json_response({"nodes": list_nodes(self.session.scene)})

    async def open_file(self, request: web.Request) -> web.Response:
        body = await path_body(request)
        result = self.session.load(self.session.data_root.resolve(body["path"], must_exist=True))
        return web.json_response({"kind": result.kind, "nodes": result.node_ids, "volumes": result.volume_ids})

    async def save(self, request: web.Request) -> web.Response:
        """Save the scene (``{"path": "x.mrb"}``) or one node (``{"path": "x.nrrd", "node": "vtkMRML..."}``)."""
        body = await path_body(request)
        node = body.get("node")
        if node is not None and not isinstance(node, str):
            raise BadRequest('"node" must be a node ID string such as vtkMRMLScalarVolumeNode1')
        root = self.session.data_root
        dest = root.new_file_path(body["path"], overwrite=bool(body.get("overwrite")))
        if node is None:
            self.session.loader.save_scene(dest)
        else:
            self.session.loader.save_node(node, dest)
        return web.json_response({"path": root.relative(dest)}, status=201)

    async def clear_scene(self, request: web.Request) -> web.Response:
        return web.json_response({"removed": clear_data(self.session.scene)})

    # -- files -------------------------------------------------------------------------------------------------

    async def list_files(self, request: web.Request) -> web.Response:
        rel = query_text(request.query, "path")
        return web.json_response({"path": rel, "entries": self.session.data_root.listdir(rel)})

    async def download_file(self, request: web.Request) -> web.StreamResponse:
        target = self.session.data_root.resolve(query_text(request.query, "path"), must_exist=True)
        if not target.is_file():
            raise BadRequest("only files can be downloaded; list folders with GET /api/v1/files")
        headers = {"Content-Disposition": f'attachment; filename="{target.name}"', "Cache-Control": "no-store"}
        return web.FileResponse(target, headers=headers)

    async def upload_file(self, request: web.Request) -> web.Response:
        """Stream the body into ``?path=`` inside the data root (``&overwrite=1`` to replace)."""
        root = self.session.data_root
        overwrite = query_bool(request.query, "overwrite", False)
        dest = root.new_file_path(query_text(request.query, "path"), overwrite=overwrite)
        written = await stream_to_file(request, dest, self.session.limits.max_upload_bytes)
        logger.info("uploaded %s (%d bytes)", root.relative(dest), written)
        return web.json_response({"path": root.relative(dest), "size": written}, status=201)

    upload_file_put = upload_file
    upload_file_post = upload_file
