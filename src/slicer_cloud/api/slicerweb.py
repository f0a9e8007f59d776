"""``/slicer/...``: Slicer's WebServer module API (SlicerRequestHandler) on the live session scene.

Same paths, methods, parameters and response formats as the original, so ``slicerio.server`` and curl scripts work
unchanged except for credentials. Handlers are thin: parse the query, call a ``core`` function, answer. What
differs from the original, and why, is listed in ``docs/api-compatibility.md``.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import shutil
import signal
from collections.abc import Mapping
from typing import TYPE_CHECKING

from aiohttp import web

from ..auth.http import ROLE_KEY
from ..core import scene_files, scene_query
from ..core.exec_runner import ExecRunner
from ..core.layouts import layout_state
from ..core.nrrd_codec import array_to_volume, decode_nrrd, encode_nrrd, stream_parts, volume_to_array
from ..core.segment_export import MEDIA_TYPES, export_labelmap, export_surface, parse_format
from ..core.system_info import system_version
from ..core.transforms_query import grid_transform_nrrd, set_tracking
from ..core.volume_files import check_geometry
from ..errors import BadRequest, NotFound, ReadOnly, SlicerCloudError
from .body import read_nrrd_body
from .slicerweb_views import ViewRoutes

if TYPE_CHECKING:
    from ..core.session import Session

logger = logging.getLogger(__name__)

STOP_DELAY_S = 0.5
JSON_SUCCESS = {"success": True}


class NotSupported(SlicerCloudError):
    """An endpoint of the original that this server refuses on purpose (the message says why and what instead)."""

    status = 501
    code = "not_supported"


STREAM_CHUNK = 1 << 20


async def stream_nrrd(request: web.Request, volume, headers: Mapping[str, str] | None = None) -> web.StreamResponse:
    """Send a raw NRRD: the header, then the voxels straight from their array in 1 MiB pieces (no copies of the
    volume; the response holds a reference to the array, so a volume replaced meanwhile still downloads whole)."""
    header, payload = stream_parts(volume)
    response = web.StreamResponse(headers={"Content-Type": "application/octet-stream", **(headers or {})})
    response.content_length = len(header) + payload.nbytes
    await response.prepare(request)
    await response.write(header)
    for start in range(0, payload.nbytes, STREAM_CHUNK):
        await response.write(payload[start : start + STREAM_CHUNK])
    await response.write_eof()
    return response


def require_edit(request: web.Request) -> None:
    """Refuse a read-only (share link) client on a GET that changes the session."""
    if request.get(ROLE_KEY) == "view":
        raise ReadOnly("this is a read-only share link: this request changes the session")


def query_float(query: Mapping[str, str], key: str) -> float | None:
    text = query.get(key)
    if text is None or not text.strip():
        return None
    try:
        value = float(text)
    except ValueError:
        raise BadRequest(f"{key} must be a number") from None
    if value != value or value in (float("inf"), float("-inf")):
        raise BadRequest(f"{key} must be a finite number")
    return value


def query_int(query: Mapping[str, str], key: str, default: int | None = None) -> int | None:
    text = query.get(key)
    if text is None or not text.strip():
        return default
    try:
        return int(text)
    except ValueError:
        raise BadRequest(f"{key} must be an integer") from None


class SlicerWebApi:
    """Handlers of the scene, data and system endpoints; one instance per session."""

    def __init__(self, session: Session) -> None:
        self.session = session
        self.exec_runner = ExecRunner(session)

    @property
    def scene(self):
        return self.session.scene

    # -- system ----------------------------------------------------------------------------------------------

    async def version(self, request: web.Request) -> web.Response:
        return web.json_response(system_version())

    async def stop(self, request: web.Request) -> web.Response:
        """Reply, then stop like SIGTERM does (the serve loop autosaves a changed scene first)."""
        logger.warning("stop requested over REST by %s", request.remote)
        asyncio.get_running_loop().call_later(STOP_DELAY_S, os.kill, os.getpid(), signal.SIGTERM)
        return web.json_response(JSON_SUCCESS)

    # -- mrml ----------------------------------------------------------------------------------------------------

    async def mrml_names(self, request: web.Request) -> web.Response:
        return web.json_response([n.GetName() for n in scene_query.filter_nodes(self.scene, request.query)])

    async def mrml_ids(self, request: web.Request) -> web.Response:
        return web.json_response([n.GetID() for n in scene_query.filter_nodes(self.scene, request.query)])

    async def mrml_properties(self, request: web.Request) -> web.Response:
        nodes = scene_query.require_nodes(self.scene, request.query)
        return web.json_response({n.GetID(): scene_query.node_properties(n) for n in nodes})

    async def mrml_file(self, request: web.Request) -> web.Response:
        """Save one node into the data root (``localfile`` or a ``file:`` ``url``)."""
        require_edit(request)
        nodes = scene_query.require_nodes(self.scene, request.query)
        if len(nodes) > 1:
            raise BadRequest("/mrml/file can only be used for a single node; filter by id")
        dest = scene_files.resolve_destination(self.session.data_root, self._local_name(request.query))
        self.session.loader.save_node(nodes[0].GetID(), dest)
        return web.json_response({"success": True})

    async def mrml_load(self, request: web.Request) -> web.Response:
        """Load ``localfile`` (inside the data root) or an allow-listed ``url``; extra parameters like the
        original's file properties (``name`` renames the first node; ``filetype`` is judged from the name)."""
        query = request.query
        url = query.get("url", "").strip()
        if url and not url.lower().startswith("file:"):
            settings = self.session.settings
            path = await asyncio.to_thread(
                scene_files.download,
                url,
                settings.allowed_url_hosts,
                self.session.work_dir,
                self.session.limits.max_upload_bytes,
            )
            try:
                result = self.session.load(path)
            finally:
                shutil.rmtree(path.parent, ignore_errors=True)
        else:
            result = self.session.load(scene_files.resolve_existing(self.session.data_root, self._local_name(query)))
        loaded = scene_query.data_node_ids(self.scene, result.node_ids)
        if query.get("name") and loaded:
            self.scene.GetNodeByID(loaded[0]).SetName(scene_query.safe_name(query["name"]))
        return web.json_response({"success": True, "loadedNodeIDs": loaded})

    @staticmethod
    def _local_name(query: Mapping[str, str]) -> str:
        url = query.get("url", "").strip()
        if url.lower().startswith("file:"):
            from urllib.parse import urlsplit
            from urllib.request import url2pathname

            return url2pathname(urlsplit(url).path)
        if "localfile" not in query:
            raise BadRequest("Required `url` or `localfile` query parameter is missing in `mrml` request")
        return query["localfile"].strip()

    async def mrml_reload(self, request: web.Request) -> web.Response:
        nodes = scene_query.require_nodes(self.scene, request.query)
        ids = scene_query.reload_nodes(nodes, self.session.data_root, self.session.limits)
        if not ids:
            return web.json_response({"success": False})
        return web.json_response({"success": True, "reloadedNodeIDs": ids})

    async def mrml_delete(self, request: web.Request) -> web.Response:
        if scene_query.has_filter(request.query):
            scene_query.remove_nodes(self.scene, scene_query.require_nodes(self.scene, request.query))
        else:
            scene_query.clear_data(self.scene)
        return web.json_response(JSON_SUCCESS)

    # -- volumes -------------------------------------------------------------------------------------------------

    async def volumes(self, request: web.Request) -> web.Response:
        return web.json_response(scene_query.list_volumes(self.scene))

    async def volume_get(self, request: web.Request) -> web.Response:
        node = scene_query.first_node(self.scene, "vtkMRMLVolumeNode", request.query.get("id", "").strip() or None)
        if not node.IsA("vtkMRMLScalarVolumeNode"):
            raise BadRequest("only scalar and labelmap volumes can be sent as NRRD")
        compress = request.query.get("encoding", "raw").strip().lower() in ("gzip", "gz")
        if not compress:
            return await stream_nrrd(request, volume_to_array(node, copy=False))
        body = encode_nrrd(volume_to_array(node), compress=compress)
        return web.Response(body=body, content_type="application/octet-stream")

    async def volume_post(self, request: web.Request) -> web.Response:
        """Put a NRRD body into the volume ``id`` (a new volume named ``id`` if there is none, as the original)."""
        data = await read_nrrd_body(request, self.session.limits)
        volume = check_geometry(decode_nrrd(data, self.session.limits))
        del data
        volume_id = request.query.get("id", "").strip()
        node = self.scene.GetNodeByID(volume_id) if volume_id else None
        if node is not None and not node.IsA("vtkMRMLScalarVolumeNode"):
            raise BadRequest(f"{volume_id} is not a scalar volume")
        name = scene_query.safe_name(request.query.get("name") or volume_id or "Volume")
        is_new = node is None
        node = array_to_volume(self.scene, volume, node=node, name=name)
        if is_new and not node.IsA("vtkMRMLLabelMapVolumeNode"):
            self.session.show_main_volume([node.GetID()])
        return web.json_response({"status": "success", "id": node.GetID()})

    async def volume_selection(self, request: web.Request) -> web.Response:
        require_edit(request)
        ids = [v["id"] for v in scene_query.list_volumes(self.scene) if v["id"].startswith("vtkMRMLScalar")]
        if not ids:
            raise NotFound("the scene has no volume to select")
        selection = self.session.app.app_logic.GetSelectionNode()
        current = selection.GetActiveVolumeID() if selection else None
        step = -1 if request.query.get("cmd", "next").strip().lower() == "previous" else 1
        index = (ids.index(current) + step) % len(ids) if current in ids else 0
        if selection:
            selection.SetActiveVolumeID(ids[index])
        self.session.show_main_volume([ids[index]])
        return web.Response(text="Volume selected")

    # -- transforms, markups, segmentations ----------------------------------------------------------------------

    async def grid_transforms(self, request: web.Request) -> web.Response:
        return web.json_response(scene_query.names_and_ids(self.scene, ["vtkMRMLGridTransformNode"]))

    async def grid_transform(self, request: web.Request) -> web.Response:
        body = grid_transform_nrrd(self.scene, request.query.get("id", "").strip() or None)
        return web.Response(body=body, content_type="application/octet-stream")

    async def fiducials(self, request: web.Request) -> web.Response:
        return web.json_response(scene_query.fiducials(self.scene))

    async def fiducial(self, request: web.Request) -> web.Response:
        q = request.query
        ras = tuple(query_float(q, key) or 0.0 for key in ("r", "a", "s"))
        scene_query.set_fiducial(self.scene, q.get("id", "").strip() or None, query_int(q, "index", 0), ras)
        return web.json_response(JSON_SUCCESS)

    async def segmentations(self, request: web.Request) -> web.Response:
        return web.json_response(scene_query.segmentations(self.scene))

    async def segmentation(self, request: web.Request) -> web.Response:
        q = request.query
        segmentation_id = q.get("segmentationID", "").strip() or None
        node = scene_query.first_node(self.scene, "vtkMRMLSegmentationNode", segmentation_id)
        fmt = parse_format(q.get("format"))
        segment_id = q.get("segmentID", "").strip() or None
        if fmt == "nrrd":
            logic = self.session.app.segmentations_logic
            body = export_labelmap(self.scene, logic, node, segment_id)
        else:
            body = export_surface(node, segment_id, fmt, self.session.work_dir)
        return web.Response(body=body, content_type=MEDIA_TYPES[fmt])

    async def tracking(self, request: web.Request) -> web.Response:
        require_edit(request)
        q = request.query
        set_tracking(self.scene, q.get("m"), q.get("q"), q.get("p"))
        return web.Response(text="Set matrix")

    # -- gui and exec --------------------------------------------------------------------------------------------

    async def gui(self, request: web.Request) -> web.Response:
        """``contents=viewers|full`` (no desktop window here: accepted) and ``viewersLayout=NAME``."""
        contents = request.query.get("contents", "").strip().lower()
        if contents and contents not in ("viewers", "full"):
            raise BadRequest("contents must be 'viewers' or 'full'")
        layout = request.query.get("viewersLayout")
        if layout is not None:
            layout_state(self.session).request(layout)
        return web.json_response(JSON_SUCCESS)

    async def exec(self, request: web.Request) -> web.Response:
        self.exec_runner.check_enabled()
        require_edit(request)
        code = await request.read()
        if not code:
            source = request.query.get("source")
            if source is None:
                raise BadRequest("send the code as the request body or as ?source=")
            code = source.encode()
        role = request.get(ROLE_KEY, "edit")
        result = self.exec_runner.run(code, client=request.remote or "", role=role)
        return web.Response(body=json.dumps(result).encode(), content_type="application/json")

    async def refused(self, request: web.Request) -> web.Response:
        reasons = {
            "/slicer/sampledata": "it downloads from the internet; put the file in the data folder and use "
            "POST /slicer/mrml?localfile=PATH",
            "/slicer/accessDICOMwebStudy": "it fetches from any DICOMweb server named by the client; configure "
            "servers with --dicomweb NAME=URL and use POST /api/v1/dicom/{source}/studies/{study}/series/{series}/open",
            "/slicer/open": "slicer:// URLs open desktop Slicer modules; load data with POST /slicer/mrml",
        }
        raise NotSupported(f"{request.path} is not supported: {reasons.get(request.path, 'see the docs')}")


@web.middleware
async def slicer_error_middleware(request: web.Request, handler) -> web.StreamResponse:  # noqa: ANN001
    """Errors of ``/slicer/...`` as JSON with a bare ``application/json`` type: slicerio compares the header
    exactly before it shows the message."""
    if not request.path.startswith("/slicer/"):
        return await handler(request)
    try:
        return await handler(request)
    except SlicerCloudError as exc:
        body = json.dumps(exc.to_dict()).encode()
        return web.Response(body=body, status=exc.status, content_type="application/json")


def add_slicerweb_routes(app: web.Application, session: Session) -> None:
    """Register every ``/slicer/...`` endpoint of the original on ``app`` (and its error middleware)."""
    app.middlewares.append(slicer_error_middleware)
    api = SlicerWebApi(session)
    views = ViewRoutes(session)
    r = app.router
    r.add_get("/slicer/system/version", api.version)
    r.add_delete("/slicer/system", api.stop)
    for path in ("/slicer/mrml", "/slicer/mrml/names"):
        r.add_get(path, api.mrml_names)
    r.add_get("/slicer/mrml/ids", api.mrml_ids)
    r.add_get("/slicer/mrml/properties", api.mrml_properties)
    r.add_get("/slicer/mrml/file", api.mrml_file)
    r.add_post("/slicer/mrml", api.mrml_load)
    r.add_put("/slicer/mrml", api.mrml_reload)
    r.add_delete("/slicer/mrml", api.mrml_delete)
    r.add_get("/slicer/volumes", api.volumes)
    r.add_get("/slicer/volume", api.volume_get)
    r.add_post("/slicer/volume", api.volume_post)
    r.add_put("/slicer/volume", api.volume_post)
    r.add_get("/slicer/volumeSelection", api.volume_selection)
    r.add_get("/slicer/gridTransforms", api.grid_transforms)
    r.add_get("/slicer/gridTransform", api.grid_transform)
    r.add_get("/slicer/fiducials", api.fiducials)
    r.add_put("/slicer/fiducial", api.fiducial)
    r.add_post("/slicer/fiducial", api.fiducial)
    r.add_get("/slicer/segmentations", api.segmentations)
    r.add_get("/slicer/segmentation", api.segmentation)
    r.add_get("/slicer/tracking", api.tracking)
    r.add_put("/slicer/tracking", api.tracking)
    r.add_put("/slicer/gui", api.gui)
    r.add_post("/slicer/gui", api.gui)
    r.add_get("/slicer/exec", api.exec)
    r.add_post("/slicer/exec", api.exec)
    for path in ("/slicer/sampledata", "/slicer/accessDICOMwebStudy", "/slicer/open"):
        r.add_route("*", path, api.refused)
    views.add_routes(app)
