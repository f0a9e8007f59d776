"""A running ``slicer-cloud serve`` session driven from the notebook over its REST API (``/api/v1``).

``sj.connect(url, token)`` returns a :class:`RemoteScene`; the view widgets take it like a local scene. Frames come
from ``GET /api/v1/views/{view}/image``; wheel, drags and keys become slice, window/level and camera requests.
"""

from __future__ import annotations

import urllib.error
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from ..client import Client, ClientError, Geometry
from . import tables

if TYPE_CHECKING:
    import pandas as pd


class RemoteScene:
    """The scene of a remote session. Paths given to :meth:`load` are inside the server's data root."""

    is_remote = True

    def __init__(self, client: Client) -> None:
        self.client = client

    def __repr__(self) -> str:
        return f"<slicer_cloud.jupyter.RemoteScene {self.client.base}>"

    # -- view backends -----------------------------------------------------------------------------------------
    def slice_backend(self, orientation: str = "axial"):
        from .remote_views import RemoteSliceView

        return RemoteSliceView(self, orientation)

    def threed_backend(self):
        from .remote_views import RemoteThreeDView

        return RemoteThreeDView(self)

    def lightbox_backend(self, rows: int, columns: int, orientation: str = "axial", step: int | None = None):
        from .remote_views import RemoteLightbox

        return RemoteLightbox(self, rows, columns, orientation, step)

    def link_crosshair(self) -> None:
        """The server's views keep their own crosshair settings."""

    def call(self, function) -> None:
        """Widget work runs at once (HTTP requests need no particular thread)."""
        function()

    # -- data ---------------------------------------------------------------------------------------------------
    def volumes(self) -> list[dict[str, Any]]:
        return self.client.list_volumes()

    def main_volume(self) -> dict[str, Any] | None:
        """The largest volume of the session (what its views show by default)."""
        volumes = [v for v in self.volumes() if v.get("dimensions") and "LabelMap" not in v.get("class", "")]
        return max(volumes, key=lambda v: int(np.prod(v["dimensions"]))) if volumes else None

    def load(self, path: str) -> str | None:
        """Load a file of the server's data root; returns the ID of its main volume (or first node)."""
        result = self.client.load(path)
        ids = result.get("volumes") or result.get("nodes") or []
        return ids[0] if ids else None

    def add_array(
        self,
        array: np.ndarray,
        spacing: Sequence[float] = (1.0, 1.0, 1.0),
        origin: Sequence[float] = (0.0, 0.0, 0.0),
        direction: Any = None,
        *,
        name: str = "Volume",
        show: bool = True,
    ) -> str:
        """Send a numpy volume (indexed ``[k, j, i]``) to the session; returns its node ID."""
        geometry = Geometry(tuple(spacing), tuple(origin), None if direction is None else np.asarray(direction))
        ids = self.client.push_volume(np.asarray(array), geometry, name=name, show=show)
        return ids[0]

    def array(self, volume_id: str) -> np.ndarray:
        return self.client.pull_volume(volume_id)[0]

    def set_window_level(self, volume_id: str, window: float, level: float) -> None:
        self.client.set_window_level(volume_id, window, level)

    def nodes(self) -> pd.DataFrame:
        import pandas as pd

        return pd.DataFrame(self.client.list_nodes(), columns=["id", "name", "class", "kind"])

    def markups(self) -> pd.DataFrame:
        import pandas as pd

        rows = [row for m in self.client.list_markups() for row in tables.point_rows(m["name"], m["points"])]
        return pd.DataFrame(rows, columns=["list", "label", "r", "a", "s"])

    def add_points(self, name: str, points: Sequence[Sequence[float]]) -> str:
        return self.client.add_point_list(name, points)

    def segmentations(self) -> pd.DataFrame:
        import pandas as pd

        rows = [
            {"id": s["id"], "name": s["name"], "segment_id": seg["id"], "segment": seg["name"]}
            for s in self.client.list_segmentations()
            for seg in s["segments"]
        ]
        return pd.DataFrame(rows, columns=["id", "name", "segment_id", "segment"])

    def segment(self, *args: Any, **kwargs: Any):
        raise NotImplementedError(
            "processing modules run on the server through its jobs API; pull the volume with scene.array(id), "
            "or use a local sj.Scene() to segment in the notebook"
        )


def connect(url: str, token: str | None = None, *, timeout: float = 30.0) -> RemoteScene:
    """Connect to a running ``slicer-cloud serve`` (``http(s)://host:port``, its token or a URL with ``?token=``).

    Raises ``PermissionError`` when the session refuses the token and ``ConnectionError`` when it cannot be
    reached, with a message saying what to check.
    """
    client = Client(url, token, timeout=timeout)
    try:
        client.list_volumes()
    except ClientError as exc:
        if exc.status in (401, 403):
            raise PermissionError(
                f"the session at {client.base} refused the token ({exc.status}): use the token printed by "
                "`slicer-cloud serve` (the ?token= part of its URL), not a share (view-only) token"
            ) from None
        raise ConnectionError(f"the session at {client.base} answered {exc.status}: {exc.message}") from None
    except (urllib.error.URLError, OSError) as exc:
        reason = getattr(exc, "reason", exc)
        raise ConnectionError(
            f"could not reach a slicer-cloud session at {client.base} ({reason}); is `slicer-cloud serve` running, "
            "and is the address reachable from the kernel?"
        ) from None
    return RemoteScene(client)
