"""Loading files into the session scene, and saving nodes and scenes, with every check done first.

Untrusted files are validated before a parser allocates anything: image headers against :class:`Limits`, archives
member by member, scene files for references outside their folder. A parser failure becomes
:class:`~slicer_cloud.errors.InvalidData`; the scene keeps what it had.
"""

from __future__ import annotations

import logging
import shutil
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from ..errors import InvalidData, NotFound, SlicerCloudError, TooLarge, UnsupportedFormat
from .archive import is_zip, safe_extract_zip
from .dicom_files import check_dicom_files, dicom_files_in
from .image_headers import check_image_file
from .limits import Limits
from .mrml_refs import check_mrml_references

if TYPE_CHECKING:
    from trame_slicer.core import SlicerApp

logger = logging.getLogger(__name__)

Kind = Literal["volume", "segmentation", "model", "scene", "dicom", "archive"]

VOLUME_SUFFIXES = (".nrrd", ".nhdr", ".nii", ".nii.gz", ".mha", ".mhd")
SEGMENTATION_SUFFIXES = (".seg.nrrd", ".seg.nii.gz")
MODEL_SUFFIXES = (".stl", ".obj", ".vtk", ".vtp", ".ply")
SCENE_SUFFIXES = (".mrb", ".mrml")
DICOM_SUFFIXES = (".dcm", ".dicom")


def kind_of(path: Path) -> Kind | None:
    """What a path holds, judged by its name (folders are DICOM series)."""
    name = path.name.lower()
    if path.is_dir():
        return "dicom"
    for kind, suffixes in (
        ("segmentation", SEGMENTATION_SUFFIXES),
        ("volume", VOLUME_SUFFIXES),
        ("model", MODEL_SUFFIXES),
        ("scene", SCENE_SUFFIXES),
        ("dicom", DICOM_SUFFIXES),
    ):
        if name.endswith(suffixes):
            return kind  # type: ignore[return-value]
    if name.endswith(".zip"):
        return "archive"
    return None


@dataclass
class LoadResult:
    """What one load added to the scene."""

    kind: Kind
    node_ids: list[str] = field(default_factory=list)
    volume_ids: list[str] = field(default_factory=list)


class SceneLoader:
    """Loads and saves data of one scene (owned by a :class:`~slicer_cloud.core.session.Session`)."""

    def __init__(self, slicer_app: SlicerApp, limits: Limits, work_dir: Path) -> None:
        self._app = slicer_app
        self._limits = limits
        self._work_dir = work_dir

    @property
    def scene(self):
        return self._app.scene

    def load(self, path: Path) -> LoadResult:
        """Load a file or folder into the scene; raise a :class:`SlicerCloudError` subclass on bad input."""
        if not path.exists():
            raise NotFound(f"{path.name} does not exist")
        kind = kind_of(path)
        if kind is None:
            raise UnsupportedFormat(
                f"{path.name}: unknown format; use NRRD, NIfTI, MHA/MHD, DICOM (folder or zip), MRB/MRML, "
                "STL/OBJ/VTK/PLY or a .seg.nrrd segmentation"
            )
        before = self._node_ids()
        try:
            loader = getattr(self, f"_load_{kind}")
            loader(path)
        except SlicerCloudError:
            self._remove_new_nodes(before)
            raise
        except Exception as exc:  # a parser failure must not take the session down
            logger.warning("could not read %s (%s): %s", path.name, kind, type(exc).__name__)
            self._remove_new_nodes(before)
            raise InvalidData(f"{path.name} could not be read as {kind}; check that the file is complete") from None
        added = [node_id for node_id in self._node_ids() if node_id not in before]
        volumes = [i for i in added if self.scene.GetNodeByID(i).IsA("vtkMRMLScalarVolumeNode")]
        volumes = [i for i in volumes if not self.scene.GetNodeByID(i).IsA("vtkMRMLSegmentationNode")]
        return LoadResult(kind=kind, node_ids=added, volume_ids=volumes)

    # -- per kind ------------------------------------------------------------------------------------------------

    def _load_volume(self, path: Path) -> None:
        check_image_file(path, max_voxels=self._limits.max_image_voxels, max_bytes=self._limits.max_image_bytes)
        volumes = self._app.io_manager.load_volumes([path.as_posix()])
        self._require_image(volumes, path)

    def _load_segmentation(self, path: Path) -> None:
        check_image_file(path, max_voxels=self._limits.max_image_voxels, max_bytes=self._limits.max_image_bytes)
        if self._app.io_manager.load_segmentation(path.as_posix()) is None:
            raise InvalidData(f"{path.name} could not be read as a segmentation")

    def _load_model(self, path: Path) -> None:
        if path.stat().st_size > self._limits.max_image_bytes:
            raise TooLarge(f"{path.name} is larger than max_image_bytes; raise that setting to load it")
        node = self._app.io_manager.load_model(path)
        polydata = node.GetPolyData() if node is not None else None
        if polydata is None or polydata.GetNumberOfPoints() == 0:
            raise InvalidData(f"{path.name} could not be read as a surface model (no points)")

    def _load_dicom(self, path: Path) -> None:
        files = dicom_files_in(path)
        if not files:
            raise InvalidData(f"{path.name} holds no DICOM image files")
        check_dicom_files(files, self._limits)
        volumes = self._app.io_manager.load_volumes([f.as_posix() for f in files])
        self._require_image(volumes, path)

    def _load_archive(self, path: Path) -> None:
        with self._extracted(path) as folder:
            scenes = sorted(folder.rglob("*.mrml"))
            if scenes:
                self._import_mrml(scenes[0], allowed_root=folder)
            else:
                self._load_dicom(folder)

    def _load_scene(self, path: Path) -> None:
        if path.name.lower().endswith(".mrml"):
            self._import_mrml(path, allowed_root=path.parent)
            return
        with self._extracted(path) as folder:
            scenes = sorted(folder.rglob("*.mrml"))
            if not scenes:
                raise InvalidData(f"{path.name} holds no .mrml scene; is it a Slicer MRB file?")
            self._import_mrml(scenes[0], allowed_root=folder)

    # -- helpers -------------------------------------------------------------------------------------------------

    def _import_mrml(self, mrml: Path, allowed_root: Path) -> None:
        check_mrml_references(mrml, allowed_root)
        self.scene.SetURL(mrml.as_posix())
        self.scene.SetRootDirectory(mrml.parent.as_posix())
        if not self.scene.Import(None):
            raise InvalidData(f"{mrml.name} could not be imported as an MRML scene")

    @contextmanager
    def _extracted(self, archive: Path) -> Iterator[Path]:
        if not is_zip(archive):
            raise InvalidData(f"{archive.name} is not a zip archive")
        folder = self._work_dir / f"extract-{uuid.uuid4().hex}"
        folder.mkdir(parents=True)
        try:
            safe_extract_zip(
                archive,
                folder,
                max_total_bytes=self._limits.max_archive_bytes,
                max_ratio=self._limits.max_archive_ratio,
            )
            yield folder
        finally:
            shutil.rmtree(folder, ignore_errors=True)

    def _require_image(self, volumes: list, path: Path) -> None:
        image = volumes[0].GetImageData() if volumes else None
        if image is None or 0 in image.GetDimensions():
            raise InvalidData(f"{path.name} could not be read as an image volume")

    def _node_ids(self) -> list[str]:
        return [self.scene.GetNthNode(i).GetID() for i in range(self.scene.GetNumberOfNodes())]

    def _remove_new_nodes(self, before: list[str]) -> None:
        for node_id in self._node_ids():
            if node_id not in before:
                node = self.scene.GetNodeByID(node_id)
                if node is not None:
                    self.scene.RemoveNode(node)

    # -- saving --------------------------------------------------------------------------------------------------

    def save_scene(self, dest: Path) -> None:
        """Write the whole scene as an MRB bundle (written in a hidden folder beside, then moved into place)."""
        if not dest.name.lower().endswith(".mrb"):
            raise UnsupportedFormat("save the scene with an .mrb name")
        staging = dest.parent / f".partial-{uuid.uuid4().hex}"
        staging.mkdir()
        try:
            partial = staging / dest.name
            if not self.scene.WriteToMRB(partial.as_posix()) or not partial.is_file():
                raise InvalidData("the scene could not be written")
            partial.replace(dest)
        finally:
            shutil.rmtree(staging, ignore_errors=True)

    def save_node(self, node_id: str, dest: Path) -> None:
        """Write one volume, segmentation or model node; the format follows the file name."""
        node = self.scene.GetNodeByID(node_id)
        if node is None:
            raise NotFound(f"no node {node_id!r} in the scene")
        kind = kind_of(dest)
        io = self._app.io_manager
        if node.IsA("vtkMRMLSegmentationNode") and kind == "segmentation":
            _write_segmentation(node, dest)
        elif node.IsA("vtkMRMLSegmentationNode") and kind == "volume":
            io.write_segmentation(node, dest.as_posix())  # as a labelmap volume
        elif node.IsA("vtkMRMLVolumeNode") and kind == "volume":
            io.write_volume(node, dest)
        elif node.IsA("vtkMRMLModelNode") and kind == "model":
            io.write_model(node, dest)
        else:
            raise UnsupportedFormat(
                f"cannot save {node.GetClassName().removeprefix('vtkMRML')} as {dest.name}: use .nrrd/.nii.gz for "
                "volumes, .seg.nrrd for segmentations, .stl/.vtk/.obj/.ply for models"
            )
        if not dest.exists():
            raise InvalidData(f"{dest.name} could not be written")


def _write_segmentation(node, dest: Path) -> None:
    """Write a Slicer segmentation file (.seg.nrrd: labelmap plus segment names, colors and terminology)."""
    from slicer import vtkMRMLSegmentationStorageNode

    storage = vtkMRMLSegmentationStorageNode()
    storage.SetFileName(dest.as_posix())
    if not storage.WriteData(node):
        raise InvalidData(f"{dest.name} could not be written")
