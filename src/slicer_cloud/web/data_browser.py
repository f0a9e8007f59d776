"""Server data browser: list, open, save, upload into and download from the data root, in the viewer's drawer.

UI (widgets, no scene access) and logic (handlers calling the session) are separate classes, as trame-slicer does.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from trame.widgets import html
from trame.widgets.vuetify3 import (
    VAlert,
    VBtn,
    VCard,
    VCardText,
    VDivider,
    VFileInput,
    VIcon,
    VList,
    VListItem,
    VSelect,
    VTextField,
)
from trame_server.utils.typed_state import TypedState
from undo_stack import Signal

from ..core.scene_nodes import list_nodes
from ..errors import SlicerCloudError

if TYPE_CHECKING:
    from trame_server import Server

    from ..core.session import Session

logger = logging.getLogger(__name__)

SCENE_CHOICE = "__scene__"


@dataclass
class DataBrowserState:
    cwd: str = ""
    entries: list[dict] = field(default_factory=list)
    nodes: list[dict] = field(default_factory=list)
    save_node: str = SCENE_CHOICE
    save_name: str = "scene.mrb"
    message: str = ""
    message_type: str = "info"
    busy: bool = False


class DataBrowserUI(VCard):
    """Widgets of the data browser; emits signals, never touches the scene."""

    enter = Signal(str)
    open_file = Signal(str)
    save_clicked = Signal()
    refresh = Signal()
    uploaded = Signal(int, str)

    def __init__(self, **kwargs):
        super().__init__(variant="flat", **kwargs)
        self.typed_state = TypedState(self.state, DataBrowserState)
        name = self.typed_state.name
        uploaded = self.server.trigger_name(self._on_uploaded)
        with self, VCardText(classes="pa-2"):
            html.Div("Server data", classes="text-subtitle-1")
            with html.Div(classes="d-flex align-center"):
                VBtn(
                    icon="mdi-arrow-up",
                    size="small",
                    variant="text",
                    disabled=(f"!{name.cwd}",),
                    click=(self.enter, f"[{name.cwd}.split('/').slice(0, -1).join('/')]"),
                    title="Parent folder",
                )
                html.Span(
                    f"/{{{{ {name.cwd} }}}}",
                    classes="text-caption text-truncate flex-grow-1",
                    raw_attrs=['data-testid="db-cwd"'],
                )
                VBtn(icon="mdi-refresh", size="small", variant="text", click=self.refresh, title="Refresh")
            with VList(
                density="compact", max_height=320, style="overflow-y: auto;", raw_attrs=['data-testid="db-list"']
            ):
                with VListItem(
                    v_for=f"entry in {name.entries}",
                    key="entry.path",
                    title=("entry.name",),
                    subtitle=("entry.kind === 'dir' ? 'folder' : (entry.size / 1e6).toFixed(2) + ' MB'",),
                    click=(self.enter, "[entry.path]"),
                ):
                    with html.Template(v_slot_prepend=True):
                        VIcon(("entry.kind === 'dir' ? 'mdi-folder' : 'mdi-file'",))
                    with html.Template(v_slot_append=True):
                        VBtn(
                            v_if="entry.kind === 'file'",
                            icon="mdi-open-in-app",
                            size="x-small",
                            variant="text",
                            title="Open in the scene",
                            click=(self.open_file, "[entry.path]"),
                            raw_attrs=['data-testid="db-open"'],
                        )
                        VBtn(
                            v_if="entry.kind === 'file'",
                            icon="mdi-download",
                            size="x-small",
                            variant="text",
                            title="Download",
                            href=("window.slicerCloud.downloadUrl(entry.path)",),
                            raw_attrs=[':download="entry.name"', 'target="_blank"'],
                            click_stop=True,
                        )
            VFileInput(
                label="Upload into this folder",
                multiple=True,
                density="compact",
                prepend_icon="mdi-upload",
                disabled=(name.busy,),
                raw_attrs=['data-testid="db-upload"'],
                change=(
                    f"{name.busy} = true; window.slicerCloud.upload($event.target.files, {name.cwd})"
                    f".then(n => trigger('{uploaded}', [n, ''])).catch(e => trigger('{uploaded}', [0, e.message]))"
                ),
            )
            VDivider(classes="my-2")
            html.Div("Save into this folder", classes="text-subtitle-2")
            VSelect(
                label="What",
                items=(name.nodes,),
                item_title="name",
                item_value="id",
                v_model=(name.save_node,),
                density="compact",
            )
            VTextField(
                label="File name",
                v_model=(name.save_name,),
                density="compact",
                raw_attrs=['data-testid="db-save-name"'],
            )
            VBtn(
                "Save",
                prepend_icon="mdi-content-save",
                click=self.save_clicked,
                block=True,
                raw_attrs=['data-testid="db-save"'],
            )
            VAlert(
                v_if=(name.message,),
                text=(name.message,),
                type=(name.message_type,),
                density="compact",
                classes="mt-2",
                raw_attrs=['data-testid="db-message"'],
            )

    def _on_uploaded(self, count: int, error: str) -> None:
        self.uploaded(count, error)


class DataBrowserLogic:
    """Binds :class:`DataBrowserUI` to a :class:`Session`'s data root and loader."""

    def __init__(self, server: Server, session: Session) -> None:
        self._server = server
        self._session = session
        self._typed_state = TypedState(server.state, DataBrowserState)

    @property
    def data(self) -> DataBrowserState:
        return self._typed_state.data

    def set_ui(self, ui: DataBrowserUI) -> None:
        ui.enter.connect(self.enter)
        ui.open_file.connect(self.open_file)
        ui.save_clicked.connect(self.save)
        ui.refresh.connect(self.refresh)
        ui.uploaded.connect(self.on_uploaded)
        self.refresh()

    def _report(self, message: str, kind: str = "info") -> None:
        self.data.message = message
        self.data.message_type = kind

    def refresh(self) -> None:
        root = self._session.data_root
        try:
            self.data.entries = root.listdir(self.data.cwd)
        except SlicerCloudError as exc:
            self.data.cwd = ""
            self.data.entries = root.listdir("")
            self._report(exc.message, "error")
        scene_choice = {"id": SCENE_CHOICE, "name": "Whole scene (.mrb)"}
        self.data.nodes = [scene_choice, *list_nodes(self._session.scene)]

    def enter(self, rel: str) -> None:
        try:
            target = self._session.data_root.resolve(rel, must_exist=True)
        except SlicerCloudError as exc:
            self._report(exc.message, "error")
            return
        if target.is_dir():
            self.data.cwd = self._session.data_root.relative(target)
            self.refresh()

    def open_file(self, rel: str) -> None:
        try:
            path = self._session.data_root.resolve(rel, must_exist=True)
            result = self._session.load(path)
        except SlicerCloudError as exc:
            self._report(exc.message, "error")
            return
        self._report(f"Opened {path.name} ({len(result.node_ids)} nodes)", "success")
        self.refresh()

    def save(self) -> None:
        name = self.data.save_name.strip()
        rel = f"{self.data.cwd}/{name}" if self.data.cwd else name
        try:
            dest = self._session.data_root.new_file_path(rel, overwrite=True)
            if self.data.save_node == SCENE_CHOICE:
                self._session.loader.save_scene(dest)
            else:
                self._session.loader.save_node(self.data.save_node, dest)
        except SlicerCloudError as exc:
            self._report(exc.message, "error")
            return
        self._report(f"Saved {self._session.data_root.relative(dest)}", "success")
        self.refresh()

    def on_uploaded(self, count: int, error: str) -> None:
        self.data.busy = False
        if error:
            self._report(str(error)[:300], "error")
        else:
            self._report(f"Uploaded {count} file(s)", "success")
        self.refresh()
