"""Views of an in-kernel :class:`~slicer_cloud.jupyter.scene.Scene`: trame-slicer views rendered offscreen.

Each widget owns one view (a trame-slicer ``SliceView`` or ``ThreeDView`` made by the scene's view manager, so
``show_volume`` and the crosshair reach it). Input events go to the view's VTK interactor, as Slicer's own mouse
handling does: wheel scrolls slices, right drag zooms, middle drag pans, left drag rotates the 3D view, shift+move
moves the crosshair. Left drag in a slice view adjusts window/level of the background volume (done here: slicer-core
without Qt has no window/level widget). Everything runs on the kernel's main thread.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import numpy as np

from .events import BUTTONS, KEYSYMS, compress_moves, wheel_steps
from .frames import encode, grab, tile

if TYPE_CHECKING:
    from .scene import Scene

logger = logging.getLogger(__name__)

ORIENTATIONS = {"axial": "Axial", "sagittal": "Sagittal", "coronal": "Coronal"}
COLORS = {"axial": "#F34A33", "sagittal": "#EFD64D", "coronal": "#6DAD4A"}


class _Notify:
    """A trame-slicer render strategy: a view asking to be rendered tells its owner (which coalesces requests)."""

    def __init__(self, owner: LocalView) -> None:
        self.owner = owner
        self.abstract_view = None

    def set_abstract_view(self, view) -> None:
        self.abstract_view = view

    def schedule_render(self) -> None:
        self.owner.changed()

    def did_render(self) -> None:
        pass


class LocalView:
    """Base of the in-kernel view backends used by the widgets."""

    kind = "view"

    def __init__(self, scene: Scene) -> None:
        self.scene = scene
        self.width = self.height = 0
        self.listeners: list[Callable[[], None]] = []  # called (soon, once) after the scene changed this view
        self._dirty = False
        self._pending = False
        self._suspended = 0

    # -- change notification -----------------------------------------------------------------------------------
    def changed(self) -> None:
        """Something this view shows changed: tell the listeners once the current work is done."""
        if self._suspended:
            return
        self._dirty = True
        if self._pending:
            return
        self._pending = True
        self.scene.call_later(0.0, self._notify)

    def _notify(self) -> None:
        wait = self.scene.busy_for(self)
        if wait > 0:  # another view is being interacted with: repaint once it is quiet, not on every event
            self.scene.call_later(wait, self._notify)
            return
        self._pending = False
        if not self._dirty:
            return
        for listener in list(self.listeners):
            try:
                listener()
            except Exception:  # a closed widget must not stop the others
                logger.exception("view listener failed")

    @property
    def dirty(self) -> bool:
        return self._dirty

    # -- interface used by the widgets -------------------------------------------------------------------------
    def resize(self, width: int, height: int) -> None:
        raise NotImplementedError

    def handle(self, events: list[dict[str, Any]]) -> None:
        raise NotImplementedError

    def pixels(self, *, still: bool = True) -> np.ndarray:
        raise NotImplementedError

    def frame(self, *, still: bool) -> tuple[bytes, str]:
        pixels = self.pixels(still=still)
        self._dirty = False
        return encode(pixels, still=still)

    def state(self) -> dict[str, Any]:
        """Properties a widget mirrors as traits (window, level, offset...)."""
        return {}

    def apply(self, name: str, value: Any) -> None:
        """Set a property mirrored by a trait."""


class _InteractorMixin:
    """Forwarding events to a VTK render window interactor."""

    def _forward(self, iren, event: dict[str, Any], height: int) -> None:
        x, y = event["x"], event["y"]
        iren.SetEventInformationFlipY(x, y, int(event["ctrl"]), int(event["shift"]))
        iren.SetAltKey(int(event["alt"]))
        kind = event["t"]
        if kind == "move":
            iren.MouseMoveEvent()
        elif kind == "down":
            getattr(iren, BUTTONS[event["b"]] + "ButtonPressEvent")()
        elif kind == "up":
            getattr(iren, BUTTONS[event["b"]] + "ButtonReleaseEvent")()
        elif kind == "wheel":
            steps = wheel_steps(event["dy"])
            # browser: dy < 0 is "wheel up / away from the user" = VTK forward
            method = iren.MouseWheelForwardEvent if steps < 0 else iren.MouseWheelBackwardEvent
            for _ in range(abs(steps)):
                method()
        elif kind == "key":
            key = event["key"]
            keysym = KEYSYMS.get(key, key if len(key) == 1 else "")
            if not keysym:
                return
            iren.SetKeySym(keysym)
            iren.SetKeyCode(key if len(key) == 1 else "\0")
            iren.KeyPressEvent()
            iren.CharEvent()
            iren.KeyReleaseEvent()


class _WindowLevelDrag:
    """Left drag: horizontal changes the window, vertical the level (Slicer's convention), scaled to the range."""

    def __init__(self, display, x: int, y: int, width: int, height: int) -> None:
        self.display = display
        self.start = (x, y)
        self.window, self.level = display.GetWindow(), display.GetLevel()
        low, high = _scalar_range(display)
        span = max(high - low, 1e-6)
        self.per_pixel = (span / max(width, 1), span / max(height, 1))

    def move(self, x: int, y: int) -> None:
        dx, dy = x - self.start[0], y - self.start[1]
        window = max(1e-6, self.window + dx * self.per_pixel[0])
        level = self.level - dy * self.per_pixel[1]
        self.display.SetAutoWindowLevel(False)
        self.display.SetWindowLevel(window, level)


def _scalar_range(display) -> tuple[float, float]:
    volume = display.GetDisplayableNode()
    image = volume.GetImageData() if volume is not None else None
    if image is None:
        return 0.0, 1.0
    low, high = image.GetScalarRange()
    return float(low), float(high)


class LocalSliceView(LocalView, _InteractorMixin):
    """One slice view (axial, sagittal or coronal) of the scene."""

    kind = "slice"

    def __init__(self, scene: Scene, orientation: str = "axial") -> None:
        super().__init__(scene)
        from trame_slicer.views import ViewLayoutDefinition

        key = orientation.strip().lower()
        if key not in ORIENTATIONS:
            raise ValueError("orientation must be 'axial', 'sagittal' or 'coronal'")
        self.orientation = key
        tag = scene.new_view_tag(ORIENTATIONS[key])
        definition = ViewLayoutDefinition.slice_view(ORIENTATIONS[key], label=tag, color=COLORS[key])
        self.view = scene.create_view(definition)
        self.view.set_scheduled_render(_Notify(self))
        self.view.render_window().SetMultiSamples(0)
        self.logic = self.view._logic  # noqa: SLF001 - trame-slicer keeps the slice logic private
        self._drag: _WindowLevelDrag | None = None
        self.resize(512, 512)
        volume = scene.main_volume_node()
        if volume is not None:
            self.view.set_background_volume_id(volume.GetID())
            self.fit()

    def fit(self) -> None:
        self.logic.FitSliceToBackground()
        self.logic.SnapSliceOffsetToIJK()

    def resize(self, width: int, height: int) -> None:
        if (width, height) == (self.width, self.height):
            return
        self.width, self.height = width, height
        window = self.view.render_window()
        window.SetSize(width, height)
        self.view.interactor().UpdateSize(width, height)
        self.logic.ResizeSliceNode(width, height)

    def background_display(self):
        volume = self.logic.GetBackgroundLayer().GetVolumeNode()
        return volume.GetDisplayNode() if volume is not None else None

    def handle(self, events: list[dict[str, Any]]) -> None:
        self.scene.interacting(self)
        iren = self.view.interactor()
        for event in compress_moves(events):
            if event["t"] == "down" and event["b"] == 0 and not (event["shift"] or event["ctrl"] or event["alt"]):
                display = self.background_display()
                if display is not None:
                    self._drag = _WindowLevelDrag(display, event["x"], event["y"], self.width, self.height)
                    continue
            if self._drag is not None:
                if event["t"] == "move":
                    self._drag.move(event["x"], event["y"])
                    continue
                if event["t"] == "up" and event["b"] == 0:
                    self._drag = None
                    continue
            self._forward(iren, event, self.height)

    def pixels(self, *, still: bool = True) -> np.ndarray:
        return grab(self.view.render_window())

    def state(self) -> dict[str, Any]:
        display = self.background_display()
        state: dict[str, Any] = {"offset": float(self.logic.GetSliceOffset())}
        if display is not None:
            state.update(window=float(display.GetWindow()), level=float(display.GetLevel()))
        return state

    def apply(self, name: str, value: Any) -> None:
        if name == "offset":
            if abs(self.logic.GetSliceOffset() - float(value)) > 1e-9:
                self.logic.SetSliceOffset(float(value))
        elif name in ("window", "level"):
            display = self.background_display()
            if display is None:
                return
            window = float(value) if name == "window" else display.GetWindow()
            level = float(value) if name == "level" else display.GetLevel()
            if (window, level) != (display.GetWindow(), display.GetLevel()):
                display.SetAutoWindowLevel(False)
                display.SetWindowLevel(max(window, 1e-6), level)

    def slice_range(self) -> tuple[float, float, float]:
        """Lowest and highest slice offset of the background volume and the slice spacing (mm)."""
        low, high = self.view.get_slice_range()
        return float(low), float(high), float(self.view.get_slice_step() or 1.0)


class LocalThreeDView(LocalView, _InteractorMixin):
    """The 3D view: left drag rotates, right drag and wheel zoom, middle drag pans (VTK/Slicer camera style)."""

    kind = "3d"

    def __init__(self, scene: Scene) -> None:
        super().__init__(scene)
        from trame_slicer.views import ViewLayoutDefinition, ViewProps, ViewType

        tag = scene.new_view_tag("ThreeD")
        definition = ViewLayoutDefinition(tag, ViewType.THREE_D_VIEW, ViewProps(label="1", background_color=None))
        self.view = scene.create_view(definition)
        self.view.set_scheduled_render(_Notify(self))
        self.view.render_window().SetMultiSamples(0)
        self._interacting = False
        self.resize(512, 512)
        self.view.fit_view_to_content()

    def resize(self, width: int, height: int) -> None:
        if (width, height) == (self.width, self.height):
            return
        self.width, self.height = width, height
        self.view.render_window().SetSize(width, height)
        self.view.interactor().UpdateSize(width, height)

    def handle(self, events: list[dict[str, Any]]) -> None:
        self.scene.interacting(self)
        iren = self.view.interactor()
        for event in compress_moves(events):
            self._forward(iren, event, self.height)

    def pixels(self, *, still: bool = True) -> np.ndarray:
        saved = [] if still else _coarse_volume_rendering(self.view.renderer())
        try:
            return grab(self.view.render_window())
        finally:
            for mapper, distance in saved:
                mapper.SetImageSampleDistance(distance)

    def fit(self) -> None:
        self.view.fit_view_to_content()


def _coarse_volume_rendering(renderer, image_sample_distance: float = 2.0) -> list[tuple[Any, float]]:
    """Ray cast at a coarser image sample distance for a frame in the middle of an interaction."""
    saved = []
    volumes = renderer.GetVolumes()
    volumes.InitTraversal()
    for _ in range(volumes.GetNumberOfItems()):
        volume = volumes.GetNextVolume()
        mapper = volume.GetMapper() if volume is not None else None
        if mapper is not None and hasattr(mapper, "SetImageSampleDistance"):
            saved.append((mapper, mapper.GetImageSampleDistance()))
            mapper.SetImageSampleDistance(max(image_sample_distance, mapper.GetImageSampleDistance()))
    return saved


class LocalLightbox(LocalView):
    """A montage of consecutive slices (rows x columns), rendered cell by cell from one offscreen slice view."""

    kind = "lightbox"

    def __init__(
        self, scene: Scene, rows: int, columns: int, orientation: str = "axial", step: int | None = None
    ) -> None:
        super().__init__(scene)
        if not (1 <= rows <= 16 and 1 <= columns <= 16):
            raise ValueError("rows and columns must be between 1 and 16")
        if step is not None and step < 1:
            raise ValueError("step must be a positive number of slices (or None: spread over the volume)")
        self.rows, self.columns, self.step = rows, columns, step
        self.slice = LocalSliceView(scene, orientation)
        self.slice.listeners.append(self.changed)
        self.first = None  # offset of the first cell; None = centred on the volume
        self.resize(768, 576)

    def resize(self, width: int, height: int) -> None:
        self.width, self.height = width, height
        self.slice.resize(max(16, width // self.columns), max(16, height // self.rows))

    def offsets(self) -> list[float]:
        low, high, spacing = self.slice.slice_range()
        count = self.rows * self.columns
        stride = self.stride()
        if self.first is None:
            self.first = low + stride if self.step is None else (low + high) / 2 - stride * (count - 1) / 2
        return [self.first + i * stride for i in range(count)]

    def stride(self) -> float:
        """Distance between neighbouring cells (mm): ``step`` slices, or the volume spread over the cells."""
        low, high, spacing = self.slice.slice_range()
        if self.step is not None:
            return spacing * self.step
        return max(spacing, (high - low) / (self.rows * self.columns + 1))

    def handle(self, events: list[dict[str, Any]]) -> None:
        self.scene.interacting(self)
        cell_w, cell_h = self.slice.width, self.slice.height
        for event in events:
            if event["t"] == "wheel":
                self.offsets()
                self.first = (self.first or 0.0) + wheel_steps(event["dy"]) * self.stride() * self.columns
                continue
            # window/level and zoom apply to every cell: hand the event to the slice view in cell coordinates
            local = dict(event, x=event["x"] % cell_w, y=event["y"] % cell_h)
            self.slice.handle([local])

    def pixels(self, *, still: bool = True) -> np.ndarray:
        logic = self.slice.logic
        current = logic.GetSliceOffset()
        images = []
        self.slice._suspended += 1  # noqa: SLF001 - moving through the cells is not a change to report
        try:
            for offset in self.offsets():
                logic.SetSliceOffset(offset)
                images.append(self.slice.pixels())
        finally:
            logic.SetSliceOffset(current)
            self.slice._suspended -= 1  # noqa: SLF001
        return tile(images, self.rows, self.columns, (self.slice.width, self.slice.height))

    def state(self) -> dict[str, Any]:
        state = self.slice.state()
        state.pop("offset", None)
        return state

    def apply(self, name: str, value: Any) -> None:
        if name in ("window", "level"):
            self.slice.apply(name, value)
