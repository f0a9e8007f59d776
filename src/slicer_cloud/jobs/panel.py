"""The viewer's Modules panel: pick a processing module, fill the form built from its SEM description (as Slicer's
GUI does), run it on the current data, follow its progress, and see the result in the views.

UI (widgets, signals) and logic (job manager and scene access) are separate classes, as in the data browser.
"""

from __future__ import annotations

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
from ..sem.form import form_fields
from .manager import InvalidParameters, JobManager, manager_for
from .store import Job

if TYPE_CHECKING:
    from ..core.session import Session

logger = logging.getLogger(__name__)

NAMESPACE = "modules_panel"
NODE_CLASSES = {
    "volume": ("vtkMRMLScalarVolumeNode",),
    "labelmap": ("vtkMRMLLabelMapVolumeNode", "vtkMRMLSegmentationNode", "vtkMRMLScalarVolumeNode"),
    "model": ("vtkMRMLModelNode",),
}
RECENT_JOBS = 8


@dataclass
class ModulesPanelState:
    modules: list[dict] = field(default_factory=list)
    module: str = ""
    fields: list[dict] = field(default_factory=list)
    values: dict = field(default_factory=dict)
    nodes: dict = field(default_factory=dict)  # kind -> [{id, name}]
    job_id: str = ""
    status: str = ""
    progress: float = 0.0
    stage: str = ""
    message: str = ""
    message_type: str = "info"
    jobs: list[dict] = field(default_factory=list)


class ModulesPanelUI(VCard):
    """Widgets of the Modules panel; emits signals, never touches the scene."""

    module_chosen = Signal(str)
    run_clicked = Signal(dict)
    cancel_clicked = Signal()

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(variant="flat", **kwargs)
        state = TypedState(self.state, ModulesPanelState, namespace=NAMESPACE)
        name = state.name
        running = f"['queued', 'running'].includes({name.status})"
        with self, VCardText(classes="pa-2", raw_attrs=['data-testid="modules-panel"']):
            html.Div("Processing modules", classes="text-subtitle-1")
            VSelect(
                label="Module",
                items=(name.modules,),
                item_title="title",
                item_value="name",
                model_value=(name.module,),
                density="compact",
                raw_attrs=['data-testid="modules-select"'],
                update_modelValue=(self.module_chosen, "[$event]"),
            )
            with html.Div(v_for=f"f in {name.fields}", key="f.name", raw_attrs=[':data-field="f.name"']):
                VTextField(
                    v_if="f.widget === 'number'",
                    label=("f.label",),
                    v_model=(f"{name.values}[f.name]",),
                    type="number",
                    step=("f.step || 'any'",),
                    hint=("f.help",),
                    density="compact",
                )
                VCheckbox(
                    v_if="f.widget === 'checkbox'",
                    label=("f.label",),
                    v_model=(f"{name.values}[f.name]",),
                    density="compact",
                    hide_details=True,
                )
                VSelect(
                    v_if="f.widget === 'select'",
                    label=("f.label",),
                    items=("f.items",),
                    v_model=(f"{name.values}[f.name]",),
                    density="compact",
                )
                VSelect(
                    v_if="f.widget === 'input'",
                    label=("f.label",),
                    items=(f"{name.nodes}[f.kind] || []",),
                    item_title="name",
                    item_value="id",
                    v_model=(f"{name.values}[f.name]",),
                    clearable=("!f.required",),
                    density="compact",
                )
                VTextField(
                    v_if="['text', 'vector', 'point', 'region'].includes(f.widget)",
                    label=("f.label",),
                    v_model=(f"{name.values}[f.name]",),
                    hint=("f.widget === 'text' ? f.help : f.help + ' (comma-separated)'",),
                    density="compact",
                )
                html.Div(
                    v_if="f.widget === 'output'",
                    children=["{{ f.label }}: a new node"],
                    classes="text-caption mb-2",
                )
            VBtn(
                "Run",
                prepend_icon="mdi-play",
                block=True,
                disabled=(f"!{name.module} || {running}",),
                click=(self.run_clicked, f"[{name.values}]"),
                raw_attrs=['data-testid="modules-run"'],
            )
            VProgressLinear(
                v_if=(name.job_id,),
                model_value=(f"{name.progress} * 100",),
                height=18,
                color=(f"{name.status} === 'failed' ? 'error' : 'primary'",),
                classes="mt-2",
                raw_attrs=['data-testid="modules-progress"'],
                children=[f"{{{{ Math.round({name.progress} * 100) }}}} %"],
            )
            html.Div(
                v_if=(name.job_id,),
                children=[f"{{{{ {name.status} }}}} {{{{ {name.stage} }}}}"],
                classes="text-caption",
                raw_attrs=['data-testid="modules-status"'],
            )
            VBtn(
                "Cancel",
                v_if=(running,),
                prepend_icon="mdi-stop",
                size="small",
                variant="text",
                click=self.cancel_clicked,
                raw_attrs=['data-testid="modules-cancel"'],
            )
            VAlert(
                v_if=(name.message,),
                text=(name.message,),
                type=(name.message_type,),
                density="compact",
                classes="mt-2",
                raw_attrs=['data-testid="modules-message"'],
            )
            VDivider(classes="my-2")
            html.Div("Recent jobs", classes="text-subtitle-2")
            with VList(density="compact"):
                VListItem(
                    v_for=f"j in {name.jobs}",
                    key="j.id",
                    title=("j.module",),
                    subtitle=("j.status + (j.error ? ': ' + j.error : '')",),
                )


class ModulesPanelLogic:
    """Binds :class:`ModulesPanelUI` to the session's job manager."""

    def __init__(self, server: Any, session: Session, jobs: JobManager) -> None:
        self._server = server
        self._session = session
        self._jobs = jobs
        self._typed_state = TypedState(server.state, ModulesPanelState, namespace=NAMESPACE)
        self._current_volume: str | None = None
        session.on_volume_loaded.append(self._volume_shown)
        jobs.listeners.append(self._job_changed)

    @property
    def data(self) -> ModulesPanelState:
        return self._typed_state.data

    def set_ui(self, ui: ModulesPanelUI) -> None:
        ui.module_chosen.connect(self.choose)
        ui.run_clicked.connect(self.run)
        ui.cancel_clicked.connect(self.cancel)
        try:
            registry = self._jobs.registry
        except Exception:  # the panel must not take the viewer down
            logger.exception("modules could not be listed")
            return
        self.data.modules = [{"name": n, "title": registry.modules[n].description.title or n} for n in registry.names()]

    def _volume_shown(self, volume: Any) -> None:
        self._current_volume = volume.GetID()

    def _scene_nodes(self) -> dict[str, list[dict]]:
        scene = self._session.scene
        found: dict[str, list[dict]] = {}
        for kind, classes in NODE_CLASSES.items():
            items = []
            for i in range(scene.GetNumberOfNodes()):
                node = scene.GetNthNode(i)
                if any(node.IsA(c) for c in classes) and not node.GetHideFromEditors():
                    items.append({"id": node.GetID(), "name": node.GetName() or node.GetID()})
            found[kind] = items
        return found

    def choose(self, module: str) -> None:
        """Build the form of ``module`` with its defaults; inputs default to the volume on show."""
        try:
            entry = self._jobs.registry.get(module)
        except SlicerCloudError as exc:
            self._report(exc.message, "error")
            return
        fields = form_fields(entry.description.to_json())
        nodes = self._scene_nodes()
        values: dict[str, Any] = {}
        for f in fields:
            default = f.get("default")
            if f["widget"] == "checkbox":
                values[f["name"]] = str(default).lower() == "true"
            elif f["widget"] == "input":
                candidates = [n["id"] for n in nodes.get(f["kind"], [])]
                current = self._current_volume if self._current_volume in candidates else None
                values[f["name"]] = current or (candidates[-1] if candidates and f["required"] else None)
            elif f["widget"] != "output":
                values[f["name"]] = default if default is not None else ""
        self.data.nodes = nodes
        self.data.fields = fields
        self.data.values = values
        self.data.module = module
        self._report("", "info")

    def run(self, values: dict) -> None:
        """Submit the form; problems are listed in the panel."""
        module = self.data.module
        parameters = {}
        widgets = {f["name"]: f["widget"] for f in self.data.fields}
        for name, value in (values or {}).items():
            if name not in widgets or value is None or value == "":
                continue
            parameters[name] = value
        try:
            job = self._jobs.submit(module, parameters)
        except InvalidParameters as exc:
            self._report("Check the parameters: " + "; ".join(exc.problems), "error")
            return
        except SlicerCloudError as exc:
            self._report(exc.message, "error")
            return
        self.data.job_id = job.id
        self._show(job)

    def cancel(self) -> None:
        if self.data.job_id:
            try:
                self._jobs.cancel(self.data.job_id)
            except SlicerCloudError as exc:
                self._report(exc.message, "error")

    def _report(self, message: str, kind: str) -> None:
        self.data.message = message
        self.data.message_type = kind

    def _show(self, job: Job) -> None:
        self.data.status, self.data.progress, self.data.stage = job.status, job.progress, job.stage
        if job.status == "succeeded":
            made = sum(len(ids) for ids in job.outputs.values())
            self._report(f"{job.module} finished: {made} new node(s) in the scene", "success")
            self.data.nodes = self._scene_nodes()
        elif job.status in ("failed", "cancelled"):
            self._report(f"{job.module} {job.status}: {job.error}", "error" if job.status == "failed" else "warning")
        elif not self.data.message_type == "info":
            self._report("", "info")

    def _job_changed(self, job: Job) -> None:
        """Job events arrive on the event-loop thread; push them to every browser."""
        with self._server.state:
            if job.id == self.data.job_id:
                self._show(job)
            if job.done or job.status == "queued":
                self.data.jobs = [
                    {"id": j.id, "module": j.module, "status": j.status, "error": j.error[:120]}
                    for j in self._jobs.list(RECENT_JOBS)
                ]


def add_panel(viewer: Any) -> None:
    """Panel extension contract: a drawer tool with a toolbar button in the viewer."""
    jobs = manager_for(viewer.session)
    logic = ModulesPanelLogic(viewer.server, viewer.session, jobs)
    logic.set_ui(viewer.add_tool("modules", "mdi-cogs", ModulesPanelUI))
    viewer.modules_panel = logic
