"""HTTP routes of a session: health, the viewer's connection endpoint, and the data-root file API.

Handlers are thin: they read the request, call the session / data root, and return JSON.
"""

from __future__ import annotations

import logging
import uuid
from typing import TYPE_CHECKING

from aiohttp import web

from ..auth.http import ROLE_KEY
from ..core.scene_nodes import list_nodes
from ..errors import BadRequest, TooLarge

if TYPE_CHECKING:
    from ..auth.tokens import TokenAuth
    from ..core.session import Session

logger = logging.getLogger(__name__)

SESSION_KEY = web.AppKey("slicer_cloud_session", object)
AUTH_KEY = web.AppKey("slicer_cloud_auth", object)
CONNECT_PATH = "/paraview/"  # where trame's client asks for its WebSocket URL and secret
CHUNK = 1 << 20


def _session(request: web.Request) -> Session:
    return request.app[SESSION_KEY]  # type: ignore[return-value]


async def healthz(request: web.Request) -> web.Response:
    return web.json_response(_session(request).health(), headers={"Cache-Control": "no-store"})


async def connect(request: web.Request) -> web.Response:
    """Tell an authenticated trame client where the WebSocket is and which secret its role has."""
    auth: TokenAuth = request.app[AUTH_KEY]  # type: ignore[assignment]
    role = request[ROLE_KEY]
    body = {"sessionURL": "USE_HOST/ws", "secret": auth.ws_secret_for(role), "role": role}
    scheme = "wss" if request.secure else "ws"
    body["sessionURL"] = f"{scheme}://{request.host}/ws"
    return web.json_response(body, headers={"Cache-Control": "no-store"})


async def list_files(request: web.Request) -> web.Response:
    root = _session(request).data_root
    rel = request.query.get("path", "")
    root.resolve(rel, must_exist=True)
    return web.json_response({"path": rel, "entries": root.listdir(rel)})


async def download_file(request: web.Request) -> web.StreamResponse:
    root = _session(request).data_root
    target = root.resolve(request.query.get("path", ""), must_exist=True)
    if not target.is_file():
        raise BadRequest("only files can be downloaded; list folders with GET /api/v1/files")
    return web.FileResponse(
        target, headers={"Content-Disposition": f'attachment; filename="{target.name}"', "Cache-Control": "no-store"}
    )


async def upload_file(request: web.Request) -> web.Response:
    """Stream the request body into ``?path=`` inside the data root (``&overwrite=1`` to replace)."""
    session = _session(request)
    rel = request.query.get("path", "")
    overwrite = request.query.get("overwrite", "") in {"1", "true", "yes"}
    limit = session.limits.max_upload_bytes
    if request.content_length is not None and request.content_length > limit:
        raise TooLarge(f"the upload is larger than max_upload_bytes ({limit} bytes)")
    dest = session.data_root.new_file_path(rel, overwrite=overwrite)
    partial = dest.with_name(f".{dest.name}.{uuid.uuid4().hex}.part")
    written = 0
    try:
        with partial.open("wb") as out:
            while chunk := await request.content.read(CHUNK):
                written += len(chunk)
                if written > limit:
                    raise TooLarge(f"the upload is larger than max_upload_bytes ({limit} bytes)")
                out.write(chunk)
        partial.replace(dest)
    finally:
        partial.unlink(missing_ok=True)
    logger.info("uploaded %s (%d bytes)", session.data_root.relative(dest), written)
    return web.json_response({"path": session.data_root.relative(dest), "size": written}, status=201)


async def _json_body(request: web.Request) -> dict:
    try:
        body = await request.json()
    except ValueError:
        raise BadRequest('the body must be JSON, e.g. {"path": "brain.nii.gz"}') from None
    if not isinstance(body, dict) or not isinstance(body.get("path"), str):
        raise BadRequest('the body must be a JSON object with a "path" string')
    return body


async def open_file(request: web.Request) -> web.Response:
    session = _session(request)
    body = await _json_body(request)
    path = session.data_root.resolve(body["path"], must_exist=True)
    result = session.load(path)
    return web.json_response({"kind": result.kind, "nodes": result.node_ids, "volumes": result.volume_ids})


async def save(request: web.Request) -> web.Response:
    """Save the scene (``{"path": "x.mrb"}``) or one node (``{"path": "x.nrrd", "node": "vtkMRML..."}``)."""
    session = _session(request)
    body = await _json_body(request)
    dest = session.data_root.new_file_path(body["path"], overwrite=bool(body.get("overwrite")))
    node = body.get("node")
    if node is None:
        session.loader.save_scene(dest)
    elif isinstance(node, str):
        session.loader.save_node(node, dest)
    else:
        raise BadRequest('"node" must be a node ID string such as vtkMRMLScalarVolumeNode1')
    return web.json_response({"path": session.data_root.relative(dest)}, status=201)


async def nodes(request: web.Request) -> web.Response:
    return web.json_response({"nodes": list_nodes(_session(request).scene)})


def add_routes(app: web.Application, session: Session, auth: TokenAuth) -> None:
    app[SESSION_KEY] = session
    app[AUTH_KEY] = auth
    app.router.add_get("/healthz", healthz)
    app.router.add_post(CONNECT_PATH, connect)
    app.router.add_get("/api/v1/files", list_files)
    app.router.add_get("/api/v1/files/download", download_file)
    app.router.add_put("/api/v1/files/upload", upload_file)
    app.router.add_post("/api/v1/files/upload", upload_file)
    app.router.add_post("/api/v1/scene/open", open_file)
    app.router.add_post("/api/v1/scene/save", save)
    app.router.add_get("/api/v1/scene/nodes", nodes)
