"""The live view widgets (anywidget): a frame shown in the browser, input events sent back to a view backend.

A backend is a view of an in-kernel :class:`~slicer_cloud.jupyter.scene.Scene` (``local_views``) or of a remote
session (``remote_views``); both offer ``resize``, ``handle(events)``, ``frame(still=...)``, ``pixels()``,
``state()`` / ``apply(name, value)`` and ``listeners`` (called when the scene changed what the view shows).
"""

from __future__ import annotations

import logging
import time
import weakref
from pathlib import Path
from typing import Any

import anywidget
import ipywidgets
import numpy as np
import traitlets

from .events import clean_events
from .frames import tile

logger = logging.getLogger(__name__)

STATIC = Path(__file__).parent / "static"
MIN_SIZE, MAX_SIZE = 64, 4096


class _ViewWidget(anywidget.AnyWidget):
    """Common part of the view widgets; not used directly."""

    _esm = STATIC / "view.js"
    _css = STATIC / "view.css"
    width = traitlets.Int(512, help="width of the view in pixels").tag(sync=True)
    height = traitlets.Int(512, help="height of the view in pixels").tag(sync=True)
    title = traitlets.Unicode("", help="label drawn over the view").tag(sync=True)
    frames_sent = traitlets.Int(0, help="frames sent to the browser (read only)")
    bytes_sent = traitlets.Int(0, help="bytes of frames sent to the browser (read only)")

    _mirrored: tuple[str, ...] = ()

    def __init__(self, backend, *, width: int = 512, height: int = 512, title: str = "", **kwargs: Any) -> None:
        super().__init__(width=_size(width), height=_size(height), title=title, **kwargs)
        self.backend = backend
        self._syncing = False
        backend.resize(self.width, self.height)
        ref = weakref.WeakMethod(self._scene_changed)
        backend.listeners.append(lambda: (ref() or _noop)())
        self.on_msg(self._on_message)
        self.observe(self._on_size, names=["width", "height"])
        if self._mirrored:
            self._pull_state()
            self.observe(self._on_mirrored, names=list(self._mirrored))

    # -- browser -> kernel ----------------------------------------------------------------------------------
    def _on_message(self, _widget, content: dict, _buffers) -> None:
        self.backend.scene.call(lambda: self._handle_message(content))

    def _handle_message(self, content: dict) -> None:
        kind = content.get("type") if isinstance(content, dict) else None
        if kind == "events":
            started = time.perf_counter()
            seq = content.get("seq")
            try:
                self.backend.handle(clean_events(content.get("events"), self.width, self.height))
            except Exception as exc:
                self._send_error(exc, reply=True, seq=seq)
                return
            self._send_frame(still=False, reply=True, seq=seq, started=started)
            self._pull_state()
        elif kind in ("still", "ready"):
            self._send_frame(still=True)

    def _send_frame(self, *, still: bool, reply: bool = False, seq: Any = None, started: float | None = None) -> None:
        started = time.perf_counter() if started is None else started
        try:
            data, mime = self.backend.frame(still=still)
        except Exception as exc:
            self._send_error(exc, reply=reply, seq=seq)
            return
        kernel_ms = round(1000 * (time.perf_counter() - started), 1)  # input handling + render + encoding
        message = {"type": "frame", "mime": mime, "still": still, "reply": reply, "seq": seq, "kernel_ms": kernel_ms}
        self.send(message, buffers=[data])
        self.frames_sent += 1
        self.bytes_sent += len(data)

    def _send_error(self, exc: Exception, *, reply: bool, seq: Any) -> None:
        logger.warning("view failed: %s", exc)
        message = getattr(exc, "message", None) or str(exc) or type(exc).__name__
        self.send({"type": "error", "message": message[:300], "reply": reply, "seq": seq})

    # -- kernel -> browser ----------------------------------------------------------------------------------
    def _scene_changed(self) -> None:
        self._pull_state()
        self._send_frame(still=True)

    def refresh(self) -> None:
        """Send the current picture (the scene changed in a way the view was not told about)."""
        self._pull_state()
        self._send_frame(still=True)

    def _on_size(self, change) -> None:
        def resize() -> None:
            self.backend.resize(_size(self.width), _size(self.height))
            self._send_frame(still=True)

        self.backend.scene.call(resize)

    # -- mirrored properties (traits that ipywidgets controls can link to) ------------------------------------
    def _pull_state(self) -> None:
        if not self._mirrored:
            return
        state = self.backend.state()
        self._syncing = True
        try:
            for name in self._mirrored:
                if name in state and state[name] is not None and getattr(self, name) != state[name]:
                    setattr(self, name, state[name])
        finally:
            self._syncing = False

    def _on_mirrored(self, change) -> None:
        if self._syncing:
            return

        def apply() -> None:
            try:
                self.backend.apply(change["name"], change["new"])
            except Exception as exc:
                self._send_error(exc, reply=False, seq=None)
                return
            if not getattr(self.backend, "notifies", True):
                self._send_frame(still=True)

        self.backend.scene.call(apply)

    # -- static pictures ------------------------------------------------------------------------------------
    def pixels(self) -> np.ndarray:
        """The current picture as an RGB array (rows top to bottom)."""
        return self.backend.pixels(still=True)

    def snapshot(self):
        """A static PNG of the view (an ``IPython.display.Image``: kept in saved notebooks and HTML exports)."""
        from .static import snapshot

        return snapshot(self)


def _noop() -> None:
    pass


def _size(value: int) -> int:
    value = int(value)
    if not MIN_SIZE <= value <= MAX_SIZE:
        raise ValueError(f"view sizes must be between {MIN_SIZE} and {MAX_SIZE} pixels")
    return value


class SliceView(_ViewWidget):
    """A live slice view: wheel/arrow keys scroll, left drag window/level, right drag zoom, middle drag pan,
    shift+move the crosshair.

    ``window``, ``level`` (of the volume shown) and ``offset`` (slice position, mm) are traits: link ipywidgets
    controls to them, e.g. ``ipywidgets.link((slider, "value"), (view, "window"))``.
    """

    window = traitlets.Float(0.0, help="window (contrast) of the background volume")
    level = traitlets.Float(0.0, help="level (brightness) of the background volume")
    offset = traitlets.Float(0.0, help="slice offset in mm along the view normal")
    _mirrored = ("window", "level", "offset")

    def __init__(self, scene, orientation: str = "axial", *, width: int = 512, height: int = 512, **kwargs: Any):
        backend = scene.slice_backend(orientation)
        super().__init__(backend, width=width, height=height, title=kwargs.pop("title", orientation.title()), **kwargs)
        self.scene = scene
        self.orientation = orientation

    def slice_range(self) -> tuple[float, float, float]:
        """(lowest offset, highest offset, slice spacing) of the volume shown, in mm."""
        return self.backend.slice_range()


class View3D(_ViewWidget):
    """A live 3D view: left drag rotates, right drag and wheel zoom, middle drag pans."""

    def __init__(self, scene, *, width: int = 512, height: int = 512, **kwargs: Any) -> None:
        super().__init__(scene.threed_backend(), width=width, height=height, title=kwargs.pop("title", "3D"), **kwargs)
        self.scene = scene

    def fit(self) -> None:
        """Reset the camera to show everything."""
        self.backend.fit()
        self.refresh()


class Lightbox(_ViewWidget):
    """A montage of slices, ``rows`` x ``columns``, ``step`` slices apart (default: spread over the volume); the
    wheel pages through the volume, a left drag sets window/level."""

    window = traitlets.Float(0.0, help="window (contrast) of the background volume")
    level = traitlets.Float(0.0, help="level (brightness) of the background volume")
    _mirrored = ("window", "level")

    def __init__(
        self,
        scene,
        rows: int = 3,
        columns: int = 4,
        *,
        orientation: str = "axial",
        step: int | None = None,
        width: int = 768,
        height: int = 576,
        **kwargs: Any,
    ) -> None:
        backend = scene.lightbox_backend(rows, columns, orientation, step)
        super().__init__(backend, width=width, height=height, **kwargs)
        self.scene = scene


LAYOUTS: dict[str, list[list[str]]] = {
    "quad": [["axial", "3d"], ["sagittal", "coronal"]],
    "conventional": [["3d", "3d", "3d"], ["axial", "sagittal", "coronal"]],
    "three-slices": [["axial", "sagittal", "coronal"]],
    "side-by-side": [["axial", "3d"]],
    "axial": [["axial"]],
    "sagittal": [["sagittal"]],
    "coronal": [["coronal"]],
    "3d": [["3d"]],
}


class Layout(ipywidgets.GridBox):
    """Several views in a grid (``"quad"``: axial and 3D over sagittal and coronal), with a linked crosshair:
    shift+move in one slice view moves the crosshair and the other slice views jump to it."""

    def __init__(self, scene, layout: str = "quad", *, cell_width: int = 360, cell_height: int = 360) -> None:
        if layout not in LAYOUTS:
            raise ValueError(f"unknown layout {layout!r}; choose one of {', '.join(LAYOUTS)}")
        rows = LAYOUTS[layout]
        columns = len(rows[0])
        names: list[str] = []
        for row in rows:
            for name in row:
                if name not in names:
                    names.append(name)
        views: dict[str, _ViewWidget] = {}
        for name in names:
            if name == "3d":
                wide = rows[0].count("3d") if rows[0][0] == "3d" else 1
                views[name] = View3D(scene, width=cell_width * wide, height=cell_height)
            else:
                views[name] = SliceView(scene, name, width=cell_width, height=cell_height)
        scene.link_crosshair()
        areas = " ".join('"' + " ".join(row) + '"' for row in rows).replace("3d", "v3d")
        for name, view in views.items():
            view.layout.grid_area = "v3d" if name == "3d" else name
        super().__init__(
            children=list(views.values()),
            layout=ipywidgets.Layout(
                grid_template_columns=f"repeat({columns}, {cell_width}px)",
                grid_template_areas=areas,
                grid_gap="2px",
                width="max-content",
            ),
        )
        self.scene = scene
        self.name = layout
        self.rows = rows
        self.views = views
        self.cell = (cell_width, cell_height)

    def pixels(self) -> np.ndarray:
        """The whole layout as one RGB array."""
        cell_w, cell_h = self.cell
        columns = len(self.rows[0])
        canvas = np.zeros((len(self.rows) * cell_h, columns * cell_w, 3), dtype=np.uint8)
        placed: set[str] = set()
        for r, row in enumerate(self.rows):
            for c, name in enumerate(row):
                if name in placed:
                    continue
                placed.add(name)
                image = self.views[name].pixels()
                h, w = image.shape[:2]
                canvas[r * cell_h : r * cell_h + h, c * cell_w : c * cell_w + w] = image[: canvas.shape[0] - r * cell_h]
        return canvas

    def snapshot(self):
        """A static PNG of the layout (kept in saved notebooks and HTML exports)."""
        from .static import snapshot

        return snapshot(self)


__all__ = ["LAYOUTS", "Layout", "Lightbox", "SliceView", "View3D", "tile"]
