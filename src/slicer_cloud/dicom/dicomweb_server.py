"""A read-only DICOMweb service at ``/dicomweb`` over the data root's DICOM files (PS3.18).

QIDO-RS: ``/studies``, ``/series``, ``/instances`` and the nested forms, with attribute matching, ``limit``,
``offset`` and ``includefield``; WADO-RS: studies, series and instances as ``multipart/related;
type="application/dicom"``, ``/metadata`` as DICOM JSON, ``/frames/{list}`` as ``multipart/related;
type="application/octet-stream"`` (native little-endian pixels). Answers come from the local index; every route
sits behind the session's authentication like the rest of the server.
"""

from __future__ import annotations

import asyncio
import io
import uuid
from collections.abc import AsyncIterator, Iterable
from typing import TYPE_CHECKING, Any

import numpy as np
import pydicom
from aiohttp import web
from pydicom.dataset import Dataset

from ..errors import BadRequest, NotFound
from .service import service_for

if TYPE_CHECKING:
    from ..core.session import Session

ROOT = "/dicomweb"
DICOM_JSON = "application/dicom+json"
MAX_LIMIT = 1000
BULK_THRESHOLD = 1024
STUDY_MATCH = {
    "PatientName": "patient_name", "PatientID": "patient_id", "StudyDate": "study_date",
    "AccessionNumber": "accession", "StudyInstanceUID": "study_uid", "ModalitiesInStudy": "modality",
    "00100010": "patient_name", "00100020": "patient_id", "00080020": "study_date", "00080050": "accession",
    "0020000D": "study_uid", "00080061": "modality",
}  # fmt: skip
SERIES_MATCH = {"Modality": "modality", "SeriesInstanceUID": "series_uid", "00080060": "modality",
                "0020000E": "series_uid"}  # fmt: skip
INSTANCE_MATCH = {"SOPInstanceUID": "sop_instance_uid", "00080018": "sop_instance_uid"}
QIDO_PARAMS = {"limit", "offset", "includefield", "fuzzymatching"}


def _dataset(values: dict[str, Any]) -> Dataset:
    ds = Dataset()
    for keyword, value in values.items():
        if value is None or value == "":
            if keyword in ("PatientName", "PatientID", "StudyDate", "StudyTime", "AccessionNumber", "StudyID",
                           "ReferringPhysicianName", "Modality", "SeriesNumber", "InstanceNumber"):  # fmt: skip
                setattr(ds, keyword, None)  # required (type 2) attributes are present, empty
            continue
        setattr(ds, keyword, value)
    return ds


def study_json(row: dict[str, Any], base: str) -> dict[str, Any]:
    ds = _dataset(
        {
            "SpecificCharacterSet": "ISO_IR 192",
            "StudyDate": row["study_date"],
            "StudyTime": row["study_time"],
            "AccessionNumber": row["accession"],
            "ModalitiesInStudy": [m for m in (row["modalities"] or "").split(",") if m],
            "ReferringPhysicianName": "",
            "PatientName": row["patient_name"],
            "PatientID": row["patient_id"],
            "PatientBirthDate": row["patient_birth_date"],
            "PatientSex": row["patient_sex"],
            "StudyInstanceUID": row["study_uid"],
            "StudyID": row["study_id"],
            "StudyDescription": row["study_description"],
            "NumberOfStudyRelatedSeries": row["series"],
            "NumberOfStudyRelatedInstances": row["instances"],
            "RetrieveURL": f"{base}/studies/{row['study_uid']}",
        }
    )
    return ds.to_json_dict()


def series_json(row: dict[str, Any], base: str) -> dict[str, Any]:
    ds = _dataset(
        {
            "SpecificCharacterSet": "ISO_IR 192",
            "Modality": row["modality"],
            "SeriesDescription": row["series_description"],
            "SeriesNumber": row["series_number"],
            "StudyInstanceUID": row["study_uid"],
            "SeriesInstanceUID": row["series_uid"],
            "NumberOfSeriesRelatedInstances": row["instances"],
            "RetrieveURL": f"{base}/studies/{row['study_uid']}/series/{row['series_uid']}",
        }
    )
    return ds.to_json_dict()


def instance_json(row: dict[str, Any], base: str) -> dict[str, Any]:
    ds = _dataset(
        {
            "SpecificCharacterSet": "ISO_IR 192",
            "SOPClassUID": row["sop_class_uid"],
            "SOPInstanceUID": row["sop_instance_uid"],
            "InstanceNumber": row["instance_number"],
            "StudyInstanceUID": row["study_uid"],
            "SeriesInstanceUID": row["series_uid"],
            "Modality": row["modality"],
            "Rows": row["rows"] or None,
            "Columns": row["columns"] or None,
            "NumberOfFrames": row["frames"] if row["rows"] else None,
            "RetrieveURL": f"{base}/studies/{row['study_uid']}/series/{row['series_uid']}/instances/"
            f"{row['sop_instance_uid']}",
        }
    )
    return ds.to_json_dict()


def _page(rows: list[dict[str, Any]], query) -> list[dict[str, Any]]:
    try:
        offset = int(query.get("offset", 0) or 0)
        limit = int(query.get("limit", MAX_LIMIT) or MAX_LIMIT)
    except ValueError:
        raise BadRequest("limit and offset must be integers") from None
    if offset < 0 or limit < 0:
        raise BadRequest("limit and offset must not be negative")
    return rows[offset : offset + min(limit, MAX_LIMIT)]


def _matches(query, table: dict[str, str]) -> dict[str, str]:
    """The QIDO matching keys of a query, by index column; unknown keys are refused (PS3.18: 400)."""
    out: dict[str, str] = {}
    for key, value in query.items():
        if key in QIDO_PARAMS:
            continue
        column = table.get(key)
        if column is None:
            raise BadRequest(f"{key} is not a supported matching attribute here")
        if len(value) > 256 or "\x00" in value:
            raise BadRequest(f"{key} is too long")
        out[column] = value
    return out


def _json(payload: Any) -> web.Response:
    import json

    return web.Response(text=json.dumps(payload), content_type=DICOM_JSON)


def metadata_json(data: bytes) -> dict[str, Any]:
    """An instance's DICOM JSON without its bulk data (pixel data and other large binary values left out)."""
    try:
        ds = pydicom.dcmread(io.BytesIO(data), stop_before_pixels=True)
    except RecursionError:
        raise BadRequest("the instance's header nests sequences too deeply") from None
    meta = getattr(ds, "file_meta", None)
    out = ds.to_json_dict(bulk_data_threshold=BULK_THRESHOLD, bulk_data_element_handler=lambda _: None)
    out = {tag: value for tag, value in out.items() if "BulkDataURI" not in value or value["BulkDataURI"]}
    if meta is not None and "TransferSyntaxUID" in meta:
        out["00083002"] = {"vr": "UI", "Value": [str(meta.TransferSyntaxUID)]}  # AvailableTransferSyntaxUID
    return out


def frames_of(data: bytes, numbers: list[int]) -> list[bytes]:
    """Native (uncompressed, little-endian) bytes of the 1-based ``numbers`` frames of an instance."""
    try:
        ds = pydicom.dcmread(io.BytesIO(data))
        frames = int(ds.get("NumberOfFrames", 1) or 1)
        if any(n < 1 or n > frames for n in numbers):
            raise NotFound(f"the instance has frames 1..{frames}")
        pixels = ds.pixel_array
    except (NotFound, BadRequest):
        raise
    except Exception:  # a decoder failure is the file's fault, not the server's
        raise BadRequest("the instance's pixel data cannot be decoded") from None
    if frames == 1:
        pixels = pixels[None]
    return [np.ascontiguousarray(pixels[n - 1]).astype(pixels.dtype.newbyteorder("<")).tobytes() for n in numbers]


async def multipart(
    request: web.Request, parts: Iterable[bytes] | AsyncIterator[bytes], part_type: str, type_param: str
) -> web.StreamResponse:
    """Stream parts as ``multipart/related`` (PS3.18 8.7.3.1), one part in memory at a time."""
    boundary = uuid.uuid4().hex
    response = web.StreamResponse(
        headers={"Content-Type": f'multipart/related; type="{type_param}"; boundary={boundary}'}
    )
    await response.prepare(request)

    async def each() -> AsyncIterator[bytes]:
        if isinstance(parts, AsyncIterator):
            async for part in parts:
                yield part
        else:
            for part in parts:
                yield part

    async for part in each():
        head = f"--{boundary}\r\nContent-Type: {part_type}\r\nContent-Length: {len(part)}\r\n\r\n".encode()
        await response.write(head + part + b"\r\n")
    await response.write(f"--{boundary}--\r\n".encode())
    await response.write_eof()
    return response


def _accepts(request: web.Request, media: str) -> None:
    """406 when the client asks only for something else (e.g. a rendered JPEG, or a compressed syntax)."""
    accept = request.headers.get("Accept", "*/*")
    if "*/*" in accept or media in accept or "multipart/related" in accept and "type" not in accept:
        return
    raise web.HTTPNotAcceptable(text=f"this server sends {media}", content_type="text/plain")


class DicomWebService:
    """Handlers of ``/dicomweb``; index reads run in a worker thread."""

    def __init__(self, session: Session) -> None:
        self.session = session

    @property
    def service(self):
        return service_for(self.session)

    @property
    def index(self):
        return self.service.index

    async def _run(self, fn, *args, **kwargs):
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(None, lambda: fn(*args, **kwargs))

    def _base(self, request: web.Request) -> str:
        return f"{request.scheme}://{request.host}{ROOT}"

    async def _refreshed(self) -> None:
        await self._run(self.index.refresh)

    # -- QIDO-RS -------------------------------------------------------------------------------------------------

    async def search_studies(self, request: web.Request) -> web.Response:
        await self._refreshed()
        match = _matches(request.query, STUDY_MATCH)
        rows = await self._run(self.index.studies, **match)
        return _json([study_json(r, self._base(request)) for r in _page(rows, request.query)])

    async def search_series(self, request: web.Request) -> web.Response:
        await self._refreshed()
        study_uid = request.match_info.get("study", "")
        match = _matches(request.query, {**SERIES_MATCH, "StudyInstanceUID": "study_uid", "0020000D": "study_uid"})
        study_uid = study_uid or match.pop("study_uid", "")
        if request.match_info.get("study") and not await self._run(self.index.studies, study_uid=study_uid):
            raise NotFound("no such study")
        rows = await self._run(self.index.series, study_uid=study_uid, **match)
        return _json([series_json(r, self._base(request)) for r in _page(rows, request.query)])

    async def search_instances(self, request: web.Request) -> web.Response:
        await self._refreshed()
        study_uid = request.match_info.get("study", "")
        series_uid = request.match_info.get("series", "")
        match = _matches(request.query, {**INSTANCE_MATCH, "SeriesInstanceUID": "series_uid",
                                         "StudyInstanceUID": "study_uid"})  # fmt: skip
        rows = await self._run(
            self.index.instances,
            series_uid=series_uid or match.get("series_uid", ""),
            study_uid=study_uid or match.get("study_uid", ""),
            sop_uid=match.get("sop_instance_uid", ""),
        )
        rows = list({r["sop_instance_uid"]: r for r in rows}.values())
        return _json([instance_json(r, self._base(request)) for r in _page(rows, request.query)])

    # -- WADO-RS -------------------------------------------------------------------------------------------------

    async def _instances(self, request: web.Request) -> list[dict[str, Any]]:
        info = request.match_info
        rows = await self._run(
            self.index.instances,
            study_uid=info.get("study", ""),
            series_uid=info.get("series", ""),
            sop_uid=info.get("instance", ""),
        )
        rows = [r for r in rows if r["study_uid"] == info["study"]]
        rows = list({r["sop_instance_uid"]: r for r in rows}.values())
        if not rows:
            raise NotFound("no such study, series or instance in this server")
        return rows

    async def retrieve(self, request: web.Request) -> web.StreamResponse:
        _accepts(request, "application/dicom")
        rows = await self._instances(request)

        async def parts():
            for row in rows:
                yield await self._run(self.index.read_bytes, row)

        return await multipart(request, parts(), "application/dicom", "application/dicom")

    async def metadata(self, request: web.Request) -> web.Response:
        rows = await self._instances(request)
        items = []
        for row in rows:
            data = await self._run(self.index.read_bytes, row)
            items.append(await self._run(metadata_json, data))
        return _json(items)

    async def frames(self, request: web.Request) -> web.StreamResponse:
        _accepts(request, "application/octet-stream")
        try:
            numbers = [int(n) for n in request.match_info["frames"].split(",")]
        except ValueError:
            raise BadRequest("frames must be a comma-separated list of frame numbers") from None
        if not numbers or len(numbers) > 10000:
            raise BadRequest("ask for 1 to 10000 frames")
        (row,) = (await self._instances(request))[:1]
        data = await self._run(self.index.read_bytes, row)
        frames = await self._run(frames_of, data, numbers)
        syntax = "application/octet-stream; transfer-syntax=1.2.840.10008.1.2.1"
        return await multipart(request, frames, syntax, "application/octet-stream")


def add_dicomweb_routes(app: web.Application, session: Session) -> None:
    """Register ``/dicomweb`` on ``app`` (behind the app's auth and error middlewares)."""
    svc = DicomWebService(session)
    study = ROOT + "/studies/{study}"
    series = study + "/series/{series}"
    instance = series + "/instances/{instance}"
    routes = [
        (ROOT + "/studies", svc.search_studies),
        (ROOT + "/series", svc.search_series),
        (ROOT + "/instances", svc.search_instances),
        (study + "/series", svc.search_series),
        (study + "/instances", svc.search_instances),
        (series + "/instances", svc.search_instances),
        (study, svc.retrieve),
        (series, svc.retrieve),
        (instance, svc.retrieve),
        (study + "/metadata", svc.metadata),
        (series + "/metadata", svc.metadata),
        (instance + "/metadata", svc.metadata),
        (instance + "/frames/{frames}", svc.frames),
    ]
    for path, handler in routes:
        app.router.add_get(path, handler)
