"""The session: one MRML scene with its data root, loader and autosave. Runs on the event-loop thread only."""

from __future__ import annotations

import logging
import time
from pathlib import Path
from typing import TYPE_CHECKING

from .. import __version__
from ..errors import SlicerCloudError
from .autosave import Autosaver, newest_autosave
from .limits import Limits
from .loader import LoadResult, SceneLoader
from .paths import DataRoot
from .sample import sample_path

if TYPE_CHECKING:
    from trame_slicer.core import SlicerApp

    from ..settings import Settings

logger = logging.getLogger(__name__)

STATE_DIR = ".slicer-cloud"


class Session:
    """A live Slicer scene and everything a front end needs to act on it.

    Front ends call these methods from the event-loop thread; VTK/MRML are not thread safe.
    """

    def __init__(self, settings: Settings, slicer_app: SlicerApp) -> None:
        self.settings = settings
        self.app = slicer_app
        self.started_at = time.time()
        self.data_root = DataRoot(settings.data)
        self.state_dir = self.data_root.root / STATE_DIR
        self.work_dir = self.state_dir / "tmp"
        self.work_dir.mkdir(parents=True, exist_ok=True)
        self.limits = Limits.from_settings(settings)
        self.loader = SceneLoader(slicer_app, self.limits, self.work_dir)
        self.autosaver = Autosaver(
            self.state_dir / "autosave", self.loader.save_scene, self.fingerprint, keep=settings.autosave_keep
        )
        self.on_volume_loaded: list = []  # callbacks(volume_node) registered by front ends
        self.load_count = 0  # loads since start, to tell start-up side effects from user changes

    @property
    def scene(self):
        return self.app.scene

    @property
    def uptime(self) -> float:
        return time.time() - self.started_at

    def health(self) -> dict[str, object]:
        """What ``/healthz`` reveals: status, version, uptime - nothing else."""
        return {"status": "ok", "version": __version__, "uptime": round(self.uptime, 1)}

    # -- loading ---------------------------------------------------------------------------------------------

    def load(self, path: Path, *, show: bool = True) -> LoadResult:
        """Load a server file (already resolved inside the data root, or given on the command line)."""
        result = self.loader.load(path)
        self.load_count += 1
        logger.info("loaded %s (%s, %d nodes)", path.name, result.kind, len(result.node_ids))
        if show:
            self.show_main_volume(result.volume_ids)
        return result

    def show_main_volume(self, volume_ids: list[str] | None = None) -> None:
        """Show the largest of the given volumes (default: all) in slice views with volume rendering."""
        ids = volume_ids
        if ids is None:
            nodes = self.scene.GetNodesByClass("vtkMRMLScalarVolumeNode")
            nodes.UnRegister(self.scene)
            ids = [nodes.GetItemAsObject(i).GetID() for i in range(nodes.GetNumberOfItems())]
        volumes = [self.scene.GetNodeByID(i) for i in ids]
        volumes = [v for v in volumes if v is not None and v.GetImageData() is not None]
        volumes = [v for v in volumes if not v.IsA("vtkMRMLLabelMapVolumeNode")]
        if not volumes:
            return
        volume = max(volumes, key=lambda v: _voxel_count(v))
        self.app.display_manager.show_volume(volume, vr_preset=self.settings.vr_preset, do_reset_views=True)
        for callback in self.on_volume_loaded:
            callback(volume)

    def load_startup(self, files: list[Path]) -> None:
        """Load what ``serve`` was asked to: --restore, FILE arguments, or the sample into an empty data root."""
        if self.settings.restore:
            save = newest_autosave(self.autosaver.folder)
            if save is None:
                logger.warning("--restore: no autosave in %s yet; starting empty", STATE_DIR + "/autosave")
            else:
                self.load(save)
                logger.info("restored %s", save.name)
        for file in files:
            try:
                self.load(file)
            except SlicerCloudError as exc:
                logger.error("could not load %s: %s", file.name, exc.message)
        if not files and not self.settings.restore and self.settings.sample and self.data_root_is_empty():
            self.load(sample_path())
        self.autosaver.mark_saved()

    def data_root_is_empty(self) -> bool:
        return not self.data_root.listdir("")

    # -- change tracking ---------------------------------------------------------------------------------------

    def fingerprint(self) -> tuple[int, int]:
        """Changes whenever user data changes: data nodes (volumes, segmentations, models, markups...), their data
        and display properties. View, camera and slice-plane nodes do not count: rendering touches them."""
        scene = self.scene
        newest = 0
        count = 0
        for i in range(scene.GetNumberOfNodes()):
            node = scene.GetNthNode(i)
            if not node.IsA("vtkMRMLStorableNode") or node.GetHideFromEditors():
                continue
            count += 1
            newest = max(newest, node.GetMTime(), _data_mtime(node))
            for j in range(node.GetNumberOfDisplayNodes() if node.IsA("vtkMRMLDisplayableNode") else 0):
                display = node.GetNthDisplayNode(j)
                if display is not None:
                    newest = max(newest, display.GetMTime())
        return count, newest


def _voxel_count(volume) -> int:
    x, y, z = volume.GetImageData().GetDimensions()
    return x * y * z


def _data_mtime(node) -> int:
    if node.IsA("vtkMRMLSegmentationNode"):
        segmentation = node.GetSegmentation()
        newest = segmentation.GetMTime()
        for i in range(segmentation.GetNumberOfSegments()):
            segment = segmentation.GetNthSegment(i)
            for name in ("Binary labelmap", "Closed surface"):
                data = segment.GetRepresentation(name)
                if data is not None:
                    newest = max(newest, data.GetMTime())
        return newest
    getter = getattr(node, "GetImageData", None) or getattr(node, "GetPolyData", None)
    data = getter() if getter is not None else None
    return data.GetMTime() if data is not None else 0
