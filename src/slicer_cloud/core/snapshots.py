"""Rendered stills of the session scene for REST clients, from offscreen views of our own.

The views (three slice views and one 3D view) are created lazily on the session scene and reused; the web viewer's
views are never touched, so a script asking for a sagittal slice does not turn a browser's axial view. Our slice
views start from the background volume the viewer shows in the same-colour view. Display nodes restricted to the
viewer's views are extended to ours (once), so what a browser sees is what a snapshot shows.
"""

from __future__ import annotations

import io
import struct
import zlib
from typing import TYPE_CHECKING, Literal

import numpy as np

from ..errors import BadRequest, NotFound

if TYPE_CHECKING:
    from trame_slicer.core import SlicerApp
    from trame_slicer.views import SliceView, ThreeDView

SliceName = Literal["red", "yellow", "green"]
SLICE_VIEWS: dict[str, tuple[str, str]] = {  # name -> (viewer layout name, default orientation)
    "red": ("Red", "Axial"),
    "yellow": ("Yellow", "Sagittal"),
    "green": ("Green", "Coronal"),
}
ORIENTATIONS = {"axial": "Axial", "sagittal": "Sagittal", "coronal": "Coronal"}
AXES = {"r": "Right", "l": "Left", "s": "Superior", "i": "Inferior", "a": "Anterior", "p": "Posterior"}
MIN_SIZE, MAX_SIZE = 16, 4096
DEFAULT_SIZE = 512
VIEW_PREFIX = "SlicerCloudREST"


def check_size(width: int, height: int) -> tuple[int, int]:
    if not (MIN_SIZE <= width <= MAX_SIZE and MIN_SIZE <= height <= MAX_SIZE):
        raise BadRequest(f"size must be between {MIN_SIZE} and {MAX_SIZE} pixels")
    return width, height


class Frame:
    """A rendered still (RGB, rows top to bottom) and its encodings, made once per format and quality."""

    __slots__ = ("_encoded", "pixels")

    def __init__(self, pixels: np.ndarray) -> None:
        self.pixels = pixels
        self._encoded: dict[tuple[str, int], tuple[bytes, str]] = {}

    def encoded(self, fmt: str, quality: int, encoder=None) -> tuple[bytes, str]:
        key = (fmt.strip().lower(), int(quality))
        answer = self._encoded.get(key)
        if answer is None:
            answer = (encoder or encode_image)(self.pixels, key[0], quality=key[1])
            self._encoded[key] = answer
        return answer


class Snapshots:
    """Offscreen slice and 3D views of one session; call from the event-loop thread only.

    The last frame of each slice view is kept with a key made of everything that can change its pixels: a counter
    bumped by every render request of the view's displayable managers and every ModifiedEvent of its slice logic,
    slice node and composite node; their MTimes; the output size; and ``fingerprint()`` (the session's data change
    stamp: data nodes, their data and display nodes). A request whose key matches serves the kept frame (and its
    kept encodings) without rendering.
    """

    def __init__(self, slicer_app: SlicerApp, fingerprint=None) -> None:
        self._app = slicer_app
        self._fingerprint = fingerprint or (lambda: None)
        self._slices: dict[str, SliceView] = {}
        self._threed: ThreeDView | None = None
        self._slice_volume: dict[str, str | None] = {}
        self._fitted_bounds: tuple[float, ...] | None = None
        self._changes: dict[str, list[int]] = {}
        self._frames: dict[str, tuple[tuple, Frame]] = {}
        self.renders = 0  # slice renders done (for tests and benchmarks)

    # -- slice views -------------------------------------------------------------------------------------------

    def _slice_view(self, name: str) -> SliceView:
        if name not in SLICE_VIEWS:
            raise BadRequest("view must be red, yellow or green")
        view = self._slices.get(name)
        if view is None:
            from trame_slicer.views import NoScheduleRendering, SliceView

            strategy = NoScheduleRendering()
            view = SliceView(
                self._app.scene,
                self._app.app_logic,
                VIEW_PREFIX + SLICE_VIEWS[name][0],
                scheduled_render_strategy=strategy,
            )
            view.get_view_node().SetOrientation(SLICE_VIEWS[name][1])
            _no_msaa(view)
            self._watch(name, view, strategy)
            self._slices[name] = view
        return view

    def _watch(self, name: str, view: SliceView, strategy) -> None:
        """Count everything that asks the view to render again or changes what it slices."""
        from vtkmodules.vtkCommonCore import vtkCommand

        counter = self._changes.setdefault(name, [0])

        def bump(*_) -> None:
            counter[0] += 1

        strategy.schedule_render = bump  # the displayable managers' render requests
        logic = view._logic  # noqa: SLF001
        view._snapshot_observers = [  # noqa: SLF001 - keep the observed objects' observers with the view
            (obj, obj.AddObserver(vtkCommand.ModifiedEvent, bump))
            for obj in (logic, logic.GetSliceNode(), logic.GetSliceCompositeNode(), view.get_view_node())
            if obj is not None
        ]

    def _frame_key(self, name: str, view: SliceView) -> tuple:
        logic = view._logic  # noqa: SLF001
        return (
            self._changes[name][0],
            tuple(view.render_window().GetSize()),
            logic.GetMTime(),
            logic.GetSliceNode().GetMTime(),
            logic.GetSliceCompositeNode().GetMTime(),
            _layers_stamp(logic),
            self._fingerprint(),
        )

    def _viewer_layers(self, name: str) -> tuple[str | None, str | None, str | None]:
        """Background, foreground and label volume IDs the web viewer shows in the same-colour view."""
        scene = self._app.scene
        composites = scene.GetNodesByClass("vtkMRMLSliceCompositeNode")
        for i in range(composites.GetNumberOfItems()):
            node = composites.GetItemAsObject(i)
            if node.GetLayoutName() == SLICE_VIEWS[name][0] and node.GetBackgroundVolumeID():
                return node.GetBackgroundVolumeID(), node.GetForegroundVolumeID(), node.GetLabelVolumeID()
        return _largest_volume_id(scene), None, None

    def _sync_layers(self, name: str, view: SliceView) -> bool:
        """Show what the viewer shows; return True when the background volume changed."""
        background, foreground, label = self._viewer_layers(name)
        composite = view._logic.GetSliceCompositeNode()  # noqa: SLF001 - trame-slicer keeps it private
        composite.SetForegroundVolumeID(foreground)
        composite.SetLabelVolumeID(label)
        if self._slice_volume.get(name) == background and composite.GetBackgroundVolumeID() == background:
            return False
        composite.SetBackgroundVolumeID(background)
        self._slice_volume[name] = background
        return True

    def slice_image(
        self,
        name: str = "red",
        *,
        orientation: str | None = None,
        scroll_to: float | None = None,
        offset: float | None = None,
        size: tuple[int, int] = (DEFAULT_SIZE, DEFAULT_SIZE),
    ) -> np.ndarray:
        """Render a slice view (RGB, rows top to bottom) after applying the original's parameters."""
        frame = self.slice_frame(name, orientation=orientation, scroll_to=scroll_to, offset=offset, size=size)
        return frame.pixels

    def slice_frame(
        self,
        name: str = "red",
        *,
        orientation: str | None = None,
        scroll_to: float | None = None,
        offset: float | None = None,
        size: tuple[int, int] = (DEFAULT_SIZE, DEFAULT_SIZE),
    ) -> Frame:
        """The slice view's frame after applying the original's parameters; rendered only if something changed."""
        view = self._slice_view(name)
        logic = view._logic  # noqa: SLF001
        self._resize(view, size)
        refit = self._sync_layers(name, view)
        if orientation is not None:
            wanted = ORIENTATIONS.get(orientation.strip().lower())
            if wanted is None:
                raise BadRequest("orientation must be axial, sagittal or coronal")
            if wanted != view.get_view_node().GetOrientation():
                refit = True
                view.get_view_node().SetOrientation(wanted)
        if refit:
            logic.FitSliceToBackground()
            logic.SnapSliceOffsetToIJK()
        if scroll_to is not None:
            self._scroll(logic, scroll_to)
        if offset is not None:
            _set_offset(logic, float(offset))
        self._show_everything_in(view)
        key = self._frame_key(name, view)
        kept = self._frames.get(name)
        if kept is not None and kept[0] == key:
            return kept[1]
        frame = Frame(_grab(view))
        self.renders += 1
        # rendering may touch the nodes (MTimes) or fire requests: key the frame with the state after the render
        self._frames[name] = (self._frame_key(name, view), frame)
        return frame

    @staticmethod
    def _scroll(logic, fraction: float) -> None:
        volume = logic.GetBackgroundLayer().GetVolumeNode()
        if volume is None:
            raise NotFound("scrollTo needs a volume in the view; load one first")
        bounds = [0.0] * 6
        logic.GetVolumeSliceBounds(volume, bounds)
        _set_offset(logic, bounds[4] + float(fraction) * (bounds[5] - bounds[4]))

    # -- 3D view -------------------------------------------------------------------------------------------------

    def _threed_view(self) -> ThreeDView:
        if self._threed is None:
            from trame_slicer.views import NoScheduleRendering, ThreeDView

            self._threed = ThreeDView(
                self._app.scene,
                self._app.app_logic,
                VIEW_PREFIX + "ThreeD",
                scheduled_render_strategy=NoScheduleRendering(),
            )
            _no_msaa(self._threed)
        return self._threed

    def _prepare_threed(self, size: tuple[int, int], look_from_axis: str | None) -> ThreeDView:
        view = self._threed_view()
        self._resize(view, size)
        self._show_everything_in(view)
        bounds = [0.0] * 6
        view.renderer().ComputeVisiblePropBounds(bounds)
        if tuple(bounds) != self._fitted_bounds:
            view.fit_view_to_content()
            self._fitted_bounds = tuple(bounds)
        if look_from_axis:
            axis = AXES.get(look_from_axis.strip()[:1].lower())
            if axis is None:
                raise BadRequest("lookFromAxis must be one of r, l, a, p, s, i")
            from slicer import vtkMRMLCameraNode

            camera = view.get_camera_node()
            if camera is not None:
                camera.RotateTo(getattr(vtkMRMLCameraNode, axis))
                view.reset_camera()
        return view

    def threed_image(self, *, look_from_axis: str | None = None, size=(DEFAULT_SIZE, DEFAULT_SIZE)) -> np.ndarray:
        """Render the 3D view (RGB, rows top to bottom)."""
        return _grab(self._prepare_threed(size, look_from_axis))

    def gltf(self, *, box_visible: bool = False) -> str:
        """The 3D scene as glTF (inline data), exported from the offscreen 3D view's render window."""
        from vtkmodules.vtkIOExport import vtkGLTFExporter

        view = self._prepare_threed((DEFAULT_SIZE, DEFAULT_SIZE), None)
        node = view.get_view_node()
        was_visible = node.GetBoxVisible()
        node.SetBoxVisible(box_visible)
        try:
            view.render()
            exporter = vtkGLTFExporter()
            exporter.SetInlineData(True)
            exporter.SetSaveNormal(True)
            exporter.SetRenderWindow(view.render_window())
            return exporter.WriteToString()
        finally:
            node.SetBoxVisible(was_visible)

    # -- composition -------------------------------------------------------------------------------------------

    def screenshot(self, rows: list[list[str]], size: tuple[int, int]) -> np.ndarray:
        """The views arranged in rows (each row split evenly), like the layout of a desktop Slicer window."""
        width, height = size
        canvas = np.zeros((height, width, 3), dtype=np.uint8)
        edges_y = np.linspace(0, height, len(rows) + 1).astype(int)
        for r, row in enumerate(rows):
            edges_x = np.linspace(0, width, len(row) + 1).astype(int)
            for c, name in enumerate(row):
                cell = (max(MIN_SIZE, edges_x[c + 1] - edges_x[c]), max(MIN_SIZE, edges_y[r + 1] - edges_y[r]))
                image = self.threed_image(size=cell) if name == "3d" else self.slice_image(name, size=cell)
                h, w = edges_y[r + 1] - edges_y[r], edges_x[c + 1] - edges_x[c]
                canvas[edges_y[r] : edges_y[r] + h, edges_x[c] : edges_x[c] + w] = image[:h, :w]
        return canvas

    # -- helpers -------------------------------------------------------------------------------------------------

    @staticmethod
    def _resize(view, size: tuple[int, int]) -> None:
        width, height = check_size(*size)
        if tuple(view.render_window().GetSize()) != (width, height):
            view.render_window().SetSize(width, height)
            view.update_size(width, height)
        logic = getattr(view, "_logic", None)
        if hasattr(logic, "ResizeSliceNode") and tuple(logic.GetSliceNode().GetDimensions()[:2]) != (width, height):
            # trame-slicer resizes the slice node on the interactor's WindowResizeEvent, which VTK 9.6 no longer
            # sends: without this the slice is resliced at 256 x 256 and magnified to the requested size
            logic.ResizeSliceNode(width, height)

    def _show_everything_in(self, view) -> None:
        """Add our view to display nodes restricted to some views (the viewer's), so they show here too."""
        view_id = view.get_view_node_id()
        scene = self._app.scene
        displays = scene.GetNodesByClass("vtkMRMLDisplayNode")
        for i in range(displays.GetNumberOfItems()):
            display = displays.GetItemAsObject(i)
            count = display.GetNumberOfViewNodeIDs()
            if count and not display.IsViewNodeIDPresent(view_id):
                display.AddViewNodeID(view_id)


def _largest_volume_id(scene) -> str | None:
    volumes = scene.GetNodesByClass("vtkMRMLScalarVolumeNode")
    best, best_size = None, -1
    for i in range(volumes.GetNumberOfItems()):
        node = volumes.GetItemAsObject(i)
        image = node.GetImageData()
        if image is None or node.IsA("vtkMRMLLabelMapVolumeNode"):
            continue
        voxels = int(np.prod(image.GetDimensions()))
        if voxels > best_size:
            best, best_size = node.GetID(), voxels
    return best


def _layers_stamp(logic) -> tuple[int, ...]:
    """MTimes of the volumes the slice shows, their voxels and their display nodes."""
    stamp = []
    for layer in (logic.GetBackgroundLayer(), logic.GetForegroundLayer(), logic.GetLabelLayer()):
        volume = layer.GetVolumeNode() if layer is not None else None
        if volume is None:
            stamp.append(0)
            continue
        image, display = volume.GetImageData(), volume.GetDisplayNode()
        stamp += (volume.GetMTime(), image.GetMTime() if image else 0, display.GetMTime() if display else 0)
    return tuple(stamp)


def _no_msaa(view) -> None:
    """trame-slicer asks 8x multisampling; on llvmpipe that multiplies the cost of every render (see web.rendering)."""
    view.render_window().SetMultiSamples(0)


def _set_offset(logic, offset: float) -> None:
    """Move the slice only when it moves: setting the same offset still modifies the slice node."""
    if abs(logic.GetSliceOffset() - offset) > 1e-9:
        logic.SetSliceOffset(offset)


def _grab(view) -> np.ndarray:
    """Render a view once and read its pixels back as an RGB array, top row first."""
    from vtkmodules.util.numpy_support import vtk_to_numpy
    from vtkmodules.vtkCommonCore import vtkUnsignedCharArray

    window = view.render_window()
    window.Render()
    width, height = window.GetSize()
    buffer = vtkUnsignedCharArray()
    window.GetPixelData(0, 0, width - 1, height - 1, 0, buffer, 0)
    pixels = vtk_to_numpy(buffer).reshape(height, width, 3)
    return np.ascontiguousarray(pixels[::-1])


_TURBO: list = []


def _turbojpeg():
    """PyTurboJPEG on the system libturbojpeg, or None (then Pillow encodes)."""
    if not _TURBO:
        try:
            from turbojpeg import TurboJPEG

            _TURBO.append(TurboJPEG())
        except (ImportError, OSError, RuntimeError):
            _TURBO.append(None)
    return _TURBO[0]


def _png(pixels: np.ndarray) -> bytes:
    """PNG of an RGB array: no row filters, zlib level 1 (what Pillow's compress_level=1 does, without its copies)."""
    height, width = pixels.shape[:2]
    rows = np.empty((height, width * 3 + 1), dtype=np.uint8)
    rows[:, 0] = 0
    rows[:, 1:] = pixels.reshape(height, width * 3)
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"".join(
        (b"\x89PNG\r\n\x1a\n", _chunk(b"IHDR", header), _chunk(b"IDAT", zlib.compress(rows, 1)), _chunk(b"IEND", b""))
    )


def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(data, zlib.crc32(kind)))


def encode_image(pixels: np.ndarray, fmt: str = "png", *, quality: int = 90) -> tuple[bytes, str]:
    """PNG (fast, lossless) or JPEG bytes of an RGB array, with the media type."""
    fmt = fmt.strip().lower()
    if fmt in ("jpeg", "jpg"):
        turbo = _turbojpeg()
        if turbo is not None:
            from turbojpeg import TJPF_RGB, TJSAMP_420

            data = turbo.encode(
                np.ascontiguousarray(pixels), quality=quality, pixel_format=TJPF_RGB, jpeg_subsample=TJSAMP_420
            )
            return bytes(data), "image/jpeg"
        from PIL import Image

        out = io.BytesIO()
        Image.fromarray(pixels, "RGB").save(out, "JPEG", quality=quality)
        return out.getvalue(), "image/jpeg"
    if fmt != "png":
        raise BadRequest("format must be png or jpeg")
    return _png(np.ascontiguousarray(pixels, dtype=np.uint8)), "image/png"


def time_image(color: str = "330") -> bytes:
    """A 128x32 PNG showing the current time (the original's ``/timeimage``, for latency checks)."""
    import time

    from PIL import Image, ImageDraw

    if not (len(color) in (3, 6) and all(ch in "0123456789abcdefABCDEF" for ch in color)):
        raise BadRequest("color must be 3 or 6 hex digits, e.g. color=330")
    image = Image.new("RGBA", (128, 32), (0, 0, 0, 0))
    draw = ImageDraw.Draw(image)
    draw.rectangle((1, 1, 126, 30), outline="#" + color, width=3)
    draw.text((10, 10), f"{time.time():.2f}", fill="#333")
    out = io.BytesIO()
    image.save(out, "PNG")
    return out.getvalue()
