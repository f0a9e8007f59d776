"""A Slicer scene inside the kernel: slicer-core's MRML scene and logics (via trame-slicer's ``SlicerApp``),
rendered offscreen, loaded through the same checked loader as ``slicer-cloud serve``."""

from __future__ import annotations

import asyncio
import itertools
import logging
import tempfile
import threading
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from ..core.limits import Limits
from ..core.loader import SceneLoader
from ..core.nrrd_codec import VolumeArray, array_to_volume, volume_to_array
from ..core.scene_nodes import list_nodes
from . import tables
from .segment import module_segmentation

if TYPE_CHECKING:
    import pandas as pd

logger = logging.getLogger(__name__)

CPU_VR_METHOD = "vtkMRMLCPURayCastVolumeRenderingDisplayNode"  # llvmpipe: CPU ray casting is ~10x faster
DEFAULT_PRESET = "MR-Default"
QUIET_S = 0.3


class Scene:
    """A Slicer MRML scene in this kernel, with offscreen views for the widgets.

    >>> scene = Scene()
    >>> vol = scene.load("brain.nii.gz")        # doctest: +SKIP
    >>> SliceView(scene, "axial")               # doctest: +SKIP

    ``data`` is the folder relative paths are resolved against (default: the working directory). Files go through
    the same checks as a server's uploads (header sizes, archive members), so a malformed file is a clear error.
    """

    is_remote = False

    def __init__(self, data: str | Path | None = None, *, limits: Limits | None = None) -> None:
        from trame_slicer.core import SlicerApp

        self.app = SlicerApp()
        self._configure_rendering()
        self.data = Path(data) if data is not None else Path.cwd()
        self._work = tempfile.TemporaryDirectory(prefix="slicer-cloud-notebook-")
        self.loader = SceneLoader(self.app, limits or Limits(), Path(self._work.name))
        self._tags = itertools.count(1)
        self._main_volume_id: str | None = None
        self._active: tuple[object, float] = (None, -1e9)  # the view being interacted with, and when
        # VTK renders (EGL contexts) and MRML belong to the thread that made the scene; JupyterLab sends widget
        # messages on a kernel subshell (another thread), so their work is handed to this thread's event loop.
        self._owner = threading.get_ident()
        try:
            self._loop: asyncio.AbstractEventLoop | None = asyncio.get_running_loop()
        except RuntimeError:
            self._loop = None

    def _configure_rendering(self) -> None:
        from trame_slicer.views import DirectViewFactory

        vr_logic = self.app.volume_rendering._logic  # noqa: SLF001 - trame-slicer keeps the VR logic private
        vr_logic.SetDefaultRenderingMethod(CPU_VR_METHOD)
        vr_logic.ChangeVolumeRenderingMethod(CPU_VR_METHOD)
        # The widgets' views come from this factory (registered so that show_volume and the crosshair reach them);
        # an embedded web viewer puts its own factories first, for its own views.
        self.view_factory = DirectViewFactory(do_render_offscreen=True)
        self.app.view_manager.register_factory(self.view_factory)

    def create_view(self, definition):
        """A new offscreen trame-slicer view on this scene (for the view backends)."""
        from vtkmodules.vtkCommonCore import vtkObject

        # VTK 9.6 warns about the resize observer trame-slicer puts on every view: noise in the cell output
        shown = vtkObject.GetGlobalWarningDisplay()
        vtkObject.GlobalWarningDisplayOff()
        try:
            return self.view_factory.create_view(definition, self.app.scene, self.app.app_logic)
        finally:
            vtkObject.SetGlobalWarningDisplay(shown)

    @property
    def mrml_scene(self):
        """The ``vtkMRMLScene`` (for anything slicer-core can do that this class does not wrap)."""
        return self.app.scene

    def __repr__(self) -> str:
        volumes = [n["name"] for n in list_nodes(self.app.scene) if n["kind"] == "volume"]
        return f"<slicer_cloud.jupyter.Scene: {len(volumes)} volume(s) {volumes[:5]}>"

    def call(self, function: Callable[[], None]) -> None:
        """Run ``function`` on the scene's thread: now if this is it, else soon on its event loop."""
        if self._loop is None or threading.get_ident() == self._owner or self._loop.is_closed():
            function()
        else:
            self._loop.call_soon_threadsafe(function)

    def call_later(self, delay: float, function: Callable[[], None]) -> None:
        """Run ``function`` on the scene's thread after ``delay`` seconds; dropped without an event loop (a plain
        script has no front end to repaint)."""
        loop = self._loop
        if loop is None:
            try:
                loop = asyncio.get_running_loop()
            except RuntimeError:
                return
        if threading.get_ident() == self._owner:
            loop.call_later(delay, function)
        else:
            loop.call_soon_threadsafe(loop.call_later, delay, function)

    def interacting(self, view: object) -> None:
        """A view handles user input now: the other views hold back their repaints (see :meth:`busy_for`)."""
        self._active = (view, time.monotonic())

    def busy_for(self, view: object) -> float:
        """Seconds ``view`` should wait before repainting after a scene change: while another view is being
        interacted with, the others repaint once it has been quiet for ``QUIET_S`` (a slow 3D render must not
        be paid on every slice of a scroll)."""
        active, since = self._active
        if active is view:
            return 0.0
        return max(0.0, QUIET_S - (time.monotonic() - since))

    def new_view_tag(self, kind: str) -> str:
        return f"Notebook{kind}{next(self._tags)}"

    # -- view backends (used by the widgets) ---------------------------------------------------------------------
    def slice_backend(self, orientation: str = "axial"):
        from .local_views import LocalSliceView

        return LocalSliceView(self, orientation)

    def threed_backend(self):
        from .local_views import LocalThreeDView

        return LocalThreeDView(self)

    def lightbox_backend(self, rows: int, columns: int, orientation: str = "axial", step: int | None = None):
        from .local_views import LocalLightbox

        return LocalLightbox(self, rows, columns, orientation, step)

    def link_crosshair(self) -> None:
        """Shift+move in a slice view moves the crosshair; the other slice views jump to it."""
        from slicer import vtkMRMLCrosshairNode

        crosshair = self.app.scene.GetFirstNodeByClass("vtkMRMLCrosshairNode")
        if crosshair is not None:
            crosshair.SetCrosshairMode(vtkMRMLCrosshairNode.ShowBasic)
            crosshair.SetCrosshairBehavior(vtkMRMLCrosshairNode.OffsetJumpSlice)

    # -- data in -----------------------------------------------------------------------------------------------
    def load(self, path: str | Path, *, show: bool = True):
        """Load a volume, segmentation, model, scene (MRB/MRML), DICOM folder/zip; return the main new node.

        The main node is the largest new volume when there is one, otherwise the first new data node.
        """
        file = Path(path).expanduser()
        if not file.is_absolute():
            file = self.data / file
        if not file.exists():
            raise FileNotFoundError(f"{path} does not exist (relative paths start at {self.data})")
        result = self.loader.load(file.resolve())
        nodes = [self.app.scene.GetNodeByID(i) for i in result.node_ids]
        volumes = [self.app.scene.GetNodeByID(i) for i in result.volume_ids]
        volumes = [v for v in volumes if v is not None and v.GetImageData() is not None]
        if volumes:
            main = max(volumes, key=_voxels)
            if show:
                self.show(main)
            return main
        data = [n for n in nodes if n is not None and n.IsA("vtkMRMLDisplayableNode") and not n.GetHideFromEditors()]
        return data[0] if data else None

    def add_array(
        self,
        array: np.ndarray,
        spacing: Sequence[float] = (1.0, 1.0, 1.0),
        origin: Sequence[float] = (0.0, 0.0, 0.0),
        direction: np.ndarray | Sequence[Sequence[float]] | None = None,
        *,
        name: str = "Volume",
        show: bool = True,
    ):
        """Add a volume from a numpy array indexed ``[k, j, i]`` (slowest axis first, as ``slicer.util``).

        ``spacing`` is mm along i, j, k; ``origin`` the RAS position of voxel (0, 0, 0); ``direction`` a 3x3 matrix
        whose columns are the RAS directions of the i, j, k axes (default: identity).
        """
        voxels = np.asarray(array)
        if voxels.ndim != 3 or min(voxels.shape) < 1:
            raise ValueError("array must be 3-dimensional, indexed [k, j, i]")
        if voxels.dtype == np.bool_:
            voxels = voxels.astype(np.uint8)
        if voxels.dtype.kind not in "uif":
            raise ValueError("array must hold numbers (integers or floats)")
        spacing_v = np.asarray(spacing, dtype=float)
        origin_v = np.asarray(origin, dtype=float)
        axes = np.eye(3) if direction is None else np.asarray(direction, dtype=float)
        if spacing_v.shape != (3,) or not np.all(spacing_v > 0) or not np.all(np.isfinite(spacing_v)):
            raise ValueError("spacing must be three positive numbers (mm along i, j, k)")
        if origin_v.shape != (3,) or not np.all(np.isfinite(origin_v)):
            raise ValueError("origin must be three finite numbers (RAS mm)")
        if axes.shape != (3, 3) or abs(np.linalg.det(axes)) < 1e-6:
            raise ValueError("direction must be an invertible 3x3 matrix (columns: RAS directions of i, j, k)")
        matrix = np.eye(4)
        matrix[:3, :3] = axes @ np.diag(spacing_v)
        matrix[:3, 3] = origin_v
        node = array_to_volume(self.app.scene, VolumeArray(voxels, matrix), name=name)
        if show:
            self.show(node)
        return node

    # -- finding nodes ------------------------------------------------------------------------------------------
    def node(self, ref: Any):
        """A node from a node object, an ID (``vtkMRMLScalarVolumeNode1``) or a name."""
        if ref is None:
            raise ValueError("no node given")
        if not isinstance(ref, str):
            return ref
        scene = self.app.scene
        node = scene.GetNodeByID(ref)
        if node is None:
            collection = scene.GetNodesByName(ref)
            node = collection.GetItemAsObject(0) if collection.GetNumberOfItems() else None
        if node is None:
            raise KeyError(f"no node with ID or name {ref!r}; see scene.nodes()")
        return node

    def main_volume_node(self):
        """The volume views show when they open: the last one shown, else the largest."""
        if self._main_volume_id is not None:
            node = self.app.scene.GetNodeByID(self._main_volume_id)
            if node is not None:
                return node
        collection = self.app.scene.GetNodesByClass("vtkMRMLScalarVolumeNode")
        volumes = [collection.GetItemAsObject(i) for i in range(collection.GetNumberOfItems())]
        volumes = [v for v in volumes if v.GetImageData() is not None and not v.IsA("vtkMRMLLabelMapVolumeNode")]
        return max(volumes, key=_voxels) if volumes else None

    def array(self, volume: Any) -> np.ndarray:
        """A copy of a volume's voxels, indexed ``[k, j, i]``."""
        return volume_to_array(self.node(volume)).voxels

    # -- display ------------------------------------------------------------------------------------------------
    def show(self, volume: Any) -> None:
        """Show a volume in the background of every slice view (views opened later start with it too)."""
        node = self.node(volume)
        self._main_volume_id = node.GetID()
        self.app.display_manager.show_volume_in_slice_background(node)
        for view in self.app.view_manager.get_slice_views():
            view.fit_view_to_content()

    def volume_rendering(self, volume: Any, preset: str = DEFAULT_PRESET, *, visible: bool = True):
        """Volume render ``volume`` in the 3D views with a Slicer preset (``scene.presets()`` lists them)."""
        node = self.node(volume)
        vr = self.app.volume_rendering
        if preset not in vr.preset_names():
            raise ValueError(f"unknown preset {preset!r}; choose one of scene.presets()")
        display = vr.create_display_node(node, preset)
        vr.apply_preset(display, preset)
        display.SetVisibility(visible)
        for view in self.app.view_manager.get_threed_views():
            view.fit_view_to_content()
        return display

    def presets(self) -> list[str]:
        """Names of the volume rendering presets."""
        return list(self.app.volume_rendering.preset_names())

    def set_window_level(self, volume: Any, window: float, level: float) -> None:
        display = self.node(volume).GetDisplayNode()
        display.SetAutoWindowLevel(False)
        display.SetWindowLevel(float(window), float(level))

    # -- processing ---------------------------------------------------------------------------------------------
    def segment(
        self,
        volume: Any,
        method: str = "threshold",
        *,
        name: str | None = None,
        progress: bool = True,
        segmentation: Any = None,
        **parameters: Any,
    ):
        """Segment ``volume`` with a processing module run as a child process; a progress bar shows in the cell.
        Returns the segmentation node (shown in slice views and as a surface in 3D).

        ``method`` names a built-in module that turns a volume into a labelmap (another name is a ``ValueError``
        listing them); the other keyword arguments are its parameters, checked against the module's description (a
        wrong name or value is a ``ValueError`` naming it and listing the valid keywords):

        - ``threshold``: ``lower``, ``upper`` (voxels with ``lower <= value <= upper``; either bound may be
          omitted), ``labelValue``.
        - ``otsu_segmentation``: ``numberOfThresholds`` (N gives N segments), ``bins``.

        Passing an existing ``segmentation`` replaces its content (handy for a slider that re-runs the module).
        Interrupting the cell stops the module.
        """
        node = self.node(volume)
        target = self.node(segmentation) if segmentation is not None else None
        return module_segmentation(
            self.app,
            node,
            method,
            parameters=parameters,
            name=name,
            progress=progress,
            segmentation=target,
        )

    # -- tables -------------------------------------------------------------------------------------------------
    def nodes(self) -> pd.DataFrame:
        """Data nodes (volumes, segmentations, models) as a DataFrame."""
        return tables.nodes_frame(self.app.scene)

    def add_points(self, name: str, points: Sequence[Sequence[float]]):
        """A new point list (markups fiducials) with the given RAS positions (mm)."""
        node = self.app.scene.AddNewNodeByClass("vtkMRMLMarkupsFiducialNode", name)
        node.CreateDefaultDisplayNodes()
        for position in points:
            node.AddControlPoint([float(v) for v in position])
        return node

    def markups(self, node: Any = None) -> pd.DataFrame:
        """Control points of one point list, or of all of them, as a DataFrame (label, r, a, s, list)."""
        return tables.markups_frame(self.app.scene, None if node is None else self.node(node))

    def segment_statistics(self, segmentation: Any, volume: Any = None) -> pd.DataFrame:
        """Per segment: voxel count, volume (mm³ and mL) and, with ``volume``, intensity mean/std/min/max."""
        seg = self.node(segmentation)
        return tables.segment_statistics(self.app, seg, None if volume is None else self.node(volume))

    def table(self, node: Any) -> pd.DataFrame:
        """A table node (``vtkMRMLTableNode``) as a DataFrame."""
        return tables.table_frame(self.node(node))

    def close(self) -> None:
        """Remove every node and the temporary files."""
        self.app.scene.Clear(False)
        self._work.cleanup()


def _voxels(volume) -> int:
    x, y, z = volume.GetImageData().GetDimensions()
    return x * y * z
