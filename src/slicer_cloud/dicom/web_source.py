"""DICOMweb servers as sources and destinations: QIDO-RS search, WADO-RS retrieval, STOW-RS storage.

Servers come from the ``dicomweb`` setting (``NAME=URL``); credentials from the environment, read when the sources
are built (never at import): ``SLICER_CLOUD_DICOMWEB_<NAME>_TOKEN`` (bearer) or ``SLICER_CLOUD_DICOMWEB_<NAME>_USER``
and ``_PASSWORD`` (basic). The HTTP work is done by ``dicomweb-client``; this module maps its DICOM JSON to the same
row dictionaries the local index returns, so the browser, the REST API and the loader treat both alike.
"""

from __future__ import annotations

import json
import logging
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import requests
from pydicom.dataset import Dataset

from ..errors import BadRequest, ConfigError, NotFound, SlicerCloudError
from .series import Loadable, loadables

logger = logging.getLogger(__name__)

NAME_RE = re.compile(r"^[A-Za-z0-9_-]{1,40}$")
STUDY_FIELDS = ["00100010", "00100020", "00100030", "00100040", "00080020", "00080030", "00081030", "00080050",
                "00200010", "00080061", "00201206", "00201208"]  # fmt: skip
SERIES_FIELDS = ["0020000E", "00200011", "0008103E", "00080060", "00080016", "00201209"]
ANY_SYNTAX = (("application/dicom", "*"),)
MAX_RESULTS = 500


class SourceUnavailable(SlicerCloudError):
    """A DICOMweb server did not answer or refused the request."""

    status = 502
    code = "dicomweb_unavailable"


def parse_sources(entries: list[str], environ: Mapping[str, str] | None = None) -> dict[str, DicomWebSource]:
    """``NAME=URL`` entries of the ``dicomweb`` setting as sources; raise :class:`ConfigError` on a bad entry."""
    environ = os.environ if environ is None else environ
    sources: dict[str, DicomWebSource] = {}
    for entry in entries:
        name, sep, url = entry.partition("=")
        name, url = name.strip(), url.strip()
        if not sep or not NAME_RE.match(name) or not url.startswith(("http://", "https://")):
            raise ConfigError(
                f"dicomweb entry {entry!r} is not NAME=URL (NAME: letters, digits, - or _; URL: http(s)://...)"
            )
        key = f"SLICER_CLOUD_DICOMWEB_{name.upper().replace('-', '_')}_"
        sources[name] = DicomWebSource(
            name=name,
            url=url.rstrip("/"),
            token=environ.get(key + "TOKEN") or None,
            user=environ.get(key + "USER") or None,
            password=environ.get(key + "PASSWORD") or None,
        )
    return sources


def _value(item: Mapping[str, Any], tag: str, default: Any = "") -> Any:
    values = item.get(tag, {}).get("Value")
    if not values:
        return default
    value = values[0]
    if isinstance(value, dict):  # person name
        return value.get("Alphabetic", "")
    return value


def _values(item: Mapping[str, Any], tag: str) -> list[Any]:
    return list(item.get(tag, {}).get("Value") or [])


def study_row(item: Mapping[str, Any]) -> dict[str, Any]:
    """A QIDO-RS study result as an index-style row."""
    return {
        "study_uid": _value(item, "0020000D"),
        "patient_id": _value(item, "00100020"),
        "patient_name": _value(item, "00100010"),
        "patient_birth_date": _value(item, "00100030"),
        "patient_sex": _value(item, "00100040"),
        "study_date": _value(item, "00080020"),
        "study_time": _value(item, "00080030"),
        "study_description": _value(item, "00081030"),
        "study_id": _value(item, "00200010"),
        "accession": _value(item, "00080050"),
        "modalities": ",".join(str(m) for m in _values(item, "00080061")),
        "series": _value(item, "00201206", None),
        "instances": _value(item, "00201208", None),
    }


def series_row(item: Mapping[str, Any], study_uid: str) -> dict[str, Any]:
    return {
        "series_uid": _value(item, "0020000E"),
        "study_uid": _value(item, "0020000D") or study_uid,
        "series_number": _value(item, "00200011", None),
        "series_description": _value(item, "0008103E"),
        "modality": _value(item, "00080060"),
        "sop_class_uid": _value(item, "00080016"),
        "instances": _value(item, "00201209", None),
    }


_METADATA_TAGS = {
    "sop_instance_uid": "00080018", "sop_class_uid": "00080016", "patient_id": "00100020",
    "patient_name": "00100010", "patient_birth_date": "00100030", "patient_sex": "00100040",
    "study_uid": "0020000D", "study_date": "00080020", "study_time": "00080030", "study_description": "00081030",
    "study_id": "00200010", "accession": "00080050", "series_uid": "0020000E", "series_description": "0008103E",
    "modality": "00080060", "photometric": "00280004",
}  # fmt: skip
_METADATA_INTS = {
    "series_number": ("00200011", None), "instance_number": ("00200013", None), "rows": ("00280010", 0),
    "columns": ("00280011", 0), "frames": ("00280008", 1), "samples": ("00280002", 1),
    "bits_allocated": ("00280100", 16), "bits_stored": ("00280101", 16), "acquisition_number": ("00200012", None),
    "pixel_representation": ("00280103", 0),
}  # fmt: skip


def _json_floats(item: Mapping[str, Any], tag: str, count: int) -> str:
    try:
        values = [float(v) for v in _values(item, tag)]
    except (TypeError, ValueError):
        return ""
    return json.dumps(values) if len(values) == count else ""


def metadata_row(item: Mapping[str, Any]) -> dict[str, Any]:
    """A WADO-RS metadata item (DICOM JSON) as an index-style instance row (the fields :mod:`.series` needs).
    Read straight from the JSON: a series' metadata can be thousands of items."""
    row: dict[str, Any] = {k: str(_value(item, tag) or "").strip()[:200] for k, tag in _METADATA_TAGS.items()}
    for key, (tag, default) in _METADATA_INTS.items():
        value = _value(item, tag, default)
        try:
            row[key] = default if value in (None, "") else int(value)
        except (TypeError, ValueError):
            row[key] = default
    row["frames"] = max(1, row["frames"] or 1)
    row["samples"] = max(1, row["samples"] or 1)
    row["position"] = _json_floats(item, "00200032", 3)
    row["orientation"] = _json_floats(item, "00200037", 6)
    row["spacing"] = _json_floats(item, "00280030", 2)
    row["rescale_slope"] = str(_value(item, "00281053", ""))
    row["rescale_intercept"] = str(_value(item, "00281052", ""))
    row["transfer_syntax"] = _value(item, "00020010") or _value(item, "00083002")
    row["pixel_offset"] = 1 if row["rows"] else 0
    return row


class _WildcardAdapter(requests.adapters.HTTPAdapter):
    """Send QIDO wildcards as ``*`` rather than ``%2A``: both are valid URLs, and some servers (Orthanc 1.10) only
    match the plain form."""

    def send(self, request, *args, **kwargs):
        request.url = request.url.replace("%2A", "*")
        return super().send(request, *args, **kwargs)


@dataclass
class DicomWebSource:
    """One configured DICOMweb server."""

    name: str
    url: str
    token: str | None = None
    user: str | None = None
    password: str | None = None
    timeout: float = 30.0
    pool_size: int = 16
    _client: Any = field(default=None, repr=False)

    def describe(self) -> dict[str, Any]:
        """What a client may see: the name, the URL and which kind of credentials (never the secrets)."""
        auth = "bearer" if self.token else "basic" if self.user else "none"
        return {"name": self.name, "url": self.url, "auth": auth, "kind": "dicomweb"}

    @property
    def client(self):
        if self._client is None:
            from dicomweb_client import DICOMwebClient

            session = requests.Session()
            adapter = _WildcardAdapter(pool_connections=4, pool_maxsize=self.pool_size)
            session.mount("http://", adapter)
            session.mount("https://", adapter)
            if self.token:
                session.headers["Authorization"] = f"Bearer {self.token}"
            elif self.user:
                session.auth = (self.user, self.password or "")
            self._client = DICOMwebClient(self.url, session=session, timeout=self.timeout)
        return self._client

    def _call(self, what: str, fn, *args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except requests.HTTPError as exc:
            status = exc.response.status_code if exc.response is not None else 0
            if status == 404:
                raise NotFound(f"{what} not found on DICOMweb server {self.name}") from None
            if status in (401, 403):
                raise SourceUnavailable(
                    f"DICOMweb server {self.name} refused the credentials ({status}); set "
                    f"SLICER_CLOUD_DICOMWEB_{self.name.upper()}_TOKEN or _USER/_PASSWORD"
                ) from None
            raise SourceUnavailable(f"DICOMweb server {self.name} answered {status} to {what}") from None
        except (requests.ConnectionError, requests.Timeout):
            raise SourceUnavailable(f"DICOMweb server {self.name} does not answer at {self.url}") from None
        except ValueError as exc:
            raise SourceUnavailable(f"DICOMweb server {self.name} sent an unreadable answer to {what}") from exc

    # -- QIDO-RS -------------------------------------------------------------------------------------------------

    def studies(
        self,
        *,
        patient_name: str = "",
        patient_id: str = "",
        study_date: str = "",
        modality: str = "",
        accession: str = "",
        study_uid: str = "",
    ) -> list[dict[str, Any]]:
        filters = {
            "PatientName": patient_name if not patient_name or "*" in patient_name else patient_name + "*",
            "PatientID": patient_id,
            "StudyDate": study_date,
            "ModalitiesInStudy": modality.upper(),
            "AccessionNumber": accession,
            "StudyInstanceUID": study_uid,
        }
        filters = {k: v for k, v in filters.items() if v}
        found = self._call(
            "the study search",
            self.client.search_for_studies,
            search_filters=filters,
            fields=STUDY_FIELDS,
            limit=MAX_RESULTS,
        )
        return [study_row(item) for item in found]

    def patients(self, name: str = "", patient_id: str = "") -> list[dict[str, Any]]:
        """Patients of the matching studies (DICOMweb has no patient level: studies grouped by patient ID)."""
        out: dict[str, dict[str, Any]] = {}
        for study in self.studies(patient_name=name, patient_id=patient_id):
            entry = out.setdefault(
                study["patient_id"],
                {k: study[k] for k in ("patient_id", "patient_name", "patient_birth_date", "patient_sex")},
            )
            entry["studies"] = entry.get("studies", 0) + 1
        return sorted(out.values(), key=lambda p: (p["patient_name"], p["patient_id"]))

    def series(self, study_uid: str, modality: str = "") -> list[dict[str, Any]]:
        if not study_uid:
            raise BadRequest("give the study_uid whose series to list")
        filters = {"Modality": modality.upper()} if modality else {}
        found = self._call(
            "the series search",
            self.client.search_for_series,
            study_instance_uid=study_uid,
            search_filters=filters,
            fields=SERIES_FIELDS,
        )
        rows = [series_row(item, study_uid) for item in found]
        return sorted(rows, key=lambda r: (r["series_number"] or 0, r["series_uid"]))

    # -- WADO-RS -------------------------------------------------------------------------------------------------

    def instances(self, study_uid: str, series_uid: str) -> list[dict[str, Any]]:
        items = self._call("the series metadata", self.client.retrieve_series_metadata, study_uid, series_uid)
        return [metadata_row(item) for item in items]

    def instance_list(self, study_uid: str, series_uid: str) -> list[dict[str, Any]]:
        """SOP instance UIDs and numbers of a series from a QIDO-RS search (cheap: no per-file metadata)."""
        found = self._call(
            "the instance search",
            self.client.search_for_instances,
            study_uid,
            series_uid,
            fields=["00200013", "00280010", "00280008"],
        )
        return [
            {
                "study_uid": study_uid,
                "series_uid": series_uid,
                "sop_instance_uid": _value(item, "00080018"),
                "instance_number": _value(item, "00200013", None),
                "frames": _value(item, "00280008", 1) or 1,
            }
            for item in found
        ]

    def loadables(self, study_uid: str, series_uid: str) -> list[Loadable]:
        return loadables(self.instances(study_uid, series_uid))

    def retrieve(self, row: Mapping[str, Any]) -> Dataset:
        """One instance as stored (any transfer syntax; compressed ones are decoded by pylibjpeg)."""
        return self._call(
            "an instance",
            self.client.retrieve_instance,
            row["study_uid"],
            row["series_uid"],
            row["sop_instance_uid"],
            media_types=ANY_SYNTAX,
        )

    def stream(self, study_uid: str, series_uid: str):
        """The whole series in one WADO-RS request, yielded instance by instance as the parts arrive."""
        return self._call("the series", self.client.iter_series, study_uid, series_uid, media_types=ANY_SYNTAX)

    def rendered(self, row: Mapping[str, Any]) -> bytes:
        """A server-rendered JPEG of an instance (for thumbnails)."""
        return self._call(
            "a rendered instance",
            self.client.retrieve_instance_rendered,
            row["study_uid"],
            row["series_uid"],
            row["sop_instance_uid"],
            media_types=("image/jpeg",),
        )

    # -- STOW-RS -------------------------------------------------------------------------------------------------

    def store(self, datasets: list[Dataset]) -> dict[str, Any]:
        """Store instances; return how many the server took and which it refused."""
        if not datasets:
            raise BadRequest("nothing to store")
        for ds in datasets:  # Part 10 files carry a preamble; without one, readers that check for DICM fail
            if getattr(ds, "preamble", None) is None:
                ds.preamble = b"\0" * 128
        answer = self._call("the store request", self.client.store_instances, datasets=datasets)
        referenced = answer.get("ReferencedSOPSequence", []) if answer is not None else []
        failed = answer.get("FailedSOPSequence", []) if answer is not None else []
        return {
            "stored": [str(item.ReferencedSOPInstanceUID) for item in referenced],
            "failed": [str(item.get("ReferencedSOPInstanceUID", "")) for item in failed],
        }
