"""The viewer's DICOM browser: sources -> studies (search) -> series with thumbnails -> open; export a segmentation
as DICOM SEG or the views as a Secondary Capture, and store them on a DICOMweb server (panel extension module).

UI (widgets, signals) and logic (calls into :class:`~slicer_cloud.dicom.service.DicomService`) are separate, as in
the core data browser. Searches and loads run off the UI callback: the panel stays responsive while a series
arrives slice by slice.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from trame.widgets import html
from trame.widgets.vuetify3 import (
    VAlert,
    VBtn,
    VCard,
    VCardText,
    VCheckbox,
    VDivider,
    VList,
    VListItem,
    VProgressLinear,
    VSelect,
    VTextField,
)
from trame_server.utils.typed_state import TypedState
from undo_stack import Signal

from ..errors import SlicerCloudError

if TYPE_CHECKING:
    from trame_server import Server

    from ..core.session import Session

logger = logging.getLogger(__name__)
THUMB = "/api/v1/dicom/{source}/studies/{study}/series/{series}/thumbnail"


@dataclass
class DicomBrowserState:
    sources: list[dict] = field(default_factory=list)
    source: str = "local"
    patient_name: str = ""
    modality: str = ""
    studies: list[dict] = field(default_factory=list)
    study_uid: str = ""
    series: list[dict] = field(default_factory=list)
    segmentations: list[dict] = field(default_factory=list)
    segmentation: str = ""
    destination: str = ""
    destinations: list[str] = field(default_factory=list)
    deidentify: bool = False
    message: str = ""
    message_type: str = "info"
    busy: bool = False


class DicomBrowserUI(VCard):
    """Widgets of the DICOM browser; emits signals, never touches the scene."""

    search = Signal()
    pick_study = Signal(str)
    open_series = Signal(str, int)
    export_seg = Signal()
    export_screenshot = Signal()
    source_changed = Signal()

    def __init__(self, **kwargs):
        super().__init__(variant="flat", **kwargs)
        self.typed_state = TypedState(self.state, DicomBrowserState)
        name = self.typed_state.name
        thumb = (
            "'/api/v1/dicom/' + " + name.source + " + '/studies/' + s.study_uid + '/series/' + s.series_uid"
            " + '/thumbnail'"
        )
        with self, VCardText(classes="pa-2", raw_attrs=['data-testid="dicom-browser"']):
            html.Div("DICOM", classes="text-subtitle-1")
            VSelect(
                label="Source",
                items=(name.sources,),
                item_title="name",
                item_value="name",
                v_model=(name.source,),
                density="compact",
                update_modelValue=self.source_changed,
                raw_attrs=['data-testid="dicom-source"'],
            )
            with html.Div(classes="d-flex ga-1"):
                VTextField(label="Patient name", v_model=(name.patient_name,), density="compact",
                           raw_attrs=['data-testid="dicom-patient"'], keyup_enter=self.search)  # fmt: skip
                VTextField(label="Modality", v_model=(name.modality,), density="compact", max_width=90)
                VBtn(icon="mdi-magnify", size="small", variant="text", click=self.search, title="Search",
                     raw_attrs=['data-testid="dicom-search"'])  # fmt: skip
            VProgressLinear(v_if=(name.busy,), indeterminate=True, classes="mb-1")
            with VList(density="compact", max_height=220, style="overflow-y: auto;",
                       raw_attrs=['data-testid="dicom-studies"']):  # fmt: skip
                VListItem(
                    v_for=f"st in {name.studies}",
                    key="st.study_uid",
                    title=("st.patient_name + ' (' + st.patient_id + ')'",),
                    subtitle=(
                        "(st.study_date || '') + ' ' + (st.modalities || '') + ' ' + (st.study_description || '')",
                    ),  # fmt: skip
                    active=(f"st.study_uid === {name.study_uid}",),
                    click=(self.pick_study, "[st.study_uid]"),
                )
            VDivider(classes="my-1")
            with VList(density="compact", max_height=320, style="overflow-y: auto;",
                       raw_attrs=['data-testid="dicom-series"']):  # fmt: skip
                with VListItem(
                    v_for=f"s in {name.series}",
                    key="s.series_uid",
                    title=("(s.modality || '') + ' ' + (s.series_description || 'series ' + s.series_number)",),
                    subtitle=("(s.instances || '?') + ' images' + (s.reason ? ' - ' + s.reason : '')",),
                ):
                    with html.Template(v_slot_prepend=True):
                        html.Img(src=(thumb,), width=48, height=48, classes="mr-2",
                                 style="object-fit: contain; background: #000;",
                                 raw_attrs=['data-testid="dicom-thumb"', 'loading="lazy"'])  # fmt: skip
                    with html.Template(v_slot_append=True):
                        VBtn(
                            icon="mdi-open-in-app",
                            size="x-small",
                            variant="text",
                            title="Open in the scene",
                            disabled=(f"{name.busy} || s.openable === false",),
                            click=(self.open_series, "[s.series_uid, 0]"),
                            raw_attrs=['data-testid="dicom-open"'],
                        )
            VDivider(classes="my-2")
            html.Div("Export to DICOM", classes="text-subtitle-2")
            VSelect(label="Segmentation", items=(name.segmentations,), item_title="name", item_value="id",
                    v_model=(name.segmentation,), density="compact")  # fmt: skip
            VSelect(label="Store to", items=(name.destinations,), v_model=(name.destination,), density="compact",
                    raw_attrs=['data-testid="dicom-destination"'])  # fmt: skip
            VCheckbox(label="De-identify", v_model=(name.deidentify,), density="compact", hide_details=True)
            with html.Div(classes="d-flex ga-1"):
                VBtn("SEG", prepend_icon="mdi-upload", click=self.export_seg, size="small",
                     disabled=(name.busy,),
                     raw_attrs=['data-testid="dicom-export-seg"'])  # fmt: skip
                VBtn("Screenshot", prepend_icon="mdi-camera", click=self.export_screenshot, size="small",
                     disabled=(name.busy,), raw_attrs=['data-testid="dicom-export-sc"'])  # fmt: skip
            VAlert(v_if=(name.message,), text=(name.message,), type=(name.message_type,), density="compact",
                   classes="mt-2", raw_attrs=['data-testid="dicom-message"'])  # fmt: skip


class DicomBrowserLogic:
    """Binds :class:`DicomBrowserUI` to a session's DICOM service."""

    def __init__(self, server: Server, session: Session) -> None:
        from .service import service_for

        self._server = server
        self._session = session
        self._service = service_for(session)
        self._typed_state = TypedState(server.state, DicomBrowserState)
        self._tasks: set[asyncio.Task] = set()

    @property
    def data(self) -> DicomBrowserState:
        return self._typed_state.data

    def set_ui(self, ui: DicomBrowserUI) -> None:
        ui.search.connect(self.search)
        ui.pick_study.connect(self.pick_study)
        ui.open_series.connect(self.open_series)
        ui.export_seg.connect(self.export_seg)
        ui.export_screenshot.connect(self.export_screenshot)
        ui.source_changed.connect(self.search)
        self.data.sources = self._service.source_names()
        self.data.destinations = list(self._service.sources)
        self.data.destination = self.data.destinations[0] if self.data.destinations else ""
        self.refresh_segmentations()

    # -- helpers -------------------------------------------------------------------------------------------------

    def _report(self, message: str, kind: str = "info") -> None:
        with self._server.state:
            self.data.message = message
            self.data.message_type = kind

    def _spawn(self, coro) -> None:
        task = asyncio.ensure_future(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _guarded(self, what, *, busy: bool = True):
        with self._server.state:
            self.data.busy = busy
        try:
            return await what
        except SlicerCloudError as exc:
            self._report(exc.message, "error")
        except Exception:  # the panel must survive anything a source or a file does
            logger.exception("DICOM browser action failed")
            self._report("the action failed; see the server log", "error")
        finally:
            with self._server.state:
                self.data.busy = False
        return None

    async def _blocking(self, fn, *args, **kwargs) -> Any:
        return await asyncio.get_running_loop().run_in_executor(None, lambda: fn(*args, **kwargs))

    def refresh_segmentations(self) -> None:
        scene = self._session.scene
        nodes = scene.GetNodesByClass("vtkMRMLSegmentationNode")
        nodes.UnRegister(scene)
        items = [nodes.GetItemAsObject(i) for i in range(nodes.GetNumberOfItems())]
        items = [n for n in items if n.GetSegmentation().GetNumberOfSegments() > 0]
        self.data.segmentations = [{"id": n.GetID(), "name": n.GetName()} for n in items]
        if self.data.segmentation not in [s["id"] for s in self.data.segmentations]:
            self.data.segmentation = self.data.segmentations[-1]["id"] if self.data.segmentations else ""

    # -- actions -------------------------------------------------------------------------------------------------

    def search(self, *_: Any) -> None:
        self._spawn(self._guarded(self._search()))

    async def _search(self) -> None:
        studies = await self._blocking(
            self._service.studies, self.data.source, patient_name=self.data.patient_name.strip(),
            modality=self.data.modality.strip(),
        )  # fmt: skip
        with self._server.state:
            self.data.studies = studies[:200]
            self.data.series = []
            self.data.study_uid = ""
            self.data.message = "" if studies else "No studies found"
            self.data.message_type = "info"

    def pick_study(self, study_uid: str) -> None:
        self.data.study_uid = study_uid
        self._spawn(self._guarded(self._pick(study_uid)))

    async def _pick(self, study_uid: str) -> None:
        rows = await self._blocking(self._service.series, self.data.source, study_uid)
        for row in rows:
            parts = row.pop("loadables", None)
            if parts:
                row["openable"] = any(p["loadable"] for p in parts) or row.get("modality") == "SEG"
                row["reason"] = "" if row["openable"] else parts[0]["reason"]
        with self._server.state:
            self.data.series = rows

    def open_series(self, series_uid: str, part: int = 0) -> None:
        self._report("Loading...", "info")
        self._spawn(self._guarded(self._open(series_uid, part)))

    async def _open(self, series_uid: str, part: int) -> None:
        result = await self._service.open_series(self.data.source, self.data.study_uid, series_uid, part)
        self.refresh_segmentations()
        text = f"Opened {result['name']}"
        if result["kind"] == "volume":
            text += f" ({result['slices']} slices, first in {result['first_slice_s']:.2f} s, all in "
            text += f"{result['full_volume_s']:.2f} s)"
            if result["warnings"]:
                text += " - " + "; ".join(result["warnings"])
        self._report(text, "warning" if result.get("warnings") else "success")

    def export_seg(self) -> None:
        self._spawn(self._guarded(self._export("seg")))

    def export_screenshot(self) -> None:
        self._spawn(self._guarded(self._export("sc")))

    async def _export(self, what: str) -> None:
        from .export import deliver, export_seg, screenshot_capture

        self.refresh_segmentations()
        if what == "seg" and not self.data.segmentation:
            self._report("no segmentation in the scene to export", "error")
            return
        if not self.data.destination:
            self._report("no DICOMweb server configured to store to (serve --dicomweb NAME=URL)", "error")
            return
        dataset = export_seg(self._service, self.data.segmentation) if what == "seg" else screenshot_capture(
            self._service
        )  # fmt: skip
        answer = await self._blocking(
            deliver, self._service, dataset, destination=self.data.destination, deidentified=self.data.deidentify
        )
        kind = "DICOM SEG" if what == "seg" else "Secondary Capture"
        self._report(f"Stored {kind} on {answer['destination']} ({len(answer['stored'])} instance)", "success")


def add_panel(viewer) -> None:
    """Extension contract: the DICOM browser as a drawer tool with a toolbar button."""
    logic = DicomBrowserLogic(viewer.server, viewer.session)
    logic.set_ui(viewer.add_tool("DICOM", "mdi-database-search", DicomBrowserUI))
    viewer.dicom_browser = logic
    viewer.session.on_volume_loaded.append(lambda _volume: logic.refresh_segmentations())
