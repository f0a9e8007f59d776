"""A session in-process: loading every format through the checked loader, change tracking and autosave."""

from __future__ import annotations

from pathlib import Path

import pytest

from helpers import datagen
from slicer_cloud.core.session import Session
from slicer_cloud.errors import InvalidData, TooLarge, UnsafePath, UnsupportedFormat
from slicer_cloud.settings import Settings


@pytest.fixture(scope="module")
def session(tmp_path_factory) -> Session:
    from trame_slicer.core import SlicerApp

    data = tmp_path_factory.mktemp("data")
    return Session(Settings(data=data, autosave_keep=2), SlicerApp())


def count(session: Session) -> int:
    return session.scene.GetNumberOfNodes()


def test_volumes_models_segmentations_and_dicom_load(session, tmp_path):
    for maker, name, kind in [
        (datagen.write_nrrd, "a.nrrd", "volume"),
        (datagen.write_nifti, "b.nii.gz", "volume"),
        (datagen.write_stl, "c.stl", "model"),
        (datagen.write_labelmap_seg, "d.seg.nrrd", "segmentation"),
    ]:
        result = session.load(maker(tmp_path / name))
        assert result.kind == kind and result.node_ids
    datagen.write_ct_dicom_series(tmp_path / "ct", slices=6, size=32)
    result = session.load(tmp_path / "ct")
    assert result.kind == "dicom" and result.volume_ids
    volume = session.scene.GetNodeByID(result.volume_ids[0])
    assert volume.GetImageData().GetDimensions() == (32, 32, 6)


def test_a_failed_load_removes_what_it_created(session, tmp_path):
    bad = tmp_path / "trunc.nrrd"
    bad.write_bytes(b"NRRD0004\ntype: short\ndimension: 3\nsizes: 64 64 64\nencoding: raw\n\n" + b"\1" * 10)
    before = count(session)
    with pytest.raises(InvalidData):
        session.load(bad)
    assert count(session) == before


@pytest.mark.parametrize(
    "name,content,error",
    [
        ("bomb.nrrd", datagen.nrrd_header_bomb(), TooLarge),
        ("evil.mrml", datagen.mrml_referencing("/etc/passwd"), UnsafePath),
        ("evil2.mrml", datagen.mrml_referencing("../../../etc/passwd"), UnsafePath),
        ("remote.mrml", datagen.mrml_referencing("http://example.org/x.nrrd"), UnsafePath),
        ("notes.txt", b"hi", UnsupportedFormat),
    ],
)
def test_hostile_files_raise_the_right_error(session, tmp_path, name, content, error):
    path = tmp_path / name
    path.write_bytes(content)
    before = count(session)
    with pytest.raises(error):
        session.load(path)
    assert count(session) == before


def test_the_fingerprint_changes_when_a_segment_is_painted(session, tmp_path):
    import numpy as np
    from vtkmodules.util.numpy_support import vtk_to_numpy

    result = session.load(datagen.write_labelmap_seg(tmp_path / "paint.seg.nrrd"))
    seg_node = next(session.scene.GetNodeByID(i) for i in result.node_ids if i.startswith("vtkMRMLSegmentationNode"))
    session.autosaver.mark_saved()
    assert not session.autosaver.changed
    segment = seg_node.GetSegmentation().GetNthSegment(0)
    labelmap = segment.GetRepresentation("Binary labelmap")
    voxels = vtk_to_numpy(labelmap.GetPointData().GetScalars())
    voxels[: voxels.size // 10] = np.max(voxels)
    labelmap.Modified()
    assert session.autosaver.changed


def test_autosave_writes_only_on_change_keeps_the_newest_and_restores(session, tmp_path):
    session.autosaver.mark_saved()
    assert session.autosaver.save_if_changed() is None
    node = session.scene.AddNewNodeByClass("vtkMRMLMarkupsFiducialNode", "landmarks")
    node.AddControlPoint(1.0, 2.0, 3.0)
    first = session.autosaver.save_if_changed()
    assert first is not None and first.read_bytes()[:2] == b"PK"
    node.AddControlPoint(4.0, 5.0, 6.0)
    session.autosaver.save_now()
    session.autosaver.save_now()
    saves = sorted(session.autosaver.folder.glob("autosave-*.mrb"))
    assert len(saves) == 2 and first not in saves

    from trame_slicer.core import SlicerApp

    fresh = Session(Settings(data=session.data_root.root, restore=True, sample=False), SlicerApp())
    fresh.load_startup([])
    restored = fresh.scene.GetFirstNodeByName("landmarks")
    assert restored is not None and restored.GetNumberOfControlPoints() == 2


def test_health_reveals_status_version_and_uptime_only(session):
    assert set(session.health()) == {"status", "version", "uptime"}


def test_the_sample_loads_into_an_empty_data_root(tmp_path):
    from trame_slicer.core import SlicerApp

    data = tmp_path / "empty"
    data.mkdir()
    fresh = Session(Settings(data=data), SlicerApp())
    fresh.load_startup([])
    volumes = fresh.scene.GetNodesByClass("vtkMRMLScalarVolumeNode")
    assert volumes.GetNumberOfItems() == 1
    assert Path(data, ".slicer-cloud").is_dir()
