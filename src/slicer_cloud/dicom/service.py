"""The DICOM side of one session: its local index, its DICOMweb sources, and opening series into the scene.

The REST API, the viewer panel and ``/dicomweb`` share one :class:`DicomService` per session (:func:`service_for`).
"""

from __future__ import annotations

import asyncio
import logging
import time
import weakref
from typing import TYPE_CHECKING, Any

from ..errors import BadRequest, InvalidData, NotFound
from .index import DicomIndex
from .series import Loadable
from .volume import load_progressively
from .web_source import DicomWebSource, parse_sources

if TYPE_CHECKING:
    from ..core.session import Session

logger = logging.getLogger(__name__)

LOCAL = "local"
SEG_CLASS = "1.2.840.10008.5.1.4.1.1.66.4"
_services: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def service_for(session: Session) -> DicomService:
    """The session's DICOM service (created on first use)."""
    service = _services.get(session)
    if service is None:
        service = _services[session] = DicomService(session)
    return service


class DicomService:
    """Index, sources and loading for one session. Scene work happens on the session's loop thread."""

    def __init__(self, session: Session, environ: dict[str, str] | None = None) -> None:
        self.session = session
        self.sources: dict[str, DicomWebSource] = parse_sources(session.settings.dicomweb, environ)
        self._index: DicomIndex | None = None

    @property
    def index(self) -> DicomIndex:
        if self._index is None:
            self._index = DicomIndex(self.session.data_root.root)
        return self._index

    def source_names(self) -> list[dict[str, Any]]:
        local = {"name": LOCAL, "url": "", "auth": "session", "kind": "local"}
        return [local, *(s.describe() for s in self.sources.values())]

    def source(self, name: str) -> DicomWebSource | DicomIndex:
        if name == LOCAL:
            return self.index
        found = self.sources.get(name)
        if found is None:
            known = ", ".join([LOCAL, *self.sources]) or LOCAL
            raise NotFound(f"no DICOM source named {name!r}; configured: {known}")
        return found

    def destination(self, name: str) -> DicomWebSource:
        if not name:
            if len(self.sources) == 1:
                return next(iter(self.sources.values()))
            raise BadRequest("name the DICOMweb server to store to (configured with --dicomweb NAME=URL)")
        found = self.source(name)
        if not isinstance(found, DicomWebSource):
            raise BadRequest("the local data root is not a STOW-RS destination; export to a file instead")
        return found

    # -- browsing (blocking: call from a worker thread) ----------------------------------------------------------

    def studies(self, source: str, **filters: str) -> list[dict[str, Any]]:
        found = self.source(source)
        if isinstance(found, DicomIndex):
            found.refresh()
        return found.studies(**filters)

    def patients(self, source: str, name: str = "", patient_id: str = "") -> list[dict[str, Any]]:
        found = self.source(source)
        if isinstance(found, DicomIndex):
            found.refresh()
        return found.patients(name=name, patient_id=patient_id)

    def series(self, source: str, study_uid: str, modality: str = "") -> list[dict[str, Any]]:
        found = self.source(source)
        if isinstance(found, DicomIndex):
            found.refresh()
            rows = found.series(study_uid=study_uid, modality=modality)
            for row in rows:
                row["loadables"] = [item.summary() for item in found.loadables(row["series_uid"])]
            return rows
        return found.series(study_uid, modality=modality)

    def loadables(self, source: str, study_uid: str, series_uid: str) -> list[Loadable]:
        found = self.source(source)
        if isinstance(found, DicomIndex):
            found.refresh()
            try:
                return found.loadables(series_uid)
            except NotFound:  # written since the last scan?
                found.scan()
                return found.loadables(series_uid)
        return found.loadables(study_uid, series_uid)

    def fetcher(self, source: str):
        found = self.source(source)
        return found.read_bytes if isinstance(found, DicomIndex) else found.retrieve

    def thumbnail(self, source: str, study_uid: str, series_uid: str, size: int = 96) -> bytes:
        """A small JPEG of the series' middle image (server-rendered where the server can)."""
        from .thumbnails import thumbnail

        return thumbnail(self, source, study_uid, series_uid, size)

    # -- opening (on the loop thread) ----------------------------------------------------------------------------

    async def open_series(
        self, source: str, study_uid: str, series_uid: str, part: int = 0, *, show: bool = True
    ) -> dict[str, Any]:
        """Load a series (one of its loadables) into the scene progressively; a DICOM SEG becomes a segmentation."""
        return await self._open(source, study_uid, series_uid, part, show)

    async def _open(self, source: str, study_uid: str, series_uid: str, part: int, show: bool) -> dict[str, Any]:
        loop = asyncio.get_running_loop()
        found = await loop.run_in_executor(None, self.loadables, source, study_uid, series_uid)
        if not found:
            raise NotFound("the series holds no instances")
        instances = found[0].instances
        if instances and instances[0].get("sop_class_uid") == SEG_CLASS:
            from .seg import load_seg

            data = await loop.run_in_executor(None, self.fetcher(source), instances[0])
            node_id = load_seg(self.session, data)
            return {"node_id": node_id, "kind": "segmentation", "name": found[0].name}
        if not 0 <= part < len(found):
            raise BadRequest(f"part must be 0..{len(found) - 1} for this series")
        loadable = found[part]
        if not loadable.loadable:
            raise InvalidData(f"{loadable.name} cannot be loaded as a volume: {loadable.reason}")
        if loadable.multiframe:
            from .multiframe import load_multiframe

            started = time.perf_counter()
            data = await loop.run_in_executor(None, self.fetcher(source), loadable.instances[0])
            node_id = load_multiframe(self.session, data, loadable.name)
            loaded_s = round(time.perf_counter() - started, 4)
            if show:
                self.session.show_main_volume([node_id])
            self.session.load_count += 1
            timing = {"first_slice_s": loaded_s, "full_volume_s": loaded_s, "slices": loadable.dimensions[2]}
            return {"node_id": node_id, "kind": "volume", "name": loadable.name, "warnings": loadable.warnings,
                    **timing}  # fmt: skip
        found_source = self.source(source)
        stream = None
        if isinstance(found_source, DicomWebSource):
            study = study_uid or str(loadable.instances[0].get("study_uid", ""))
            stream = lambda: found_source.stream(study, series_uid)  # noqa: E731
        node_id, timing = await load_progressively(
            self.session, loadable, self.fetcher(source), stream=stream, workers=2 if stream is None else 4, show=show
        )
        node = self.session.scene.GetNodeByID(node_id)
        node.SetAttribute("DICOM.source", source)
        node.SetAttribute("DICOM.studyInstanceUID", study_uid or str(loadable.instances[0].get("study_uid", "")))
        self.session.load_count += 1
        return {"node_id": node_id, "kind": "volume", "name": loadable.name, **timing.as_dict()}
