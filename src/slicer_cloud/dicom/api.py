"""``/api/v1/dicom/...`` (browse sources, open series, export DICOM SEG and screenshots, store them) and the
read-only DICOMweb service at ``/dicomweb`` (API extension module).

Handlers are thin: they read the request, call :class:`~slicer_cloud.dicom.service.DicomService` (blocking work in a
worker thread, scene work on the loop) and answer JSON.
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Any

from aiohttp import web

from ..api.v1_request import query_bool, query_number, query_text
from ..api.v1_spec import BINARY, JSON, Body, Param, Reply, Route, ref
from ..errors import BadRequest, TooLarge

if TYPE_CHECKING:
    from ..core.session import Session

PREFIX = "/api/v1/dicom"
TAG = "dicom"
DICOM = "application/dicom"
MAX_DICOM_UPLOAD = 2 * 1024**3
_STR = {"type": "string"}
_INT = {"type": ["integer", "null"]}
_UID = {"type": "string", "minLength": 1, "maxLength": 64, "pattern": "^[0-9.]+$"}
SOURCE = Param("source", "source name: local (the data root) or a configured DICOMweb server",
               {"type": "string", "minLength": 1, "maxLength": 40, "pattern": "^[A-Za-z0-9_-]+$"}, "path")  # fmt: skip
STUDY = Param("study_uid", "Study Instance UID", _UID, "path")
SERIES = Param("series_uid", "Series Instance UID", _UID, "path")
SEG_NODE = Param("node_id", "segmentation node ID", {"type": "string", "minLength": 1, "maxLength": 200}, "path")
FILTERS = (
    Param("patient_name", "patient name; * and ? wildcards, case-insensitive prefix otherwise"),
    Param("patient_id", "patient ID"),
    Param("study_date", "YYYYMMDD or a range YYYYMMDD-YYYYMMDD (either end may be open)"),
    Param("modality", "a modality in the study, e.g. CT"),
    Param("accession", "accession number"),
)
STORE_PARAMS = (
    Param("destination", "DICOMweb server to store to (STOW-RS); default: the only one configured"),
    Param("save", "also save the file into the data root at this path (.dcm)"),
    Param("deidentify", "de-identify (PS3.15 basic profile) with the data root's UID map", {"type": "boolean"}),
    Param("store", "store to the destination (default true when a DICOMweb server is configured)", {"type": "boolean"}),
)

SCHEMAS: dict[str, Any] = {
    "DicomSource": {
        "type": "object",
        "properties": {"name": _STR, "url": _STR, "auth": _STR, "kind": {"enum": ["local", "dicomweb"]}},
    },
    "DicomSources": {"type": "object", "properties": {"sources": {"type": "array", "items": ref("DicomSource")}}},
    "DicomPatient": {
        "type": "object",
        "properties": {
            "patient_id": _STR,
            "patient_name": _STR,
            "patient_birth_date": _STR,
            "patient_sex": _STR,
            "studies": _INT,
        },  # fmt: skip
    },
    "DicomStudy": {
        "type": "object",
        "properties": {
            "study_uid": _STR,
            "patient_id": _STR,
            "patient_name": _STR,
            "study_date": _STR,
            "study_time": _STR,
            "study_description": _STR,
            "accession": _STR,
            "modalities": _STR,
            "series": _INT,
            "instances": _INT,
        },  # fmt: skip
    },
    "DicomLoadable": {
        "type": "object",
        "properties": {
            "name": _STR,
            "instances": {"type": "integer"},
            "loadable": {"type": "boolean"},
            "reason": _STR,
            "warnings": {"type": "array", "items": _STR},
            "dimensions": {"type": "array", "items": {"type": "integer"}},
            "spacing": {"type": "array", "items": {"type": "number"}},
        },  # fmt: skip
    },
    "DicomSeries": {
        "type": "object",
        "properties": {
            "series_uid": _STR,
            "study_uid": _STR,
            "series_number": _INT,
            "series_description": _STR,
            "modality": _STR,
            "instances": _INT,
            "loadables": {"type": "array", "items": ref("DicomLoadable"), "description": "local source only"},
        },  # fmt: skip
    },
    "DicomPatients": {"type": "object", "properties": {"patients": {"type": "array", "items": ref("DicomPatient")}}},
    "DicomStudies": {"type": "object", "properties": {"studies": {"type": "array", "items": ref("DicomStudy")}}},
    "DicomSeriesList": {"type": "object", "properties": {"series": {"type": "array", "items": ref("DicomSeries")}}},
    "DicomScan": {
        "type": "object",
        "properties": {k: {"type": "number"} for k in ("added", "removed", "skipped", "unchanged", "seconds")},
    },
    "DicomSkipped": {
        "type": "object",
        "properties": {
            "skipped": {
                "type": "array",
                "items": {"type": "object", "properties": {"path": _STR, "member": _STR, "reason": _STR}},
            }
        },
    },
    "DicomOpened": {
        "type": "object",
        "properties": {
            "node_id": _STR,
            "kind": {"enum": ["volume", "segmentation"]},
            "name": _STR,
            "first_slice_s": {"type": "number"},
            "full_volume_s": {"type": "number"},
            "slices": {"type": "integer"},
            "warnings": {"type": "array", "items": _STR},
        },  # fmt: skip
    },
    "DicomExported": {
        "type": "object",
        "properties": {
            "sop_instance_uid": _STR,
            "series_uid": _STR,
            "study_uid": _STR,
            "modality": _STR,
            "stored": {"type": "array", "items": _STR},
            "failed": {"type": "array", "items": _STR},
            "destination": {"type": ["string", "null"]},
            "saved": {"type": ["string", "null"]},
            "deidentified": {"type": "boolean"},
        },  # fmt: skip
    },
}

ROUTES: list[Route] = [
    Route(
        "GET",
        PREFIX + "/sources",
        "dicom_sources",
        "DICOM sources: the data root and configured DICOMweb servers",
        TAG,
        replies={200: Reply("sources", schema=ref("DicomSources"))},
    ),
    Route(
        "POST",
        PREFIX + "/local/scan",
        "dicom_scan",
        "Rescan the data root's DICOM files now",
        TAG,
        replies={200: Reply("what changed", schema=ref("DicomScan"))},
    ),
    Route(
        "GET",
        PREFIX + "/local/skipped",
        "dicom_skipped",
        "Files of the data root that are not indexed, and why",
        TAG,
        replies={200: Reply("skipped files", schema=ref("DicomSkipped"))},
    ),
    Route(
        "GET",
        PREFIX + "/{source}/patients",
        "dicom_patients",
        "Patients of a source",
        TAG,
        params=(SOURCE, FILTERS[0], FILTERS[1]),
        replies={200: Reply("patients", schema=ref("DicomPatients"))},
        errors=(502,),
    ),
    Route(
        "GET",
        PREFIX + "/{source}/studies",
        "dicom_studies",
        "Search the studies of a source (QIDO-RS)",
        TAG,
        params=(SOURCE, *FILTERS),
        replies={200: Reply("studies", schema=ref("DicomStudies"))},
        errors=(502,),
    ),
    Route(
        "GET",
        PREFIX + "/{source}/studies/{study_uid}/series",
        "dicom_series",
        "Series of a study",
        TAG,
        params=(SOURCE, STUDY, Param("modality", "only this modality")),
        replies={200: Reply("series", schema=ref("DicomSeriesList"))},
        errors=(502,),
    ),
    Route(
        "GET",
        PREFIX + "/{source}/studies/{study_uid}/series/{series_uid}/thumbnail",
        "dicom_thumbnail",
        "A JPEG thumbnail of the series' middle image",
        TAG,
        params=(SOURCE, STUDY, SERIES, Param("size", "long side in pixels (16-512)", {"type": "integer"})),
        replies={200: Reply("thumbnail", "image/jpeg", {"type": "string", "format": "binary"})},
        errors=(422, 502),
    ),
    Route(
        "POST",
        PREFIX + "/{source}/studies/{study_uid}/series/{series_uid}/open",
        "dicom_open",
        "Open a series in the scene (volumes progressively; a DICOM SEG as a segmentation)",
        TAG,
        params=(
            SOURCE,
            STUDY,
            SERIES,
            Param("part", "which volume of a split series (default 0)", {"type": "integer"}),
        ),
        replies={200: Reply("the new node", schema=ref("DicomOpened"))},
        errors=(413, 422, 502),
    ),
    Route(
        "POST",
        PREFIX + "/import",
        "dicom_import",
        "Load a DICOM SEG file (the body) as a segmentation",
        TAG,
        body=Body(
            "a DICOM SEG instance (Part 10 file), sent as application/octet-stream or application/dicom",
            {BINARY: {"type": "string", "format": "binary"}},
        ),
        replies={200: Reply("the new node", schema=ref("DicomOpened"))},
        errors=(413, 422),
    ),
    Route(
        "POST",
        PREFIX + "/segmentations/{node_id}/seg",
        "dicom_export_seg",
        "Export a segmentation as DICOM SEG referencing its source series; store it (STOW-RS) and/or save it",
        TAG,
        params=(SEG_NODE, *STORE_PARAMS),
        replies={200: Reply("what was written", schema=ref("DicomExported"))},
        errors=(409, 422, 502),
    ),
    Route(
        "GET",
        PREFIX + "/segmentations/{node_id}/seg",
        "dicom_download_seg",
        "Download a segmentation as a DICOM SEG file",
        TAG,
        params=(SEG_NODE, Param("deidentify", "de-identify first", {"type": "boolean"})),
        replies={200: Reply("the DICOM SEG", DICOM, {"type": "string", "format": "binary"})},
        errors=(422,),
    ),
    Route(
        "POST",
        PREFIX + "/screenshot",
        "dicom_export_screenshot",
        "Capture the views as a DICOM Secondary Capture in the shown series' study; store and/or save it",
        TAG,
        params=STORE_PARAMS,
        replies={200: Reply("what was written", schema=ref("DicomExported"))},
        errors=(409, 422, 502),
    ),
]


class DicomHandlers:
    """Operations of ``/api/v1/dicom``, bound to a session's DICOM service."""

    def __init__(self, session: Session) -> None:
        self.session = session  # the service is made on first use: registering routes runs nothing

    @property
    def service(self):
        from .service import service_for

        return service_for(self.session)

    async def _run(self, fn, *args, **kwargs):
        return await asyncio.get_running_loop().run_in_executor(None, lambda: fn(*args, **kwargs))

    def _filters(self, request: web.Request) -> dict[str, str]:
        return {p.name: query_text(request.query, p.name, max_length=128).strip() for p in FILTERS}

    async def dicom_sources(self, request: web.Request) -> web.Response:
        return web.json_response({"sources": self.service.source_names()})

    async def dicom_scan(self, request: web.Request) -> web.Response:
        report = await self._run(self.service.index.scan)
        return web.json_response(report.as_dict())

    async def dicom_skipped(self, request: web.Request) -> web.Response:
        await self._run(self.service.index.refresh)
        return web.json_response({"skipped": await self._run(self.service.index.skipped)})

    async def dicom_patients(self, request: web.Request) -> web.Response:
        f = self._filters(request)
        rows = await self._run(self.service.patients, request.match_info["source"], f["patient_name"], f["patient_id"])
        return web.json_response({"patients": rows})

    async def dicom_studies(self, request: web.Request) -> web.Response:
        rows = await self._run(self.service.studies, request.match_info["source"], **self._filters(request))
        return web.json_response({"studies": rows})

    async def dicom_series(self, request: web.Request) -> web.Response:
        info = request.match_info
        modality = query_text(request.query, "modality", max_length=16).strip()
        rows = await self._run(self.service.series, info["source"], info["study_uid"], modality)
        return web.json_response({"series": rows})

    async def dicom_thumbnail(self, request: web.Request) -> web.Response:
        info = request.match_info
        size = query_number(request.query, "size", int) or 96
        if not 16 <= size <= 512:
            raise BadRequest("size must be 16-512 pixels")
        jpeg = await self._run(self.service.thumbnail, info["source"], info["study_uid"], info["series_uid"], size)
        return web.Response(body=jpeg, content_type="image/jpeg", headers={"Cache-Control": "private, max-age=300"})

    async def dicom_open(self, request: web.Request) -> web.Response:
        info = request.match_info
        part = query_number(request.query, "part", int) or 0
        result = await self.service.open_series(info["source"], info["study_uid"], info["series_uid"], part)
        return web.json_response(result)

    async def dicom_import(self, request: web.Request) -> web.Response:
        from .seg import load_seg

        if request.content_length is not None and request.content_length > MAX_DICOM_UPLOAD:
            raise TooLarge("DICOM uploads are limited to 2 GiB")
        data = await request.content.read(MAX_DICOM_UPLOAD + 1)
        if len(data) > MAX_DICOM_UPLOAD:
            raise TooLarge("DICOM uploads are limited to 2 GiB")
        if data[128:132] != b"DICM":
            raise BadRequest("the body is not a DICOM file (no DICM marker); send a DICOM SEG Part 10 file")
        seg = await self._run(_read_seg, data)
        node_id = load_seg(self.session, seg)
        self.session.load_count += 1
        return web.json_response({"node_id": node_id, "kind": "segmentation", "name": str(seg.SeriesDescription)})

    async def dicom_export_seg(self, request: web.Request) -> web.Response:
        from .export import export_seg

        dataset = export_seg(self.service, request.match_info["node_id"])
        return web.json_response(await self._deliver(request, dataset))

    async def dicom_download_seg(self, request: web.Request) -> web.Response:
        from .export import export_seg, prepare, to_bytes

        dataset = export_seg(self.service, request.match_info["node_id"])
        deidentified = query_bool(request.query, "deidentify", False)
        (dataset,) = await self._run(prepare, self.service, [dataset], deidentified)
        body = await self._run(to_bytes, dataset)
        return web.Response(body=body, content_type=DICOM,
                            headers={"Content-Disposition": 'attachment; filename="segmentation.dcm"'})  # fmt: skip

    async def dicom_export_screenshot(self, request: web.Request) -> web.Response:
        from .export import screenshot_capture

        dataset = screenshot_capture(self.service)
        return web.json_response(await self._deliver(request, dataset))

    async def _deliver(self, request: web.Request, dataset) -> dict[str, Any]:
        from .export import deliver

        q = request.query
        return await self._run(
            deliver,
            self.service,
            dataset,
            destination=query_text(q, "destination", max_length=40).strip(),
            save=query_text(q, "save", max_length=1024).strip(),
            deidentified=query_bool(q, "deidentify", False),
            store=query_bool(q, "store", bool(self.service.sources)),
        )


def _read_seg(data: bytes):
    from .seg import read_seg

    return read_seg(data)


def handlers(session: Session, app: web.Application | None = None) -> DicomHandlers:
    """The handler object whose methods are this module's operations (extension contract)."""
    return DicomHandlers(session)


def add_routes(app: web.Application, session: Session) -> None:
    """``/dicomweb``: the data root's DICOM files as a read-only DICOMweb service."""
    from .dicomweb_server import add_dicomweb_routes

    add_dicomweb_routes(app, session)


__all__ = ["ROUTES", "SCHEMAS", "handlers", "add_routes", "JSON"]
