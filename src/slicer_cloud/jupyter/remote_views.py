"""View backends of a :class:`~slicer_cloud.jupyter.remote.RemoteScene`: frames and steering over REST.

Wheel and arrow keys move the slice (``PUT /views/{view}/slice``), a left drag sets window/level of the main volume
(``PUT /volumes/{id}/display``); in the 3D view a left drag rotates and the wheel or a right drag zooms the camera
(``PUT /views/3d/camera``). Frames are JPEG while interacting and PNG when still.
"""

from __future__ import annotations

import io
import math
import urllib.parse
from typing import TYPE_CHECKING, Any

import numpy as np

from ..client import ClientError
from .events import compress_moves, wheel_steps
from .frames import tile

if TYPE_CHECKING:
    from .remote import RemoteScene

VIEWS = {"axial": "red", "sagittal": "yellow", "coronal": "green"}
ARROWS = {"ArrowUp": 1, "ArrowRight": 1, "PageUp": 5, "ArrowDown": -1, "ArrowLeft": -1, "PageDown": -5}
INTERACTIVE_QUALITY = 80


def _quote(text: str) -> str:
    return urllib.parse.quote(text, safe="")


class RemoteView:
    """Base: size, cached properties, frame requests."""

    kind = "view"
    notifies = False  # the server does not tell the notebook about changes: the widget asks after each change
    view = "red"

    def __init__(self, scene: RemoteScene) -> None:
        self.scene = scene
        self.client = scene.client
        self.width = self.height = 512
        self.listeners: list = []

    def resize(self, width: int, height: int) -> None:
        self.width, self.height = width, height

    def _params(self) -> dict[str, Any]:
        return {}

    def frame(self, *, still: bool) -> tuple[bytes, str]:
        params = {"width": self.width, "height": self.height, "format": "png" if still else "jpeg", **self._params()}
        data, ctype = self.client.request("GET", f"/views/{_quote(self.view)}/image", params=params)
        return data, (ctype.split(";")[0] or ("image/png" if still else "image/jpeg"))

    def pixels(self, *, still: bool = True) -> np.ndarray:
        from PIL import Image

        data, _ = self.frame(still=True)
        return np.asarray(Image.open(io.BytesIO(data)).convert("RGB"))

    def state(self) -> dict[str, Any]:
        return {}

    def apply(self, name: str, value: Any) -> None:
        pass


class RemoteSliceView(RemoteView):
    kind = "slice"

    def __init__(self, scene: RemoteScene, orientation: str = "axial") -> None:
        super().__init__(scene)
        key = orientation.strip().lower()
        if key not in VIEWS:
            raise ValueError("orientation must be 'axial', 'sagittal' or 'coronal'")
        self.orientation = key
        self.view = VIEWS[key]
        volume = scene.main_volume()
        self.volume_id = volume["id"] if volume else None
        matrix = np.asarray(volume["ijkToRas"], dtype=float) if volume else np.eye(4)
        self.spacing = float(min(np.linalg.norm(matrix[:3, :3], axis=0))) or 1.0
        self._offset: float | None = None
        self._wl: tuple[float, float] | None = None
        self._drag: tuple[int, int, float, float] | None = None
        if self._has_view():
            self.client.set_slice(self.view, orientation=key)

    def _has_view(self) -> bool:
        try:
            self._offset = float(self.client._json("GET", f"/views/{self.view}/slice")["offset"])  # noqa: SLF001
            return True
        except ClientError as exc:
            if exc.status == 404:  # no view yet: the first frame creates it
                return False
            raise

    def _params(self) -> dict[str, Any]:
        params: dict[str, Any] = {"orientation": self.orientation}
        if self._offset is not None:
            params["offset"] = self._offset
        return params

    def _window_level(self) -> tuple[float, float] | None:
        if self.volume_id is None:
            return None
        if self._wl is None:
            wl = self.client._json("GET", f"/volumes/{_quote(self.volume_id)}/display")  # noqa: SLF001
            self._wl = (float(wl["window"]), float(wl["level"]))
        return self._wl

    def _scroll(self, slices: int) -> None:
        if self._offset is None:
            self._has_view()
        current = self._offset or 0.0
        answer = self.client.set_slice(self.view, offset=current + slices * self.spacing)
        self._offset = float(answer["offset"])

    def handle(self, events: list[dict[str, Any]]) -> None:
        for event in compress_moves(events):
            kind = event["t"]
            if kind == "wheel":
                self._scroll(-wheel_steps(event["dy"]))
            elif kind == "key" and event["key"] in ARROWS:
                self._scroll(ARROWS[event["key"]])
            elif kind == "down" and event["b"] == 0:
                wl = self._window_level()
                if wl is not None:
                    self._drag = (event["x"], event["y"], *wl)
            elif kind == "move" and self._drag is not None:
                x0, y0, window, level = self._drag
                scale = max(window, 1.0) / max(self.width, 1) * 2
                self.apply_window_level(
                    max(1e-3, window + (event["x"] - x0) * scale), level - (event["y"] - y0) * scale
                )
            elif kind == "up" and event["b"] == 0:
                self._drag = None

    def apply_window_level(self, window: float, level: float) -> None:
        if self.volume_id is None:
            return
        answer = self.client.set_window_level(self.volume_id, window, level)
        self._wl = (float(answer["window"]), float(answer["level"]))

    def state(self) -> dict[str, Any]:
        state: dict[str, Any] = {"offset": self._offset}
        wl = self._window_level()
        if wl is not None:
            state.update(window=wl[0], level=wl[1])
        return state

    def apply(self, name: str, value: Any) -> None:
        if name == "offset":
            self._offset = float(self.client.set_slice(self.view, offset=float(value))["offset"])
        elif name in ("window", "level"):
            wl = self._window_level()
            if wl is None:
                return
            window, level = wl
            self.apply_window_level(
                float(value) if name == "window" else window, float(value) if name == "level" else level
            )

    def slice_range(self) -> tuple[float, float, float]:
        volume = self.scene.main_volume()
        if volume is None:
            return 0.0, 0.0, 1.0
        matrix = np.asarray(volume["ijkToRas"], dtype=float)
        dims = np.asarray(volume["dimensions"], dtype=float) - 1
        corners = np.array([[i, j, k, 1] for i in (0, dims[0]) for j in (0, dims[1]) for k in (0, dims[2])])
        ras = corners @ matrix.T
        axis = {"axial": 2, "sagittal": 0, "coronal": 1}[self.orientation]
        return float(ras[:, axis].min()), float(ras[:, axis].max()), self.spacing


class RemoteThreeDView(RemoteView):
    kind = "3d"
    view = "3d"

    def __init__(self, scene: RemoteScene) -> None:
        super().__init__(scene)
        self._drag: tuple[int, int, int] | None = None

    def handle(self, events: list[dict[str, Any]]) -> None:
        for event in compress_moves(events):
            kind = event["t"]
            if kind == "down":
                self._drag = (event["b"], event["x"], event["y"])
            elif kind == "up":
                self._drag = None
            elif kind == "move" and self._drag is not None:
                button, x0, y0 = self._drag
                dx, dy = event["x"] - x0, event["y"] - y0
                self._drag = (button, event["x"], event["y"])
                if button == 0:
                    self._rotate(-dx * 180.0 / max(self.width, 1), dy * 180.0 / max(self.height, 1))
                elif button == 2:
                    self._zoom(1.0 + dy / max(self.height, 1))
            elif kind == "wheel":
                self._zoom(0.9 ** -wheel_steps(event["dy"]))

    def _rotate(self, azimuth: float, elevation: float) -> None:
        camera = self.client.get_camera()
        eye, focal = np.asarray(camera["position"]), np.asarray(camera["focalPoint"])
        up = np.asarray(camera["viewUp"])
        offset = eye - focal
        offset = _rotation(up, math.radians(azimuth)) @ offset
        right = np.cross(offset, up)
        norm = np.linalg.norm(right)
        if norm > 1e-9:
            turn = _rotation(right / norm, math.radians(elevation))
            offset, up = turn @ offset, turn @ up
        self.client.set_camera(position=(focal + offset).tolist(), viewUp=up.tolist())

    def _zoom(self, factor: float) -> None:
        camera = self.client.get_camera()
        eye, focal = np.asarray(camera["position"]), np.asarray(camera["focalPoint"])
        factor = min(max(factor, 0.2), 5.0)
        self.client.set_camera(position=(focal + (eye - focal) * factor).tolist())

    def fit(self) -> None:
        self.client.request("GET", "/views/3d/image", params={"size": 64, "lookFromAxis": "a"})


def _rotation(axis: np.ndarray, angle: float) -> np.ndarray:
    """Rotation matrix about a unit axis (Rodrigues)."""
    axis = axis / max(np.linalg.norm(axis), 1e-12)
    k = np.array([[0, -axis[2], axis[1]], [axis[2], 0, -axis[0]], [-axis[1], axis[0], 0]])
    return np.eye(3) + math.sin(angle) * k + (1 - math.cos(angle)) * (k @ k)


class RemoteLightbox(RemoteView):
    """A montage of slices of the remote session, one image request per cell."""

    kind = "lightbox"

    def __init__(self, scene: RemoteScene, rows: int, columns: int, orientation: str, step: int | None) -> None:
        super().__init__(scene)
        if not (1 <= rows <= 16 and 1 <= columns <= 16):
            raise ValueError("rows and columns must be between 1 and 16")
        self.rows, self.columns = rows, columns
        self.slice = RemoteSliceView(scene, orientation)
        low, high, spacing = self.slice.slice_range()
        count = rows * columns
        self.stride = spacing * step if step else max(spacing, (high - low) / (count + 1))
        self.first = low + self.stride if not step else (low + high) / 2 - self.stride * (count - 1) / 2

    def handle(self, events: list[dict[str, Any]]) -> None:
        for event in events:
            if event["t"] == "wheel":
                self.first += wheel_steps(event["dy"]) * self.stride * self.columns
            else:
                self.slice.handle([event])

    def pixels(self, *, still: bool = True) -> np.ndarray:
        from PIL import Image

        cell = (max(16, self.width // self.columns), max(16, self.height // self.rows))
        images = []
        for index in range(self.rows * self.columns):
            params = {"width": cell[0], "height": cell[1], "format": "jpeg" if not still else "png"}
            params.update(orientation=self.slice.orientation, offset=self.first + index * self.stride)
            data, _ = self.client.request("GET", f"/views/{self.slice.view}/image", params=params)
            images.append(np.asarray(Image.open(io.BytesIO(data)).convert("RGB")))
        return tile(images, self.rows, self.columns, cell)

    def frame(self, *, still: bool) -> tuple[bytes, str]:
        from .frames import encode

        data, mime = encode(self.pixels(still=still), still=still)
        return data, mime

    def state(self) -> dict[str, Any]:
        state = self.slice.state()
        state.pop("offset", None)
        return state

    def apply(self, name: str, value: Any) -> None:
        if name in ("window", "level"):
            self.slice.apply(name, value)
