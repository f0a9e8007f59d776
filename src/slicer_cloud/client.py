"""``slicer_cloud.Client``: a typed Python client of a session's ``/api/v1`` (scripts and notebooks).

Voxel arrays are indexed ``[k, j, i]`` (slowest axis first, as ``slicer.util.arrayFromVolume``); geometry is in RAS:
``spacing`` (mm along i, j, k), ``origin`` (RAS of voxel 0,0,0) and ``direction`` (3x3, columns are the unit
directions of the i, j, k axes). Only the standard library, numpy, pynrrd and Pillow are used.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import numpy as np

from .core.limits import Limits
from .core.nrrd_codec import VolumeArray, decode_nrrd, encode_nrrd

if TYPE_CHECKING:
    from PIL import Image

View = Literal["red", "yellow", "green", "3d"]
ImageFormat = Literal["png", "jpeg", "webp"]
# A pulled volume is as large as the server made it; the client trusts its own session's sizes.
_CLIENT_LIMITS = Limits(max_image_voxels=2**62, max_image_bytes=2**62, max_upload_bytes=2**62)


class ClientError(Exception):
    """An error answer of the server: HTTP ``status``, error ``code`` and the server's ``message``."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(f"{status} {code}: {message}")
        self.status = status
        self.code = code
        self.message = message


@dataclass
class Geometry:
    """Where the voxels are, in RAS millimetres."""

    spacing: tuple[float, float, float] = (1.0, 1.0, 1.0)
    origin: tuple[float, float, float] = (0.0, 0.0, 0.0)
    direction: np.ndarray | None = None  # 3x3, columns = unit i, j, k directions; None = identity

    @property
    def ijk_to_ras(self) -> np.ndarray:
        direction = np.eye(3) if self.direction is None else np.asarray(self.direction, dtype=float)
        if direction.shape != (3, 3):
            raise ValueError("direction must be a 3x3 matrix")
        matrix = np.eye(4)
        matrix[:3, :3] = direction @ np.diag(np.asarray(self.spacing, dtype=float))
        matrix[:3, 3] = np.asarray(self.origin, dtype=float)
        return matrix

    @classmethod
    def from_ijk_to_ras(cls, matrix: np.ndarray) -> Geometry:
        axes = np.asarray(matrix, dtype=float)[:3, :3]
        spacing = np.linalg.norm(axes, axis=0)
        direction = axes / np.where(spacing == 0, 1.0, spacing)
        origin = np.asarray(matrix, dtype=float)[:3, 3]
        return cls(tuple(spacing.tolist()), tuple(origin.tolist()), direction)  # type: ignore[arg-type]


class Client:
    """A session at ``url`` (``http://host:port``, a ``?token=`` in it is used when ``token`` is not given)."""

    def __init__(self, url: str, token: str | None = None, *, timeout: float = 120.0) -> None:
        parts = urllib.parse.urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise ValueError("url must be http(s)://host:port of a slicer-cloud session")
        query = urllib.parse.parse_qs(parts.query)
        self.token = token or (query.get("token") or [None])[0]
        path = parts.path.rstrip("/")
        self.base = urllib.parse.urlunsplit((parts.scheme, parts.netloc, path, "", ""))
        self.timeout = timeout

    def __repr__(self) -> str:
        return f"Client({self.base!r})"

    # -- transport -----------------------------------------------------------------------------------------------

    def request(
        self,
        method: str,
        path: str,
        *,
        params: dict[str, Any] | None = None,
        body: bytes | None = None,
        json_body: Any = None,
        content_type: str = "application/octet-stream",
    ) -> tuple[bytes, str]:
        """One request to ``/api/v1{path}``; returns (body, content type) or raises :class:`ClientError`."""
        query = {k: _text(v) for k, v in (params or {}).items() if v is not None}
        url = f"{self.base}/api/v1{path}" + (f"?{urllib.parse.urlencode(query)}" if query else "")
        headers = {"Accept": "application/json, */*"}
        if self.token:
            headers["Authorization"] = f"Bearer {self.token}"
        if json_body is not None:
            body, content_type = json.dumps(json_body).encode(), "application/json"
        if body is not None:
            headers["Content-Type"] = content_type
        req = urllib.request.Request(url, data=body, method=method, headers=headers)  # noqa: S310 - http(s) only
        try:
            with urllib.request.urlopen(req, timeout=self.timeout) as response:  # noqa: S310 - the user's URL
                return response.read(), response.headers.get("Content-Type", "")
        except urllib.error.HTTPError as err:
            raise _client_error(err) from None

    def _json(self, method: str, path: str, **kwargs: Any) -> Any:
        data, _ = self.request(method, path, **kwargs)
        return json.loads(data) if data else None

    # -- nodes ---------------------------------------------------------------------------------------------------

    def list_nodes(self, class_name: str | None = None, name: str | None = None) -> list[dict[str, Any]]:
        """Nodes as ``{"id", "name", "class", "kind"}`` (data nodes unless ``class_name`` is given)."""
        return self._json("GET", "/nodes", params={"class": class_name, "name": name})["nodes"]

    def get_node(self, node_id: str) -> dict[str, Any]:
        return self._json("GET", f"/nodes/{_quote(node_id)}")

    def node_properties(self, node_id: str) -> dict[str, Any]:
        return self._json("GET", f"/nodes/{_quote(node_id)}/properties")["properties"]

    def delete_node(self, node_id: str) -> list[str]:
        """Remove a data node; returns the removed IDs."""
        return self._json("DELETE", f"/nodes/{_quote(node_id)}")["removed"]

    # -- volumes -------------------------------------------------------------------------------------------------

    def push_volume(
        self,
        array: np.ndarray,
        spacing: Sequence[float] = (1.0, 1.0, 1.0),
        origin: Sequence[float] = (0.0, 0.0, 0.0),
        direction: np.ndarray | Sequence[Sequence[float]] | None = None,
        name: str = "Volume",
        *,
        compress: bool = False,
        show: bool = True,
    ) -> str:
        """Send a ``[k, j, i]`` array (2D or 3D, any integer or float type) as a new volume; return its node ID."""
        voxels = np.asarray(array)
        if voxels.ndim == 2:
            voxels = voxels[np.newaxis]
        if voxels.ndim != 3:
            raise ValueError("array must be 2D or 3D, indexed [k, j, i]")
        geometry = Geometry(tuple(spacing), tuple(origin), None if direction is None else np.asarray(direction))
        data = encode_nrrd(VolumeArray(voxels, geometry.ijk_to_ras), compress=compress)
        reply = self._json("POST", "/volumes", params={"name": name, "format": "nrrd", "show": show}, body=data)
        return reply["id"]

    def upload_volume(self, path: str | Path, name: str | None = None, *, show: bool = True) -> list[str]:
        """Send a local NRRD, NIfTI or DICOM-series zip file as a volume; return the new node IDs."""
        data = Path(path).read_bytes()
        return self._json("POST", "/volumes", params={"name": name, "show": show}, body=data)["nodes"]

    def pull_volume(self, node_id: str) -> tuple[np.ndarray, Geometry]:
        """The voxels (``[k, j, i]``) and geometry of a scalar volume."""
        data, _ = self.request("GET", f"/volumes/{_quote(node_id)}", params={"format": "nrrd", "encoding": "gzip"})
        volume = decode_nrrd(data, _CLIENT_LIMITS)
        return volume.voxels, Geometry.from_ijk_to_ras(volume.ijk_to_ras)

    def download_volume(self, node_id: str, format: Literal["nrrd", "nii.gz"] = "nrrd") -> bytes:  # noqa: A002
        return self.request("GET", f"/volumes/{_quote(node_id)}", params={"format": format})[0]

    def list_volumes(self) -> list[dict[str, Any]]:
        return self._json("GET", "/volumes")["volumes"]

    def set_window_level(self, node_id: str, window: float | None = None, level: float | None = None) -> dict:
        """Fixed window/level, or automatic when both are None."""
        body: dict[str, Any] = {"auto": True} if window is None and level is None else {}
        body.update({k: v for k, v in (("window", window), ("level", level)) if v is not None})
        return self._json("PUT", f"/volumes/{_quote(node_id)}/display", json_body=body)

    # -- segmentations and markups -------------------------------------------------------------------------------

    def list_segmentations(self) -> list[dict[str, Any]]:
        return self._json("GET", "/segmentations")["segmentations"]

    def export_segmentation(
        self, node_id: str, format: Literal["labelmap", "stl", "dicom-seg"] = "labelmap", segment: str | None = None
    ) -> bytes:  # noqa: A002
        params = {"format": format, "segment": segment}
        return self.request("GET", f"/segmentations/{_quote(node_id)}/export", params=params)[0]

    def list_markups(self) -> list[dict[str, Any]]:
        return self._json("GET", "/markups")["markups"]

    def add_point_list(self, name: str, points: Sequence[Sequence[float]] = ()) -> str:
        """A new point list (RAS millimetres); returns its node ID."""
        body = {"name": name, "points": [[float(v) for v in p] for p in points]}
        return self._json("POST", "/markups", json_body=body)["id"]

    def add_point(self, node_id: str, position: Sequence[float], label: str = "") -> dict[str, Any]:
        body = {"position": [float(v) for v in position], "label": label}
        return self._json("POST", f"/markups/{_quote(node_id)}/points", json_body=body)

    # -- views ---------------------------------------------------------------------------------------------------

    def render_view(
        self, view: View = "red", size: int | tuple[int, int] = 512, format: ImageFormat = "png", **options: Any
    ) -> Image.Image:  # noqa: A002
        """A still of a slice view (``orientation``, ``offset`` options) or the 3D view (``lookFromAxis``)."""
        import io

        from PIL import Image

        params: dict[str, Any] = {"format": format, **options}
        if isinstance(size, int):
            params["size"] = size
        else:
            params["width"], params["height"] = size
        data, _ = self.request("GET", f"/views/{_quote(view)}/image", params=params)
        image = Image.open(io.BytesIO(data))
        image.load()
        return image

    def set_layout(self, layout: str) -> str:
        """A Slicer layout name (FourUp, OneUp3D, OneUpRedSlice, Conventional...); every open viewer follows."""
        return self._json("PUT", "/views/layout", json_body={"layout": layout})["layout"]

    def set_slice(self, view: View, offset: float | None = None, orientation: str | None = None) -> dict[str, Any]:
        body = {k: v for k, v in (("offset", offset), ("orientation", orientation)) if v is not None}
        return self._json("PUT", f"/views/{_quote(view)}/slice", json_body=body)

    def get_camera(self) -> dict[str, Any]:
        return self._json("GET", "/views/3d/camera")

    def set_camera(self, **camera: Any) -> dict[str, Any]:
        """``position``, ``focalPoint``, ``viewUp`` (RAS) and/or ``viewAngle`` (degrees)."""
        return self._json("PUT", "/views/3d/camera", json_body=camera)

    # -- scene and files -----------------------------------------------------------------------------------------

    def load(self, path: str) -> dict[str, Any]:
        """Load a file or folder of the server's data root; returns ``{"kind", "nodes", "volumes"}``."""
        return self._json("POST", "/scene/open", json_body={"path": path})

    def save_scene(self, path: str, *, overwrite: bool = False) -> str:
        """Save the whole scene as an .mrb into the data root; returns the saved path."""
        return self._json("POST", "/scene/save", json_body={"path": path, "overwrite": overwrite})["path"]

    def save_node(self, node_id: str, path: str, *, overwrite: bool = False) -> str:
        body = {"path": path, "node": node_id, "overwrite": overwrite}
        return self._json("POST", "/scene/save", json_body=body)["path"]

    def clear_scene(self) -> list[str]:
        return self._json("DELETE", "/scene")["removed"]

    def list_files(self, path: str = "") -> list[dict[str, Any]]:
        return self._json("GET", "/files", params={"path": path})["entries"]

    def upload_file(self, local: str | Path | bytes, remote: str, *, overwrite: bool = False) -> str:
        """Store a local file (or bytes) at ``remote`` in the data root; returns the stored path."""
        data = local if isinstance(local, bytes) else Path(local).read_bytes()
        params = {"path": remote, "overwrite": "1" if overwrite else "0"}
        return self._json("PUT", "/files/upload", params=params, body=data)["path"]

    def download_file(self, remote: str, local: str | Path | None = None) -> bytes:
        """The bytes of a data-root file (also written to ``local`` when given)."""
        data, _ = self.request("GET", "/files/download", params={"path": remote})
        if local is not None:
            Path(local).write_bytes(data)
        return data


def _quote(text: str) -> str:
    return urllib.parse.quote(text, safe="")


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _client_error(err: urllib.error.HTTPError) -> ClientError:
    raw = err.read()
    try:
        body = json.loads(raw)
        return ClientError(err.code, str(body.get("error", "error")), str(body.get("message", "")))
    except (ValueError, AttributeError):
        return ClientError(err.code, "http_error", raw[:200].decode("utf-8", "replace") or str(err.reason))


__all__ = ["Client", "ClientError", "Geometry"]
