"""The web viewer: trame-slicer's medical viewer components composed with our panels, on a session's scene."""

from __future__ import annotations

import logging
import time
from pathlib import Path
from tempfile import TemporaryDirectory
from typing import TYPE_CHECKING, Any

from trame_server.utils.typed_state import TypedState
from trame_slicer import module as trame_slicer_module
from trame_slicer.app.logic import MedicalViewerLogic
from trame_slicer.app.ui import MedicalViewerUI, VolumePropertyState
from trame_slicer.utils import write_client_files_to_dir

from .. import extensions
from ..core.layouts import layout_state
from ..errors import SlicerCloudError
from .data_browser import DataBrowserLogic, DataBrowserUI
from .rendering import install_rendering

if TYPE_CHECKING:
    from trame_server import Server

    from ..core.session import Session

logger = logging.getLogger(__name__)

STATIC_DIR = Path(__file__).parent / "static"
STATIC_MODULE = {"serve": {"__slicer_cloud": str(STATIC_DIR)}, "scripts": ["__slicer_cloud/slicer_cloud.js"]}
UPLOADS_DIR = "uploads"


class ViewerApp:
    """Wires scene -> logic -> UI. trame-slicer provides views, layouts, volume rendering, segment editor, markups."""

    def __init__(self, server: Server, session: Session, *, rca_encoder: str = "turbo-jpeg") -> None:
        self.server = server
        self.session = session
        server.enable_module(trame_slicer_module)
        server.enable_module(STATIC_MODULE)

        self.logic = MedicalViewerLogic(server, session.app, rca_encoder=rca_encoder)
        bind_segment_editor_pipeline_views(session.app)
        # Layout changes asked through the REST API (PUT /slicer/gui) switch the browsers' layout too.
        layout_state(session).listeners.append(self.logic.layout_manager.set_layout)
        install_rendering(self.logic, server, session.settings)
        self.ui = MedicalViewerUI(server, self.logic.layout_manager)
        # trame-slicer's "open files" buttons go through our checked loader into DATA/uploads/.
        self.logic._load_files_logic._load_volume_files = self._load_client_files  # noqa: SLF001
        self.logic.set_ui(self.ui)
        # The 3D preset the volume-property panel applies to every volume shown: ours, not trame-slicer's CT default.
        TypedState(server.state, VolumePropertyState).data.preset_3d_name = session.settings.vr_preset
        session.on_volume_loaded.append(self.logic._load_files_logic.volume_loaded)  # noqa: SLF001

        self.data_browser = DataBrowserLogic(server, session)
        self.data_browser.set_ui(self.add_tool("server data", "mdi-folder-open", DataBrowserUI))
        for add_panel in extensions.panel_adders():
            add_panel(self)

        self.ui.layout.title.set_text("slicer-cloud")
        server.state["trame__title"] = "slicer-cloud"
        server.state["trame__favicon"] = "__slicer_cloud/favicon.svg"
        self.ui.layout.flush_content()

    def add_tool(self, name: str, icon: str, ui_type: type) -> Any:
        """Add a panel to the drawer with its toolbar button (trame-slicer's tool registry); return the panel UI."""
        with self.ui.layout.drawer:
            self.ui._register_tool_ui(ui_type)  # noqa: SLF001
        with self.ui.layout.toolbar:
            self.ui._create_tool_button(name=name, icon=icon, tool_ui_type=ui_type)  # noqa: SLF001
        return self.ui.tool_registry[ui_type]

    def _load_client_files(self, files: list[dict]) -> None:
        """Files sent by the browser's open buttons: store them in DATA/uploads/, then load them with checks."""
        if not files:
            return
        root = self.session.data_root
        with TemporaryDirectory(dir=self.session.work_dir) as tmp:
            written = [Path(p) for p in write_client_files_to_dir(files, tmp)]
            total = sum(p.stat().st_size for p in written)
            if total > self.session.limits.max_upload_bytes:
                self.data_browser._report("upload larger than max_upload_bytes", "error")  # noqa: SLF001
                return
            folder = UPLOADS_DIR if len(written) == 1 else f"{UPLOADS_DIR}/series-{time.strftime('%Y%m%d-%H%M%S')}"
            stored = []
            for path in written:
                try:
                    dest = root.new_file_path(f"{folder}/{path.name}", overwrite=True)
                except SlicerCloudError as exc:
                    self.data_browser._report(exc.message, "error")  # noqa: SLF001
                    return
                path.replace(dest)
                stored.append(dest)
        target = stored[0].parent if len(stored) > 1 else stored[0]
        try:
            self.session.load(target)
        except SlicerCloudError as exc:
            self.data_browser._report(exc.message, "error")  # noqa: SLF001
        self.data_browser.refresh()


def bind_segment_editor_pipeline_views(slicer_app) -> None:
    """Give segment-editor effect pipelines their view once it exists (work-around for trame-slicer 2.0.0).

    trame-slicer builds the effect pipelines of a view while that view is still being constructed, before its
    factory has stored it, so every pipeline gets ``SetView(None)``: the paint/erase widgets are never created and
    choosing Paint fails. We bind them now for the views built so far, and after every later view creation.
    """
    editor = slicer_app.segmentation_editor
    view_manager = slicer_app.view_manager

    def bind() -> None:
        for effect in editor._effects.values():  # noqa: SLF001
            for ref in effect._pipelines:  # noqa: SLF001
                pipeline = ref()
                if pipeline is None or pipeline._view is not None:  # noqa: SLF001
                    continue
                view_node = pipeline.GetViewNode()
                view = view_manager.get_view(view_node) if view_node is not None else None
                if view is not None:
                    pipeline.SetView(view)

    original_create_view = view_manager.create_view

    def create_view(view_definition):
        view = original_create_view(view_definition)
        bind()
        return view

    view_manager.create_view = create_view
    bind()
