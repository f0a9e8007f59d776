"""``scene.segment``: a processing module run as a child process from the kernel's scene, its progress in the cell,
its labelmap back as a segmentation, its keyword arguments checked against the module's description."""

from __future__ import annotations

import logging
import tempfile
from pathlib import Path

import numpy as np
import pytest
from vtkmodules.vtkCommonCore import vtkStringArray

import slicer_cloud.jupyter as sj
from slicer_cloud.core.nrrd_codec import volume_to_array

PROGRESS_LOGGER = "slicer_cloud.jupyter.progress"


@pytest.fixture(scope="module")
def scene():
    return sj.Scene()


@pytest.fixture(scope="module")
def sphere(scene):
    """An off-centre noisy ball on a noisy background, anisotropic voxels and a shifted origin: (node, true mask)."""
    rng = np.random.default_rng(7)
    k, j, i = np.mgrid[:40, :48, :56]
    mask = (i - 30) ** 2 + ((j - 20) * 1.5) ** 2 + ((k - 18) * 2.0) ** 2 < 14**2
    voxels = np.where(mask, 300.0, 100.0) + rng.normal(0.0, 10.0, mask.shape)
    node = scene.add_array(voxels.astype(np.float32), spacing=(1.0, 1.5, 2.0), origin=(-20, 10, 5), name="sphere")
    return node, mask


class TempWatcher(logging.Handler):
    """Lists the module's temporary folders each time the progress bar moves (on the thread running the cell)."""

    def __init__(self, root: Path) -> None:
        super().__init__(logging.INFO)
        self.root = root
        self.seen: list[tuple[str, list[str]]] = []

    def emit(self, record: logging.LogRecord) -> None:
        folders = sorted(self.root.glob("slicer-cloud-segment-*"))
        self.seen.append((record.getMessage(), [f.name for f in folders for f in f.iterdir()]))


@pytest.fixture
def watched(monkeypatch, tmp_path):
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    logger = logging.getLogger(PROGRESS_LOGGER)
    watcher = TempWatcher(tmp_path)
    level = logger.level
    logger.setLevel(logging.INFO)
    logger.addHandler(watcher)
    yield watcher
    logger.removeHandler(watcher)
    logger.setLevel(level)


def labelmap_of(scene, segmentation, reference) -> np.ndarray:
    """The segmentation's voxels resampled on the reference volume's grid (Slicer's own export)."""
    labelmap = scene.mrml_scene.AddNewNodeByClass("vtkMRMLLabelMapVolumeNode", "__check")
    try:
        ids = vtkStringArray()
        seg = segmentation.GetSegmentation()
        for index in range(seg.GetNumberOfSegments()):
            ids.InsertNextValue(seg.GetNthSegmentID(index))
        assert scene.app.segmentations_logic.ExportSegmentsToLabelmapNode(segmentation, ids, labelmap, reference)
        return volume_to_array(labelmap).voxels
    finally:
        scene.mrml_scene.RemoveNode(labelmap)


def test_otsu_runs_as_a_module_process_and_finds_the_sphere(scene, sphere, watched, tmp_path):
    node, mask = sphere
    seg = scene.segment(node, "otsu_segmentation", name="ball")
    assert seg.GetName() == "ball"
    assert seg.GetSegmentation().GetNumberOfSegments() == 1
    assert seg.GetSegmentation().GetNthSegment(0).GetName() == "ball"
    # Known answer: the two classes do not overlap, so Otsu's split is the ball, voxel for voxel, in place.
    labels = labelmap_of(scene, seg, node)
    assert labels.shape == mask.shape
    assert np.array_equal(labels > 0, mask)
    # The bar followed the module's own reports: its stage comment comes from the module process's stdout.
    messages = [m for m, _ in watched.seen]
    assert any("Otsu thresholds" in m for m in messages), messages
    assert messages[-1].endswith("100% done")
    # The volume went to the module as a file in a temporary folder, which is gone afterwards.
    during = {name for _, names in watched.seen for name in names}
    assert "input.nrrd" in during, watched.seen
    assert not list(tmp_path.glob("slicer-cloud-segment-*"))


def test_threshold_takes_either_bound_and_refills_a_segmentation(scene, sphere, watched):
    node, mask = sphere
    voxels = volume_to_array(node).voxels
    seg = scene.segment(node, "threshold", lower=200, progress=False)
    assert seg.GetName() == "sphere threshold"
    assert seg.GetSegmentation().GetNthSegment(0).GetName() == "threshold"
    assert np.array_equal(labelmap_of(scene, seg, node) > 0, voxels >= 200)
    assert any("Thresholding" in m for m, _ in watched.seen)  # the module's stage
    same = scene.segment(node, "threshold", upper=200, segmentation=seg, progress=False)
    assert same.GetID() == seg.GetID() and same.GetSegmentation().GetNumberOfSegments() == 1
    assert np.array_equal(labelmap_of(scene, seg, node) > 0, voxels <= 200)


def test_bad_keywords_and_methods_are_clear_errors_and_change_nothing(scene, sphere, watched, tmp_path):
    node, _ = sphere
    before = scene.mrml_scene.GetNumberOfNodes()
    with pytest.raises(ValueError) as err:
        scene.segment(node, "threshold", lowr=100)
    assert "'lowr'" in str(err.value) and "labelValue, lower, upper" in str(err.value)
    with pytest.raises(ValueError, match="numberOfThresholds: 20 is above the maximum 8"):
        scene.segment(node, "otsu_segmentation", numberOfThresholds=20)
    with pytest.raises(ValueError, match="lower: expected a"):
        scene.segment(node, "threshold", lower="bright")
    with pytest.raises(ValueError, match="lower must not be greater than upper"):
        scene.segment(node, "threshold", lower=300, upper=100)
    with pytest.raises(ValueError, match="needs lower and/or upper"):
        scene.segment(node, "threshold")
    with pytest.raises(ValueError, match="'gaussian_blur' does not produce a labelmap; .*otsu_segmentation"):
        scene.segment(node, "gaussian_blur")
    with pytest.raises(ValueError, match="inputVolume"):
        scene.segment(node, "threshold", lower=1, inputVolume="/etc/passwd")
    assert scene.mrml_scene.GetNumberOfNodes() == before
    assert not watched.seen  # no module was started
    assert not list(tmp_path.glob("slicer-cloud-segment-*"))
