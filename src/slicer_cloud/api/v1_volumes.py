"""``/api/v1/volumes`` and ``/api/v1/segmentations``: upload, download and export, validated before allocation."""

from __future__ import annotations

import shutil
import uuid
from typing import TYPE_CHECKING

from aiohttp import web

from ..core import scene_query, view_controls
from ..core.node_info import get_node
from ..core.nrrd_codec import array_to_volume, decode_nrrd, encode_nrrd, volume_to_array
from ..core.segment_export import export_labelmap, export_surface
from ..core.segments import describe_segmentation, list_segmentations, segmentation_node
from ..core.volume_files import SUFFIXES, check_geometry, describe_volume, encode_nifti, sniff_format
from ..errors import UnsupportedFormat
from .body import read_nrrd_body
from .slicerweb import NotSupported, stream_nrrd
from .v1_request import PrefixedBody, json_object, query_bool, query_choice, query_text, read_prefix, stream_to_file

if TYPE_CHECKING:
    from ..core.session import Session

SNIFF_BYTES = 352
VOLUME = "vtkMRMLVolumeNode"
SCALAR_VOLUME = "vtkMRMLScalarVolumeNode"
UPLOAD_FORMATS = {"nrrd": ("nrrd",), "nifti": ("nifti", "nifti-gz"), "dicom-zip": ("dicom-zip",)}


def attachment(name: str, suffix: str) -> dict[str, str]:
    safe = "".join(ch for ch in name if ch.isalnum() or ch in "._-")[:100] or "volume"
    return {"Content-Disposition": f'attachment; filename="{safe}{suffix}"', "Cache-Control": "no-store"}


class VolumeHandlers:
    """Volumes and segmentations of the session scene."""

    def __init__(self, session: Session) -> None:
        self.session = session

    @property
    def scene(self):
        return self.session.scene

    async def list_volumes(self, request: web.Request) -> web.Response:
        ids = [v["id"] for v in scene_query.list_volumes(self.scene)]
        return web.json_response({"volumes": [describe_volume(self.scene.GetNodeByID(i)) for i in ids]})

    async def upload_volume(self, request: web.Request) -> web.Response:
        """NRRD goes through the NRRD codec (header checked before the body is read); NIfTI and DICOM zips are
        streamed to a private folder and loaded with the session loader's header and archive checks."""
        q = request.query
        name = scene_query.safe_name(query_text(q, "name", max_length=128)) if q.get("name", "").strip() else None
        wanted = query_choice(q, "format", ("auto", *UPLOAD_FORMATS), "auto")
        show = query_bool(q, "show", True)
        prefix = await read_prefix(request, SNIFF_BYTES)
        found = sniff_format(prefix)
        if wanted != "auto" and found not in UPLOAD_FORMATS[wanted]:
            raise UnsupportedFormat(f"the body is not {wanted}; send such a file or leave out format=")
        if found == "nrrd":
            ids = self._add_nrrd(await read_nrrd_body(PrefixedBody(request, prefix), self.session.limits), name)
        else:
            ids = await self._load_file(request, prefix, found, name)
        if show:
            self.session.show_main_volume(ids)
        return web.json_response({"id": ids[0] if ids else None, "nodes": ids}, status=201)

    def _add_nrrd(self, data: bytes, name: str | None) -> list[str]:
        volume = check_geometry(decode_nrrd(data, self.session.limits))
        return [array_to_volume(self.scene, volume, name=name or "Volume").GetID()]

    async def _load_file(self, request: web.Request, prefix: bytes, fmt: str, name: str | None) -> list[str]:
        folder = self.session.work_dir / f"upload-{uuid.uuid4().hex}"
        folder.mkdir(parents=True)
        try:
            stem = "".join(ch for ch in (name or "Volume") if ch.isalnum() or ch in "_-")[:64] or "Volume"
            dest = folder / (stem + SUFFIXES[fmt])
            await stream_to_file(request, dest, self.session.limits.max_upload_bytes, prefix)
            result = self.session.load(dest, show=False)
        finally:
            shutil.rmtree(folder, ignore_errors=True)
        ids = result.volume_ids or scene_query.data_node_ids(self.scene, result.node_ids)
        if name and ids:
            self.scene.GetNodeByID(ids[0]).SetName(name)
        return ids

    async def download_volume(self, request: web.Request) -> web.Response:
        node = get_node(self.scene, request.match_info["node_id"], VOLUME)
        if not node.IsA(SCALAR_VOLUME):
            raise UnsupportedFormat("only scalar and labelmap volumes can be downloaded")
        fmt = query_choice(request.query, "format", ("nrrd", "nii.gz"), "nrrd")
        gzip = query_choice(request.query, "encoding", ("raw", "gzip"), "raw") == "gzip"
        if fmt == "nrrd" and not gzip:
            return await stream_nrrd(
                request, volume_to_array(node, copy=False), attachment(node.GetName() or "", ".nrrd")
            )
        volume = volume_to_array(node)
        if fmt == "nrrd":
            body, suffix = encode_nrrd(volume, compress=gzip), ".nrrd"
        else:
            body, suffix = encode_nifti(volume), ".nii.gz"
        return web.Response(
            body=body, content_type="application/octet-stream", headers=attachment(node.GetName() or "", suffix)
        )

    async def get_window_level(self, request: web.Request) -> web.Response:
        return web.json_response(view_controls.get_window_level(self.scene, request.match_info["node_id"]))

    async def set_window_level(self, request: web.Request) -> web.Response:
        body = await json_object(request)
        return web.json_response(view_controls.set_window_level(self.scene, request.match_info["node_id"], body))

    # -- segmentations -----------------------------------------------------------------------------------------

    async def list_segmentations(self, request: web.Request) -> web.Response:
        return web.json_response({"segmentations": list_segmentations(self.scene)})

    async def list_segments(self, request: web.Request) -> web.Response:
        return web.json_response(describe_segmentation(segmentation_node(self.scene, request.match_info["node_id"])))

    async def export_segmentation(self, request: web.Request) -> web.Response:
        node = segmentation_node(self.scene, request.match_info["node_id"])
        fmt = query_choice(request.query, "format", ("labelmap", "stl", "dicom-seg"), "labelmap")
        segment = query_text(request.query, "segment", max_length=200).strip() or None
        if fmt == "dicom-seg":
            try:  # the DICOM feature package (slicer_cloud.dicom) makes DICOM SEG with highdicom
                from ..dicom.export import seg_file_bytes
            except ImportError:
                raise NotSupported(
                    "DICOM SEG export is not available in this server; export format=labelmap (NRRD) or format=stl"
                ) from None
            body = seg_file_bytes(self.session, node.GetID())
            return web.Response(
                body=body, content_type="application/dicom", headers=attachment(node.GetName() or "", ".dcm")
            )
        if fmt == "labelmap":
            body = export_labelmap(self.scene, self.session.app.segmentations_logic, node, segment)
            return web.Response(
                body=body, content_type="application/octet-stream", headers=attachment(node.GetName() or "", ".nrrd")
            )
        body = export_surface(node, segment, "stl", self.session.work_dir)
        return web.Response(body=body, content_type="model/stl", headers=attachment(node.GetName() or "", ".stl"))
