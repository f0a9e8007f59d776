"""Opening DICOM series from the data root into the scene: geometry, voxels, refusals, hostile files."""

from __future__ import annotations

import asyncio

import numpy as np
import psutil
import pytest
from datagen import (
    SeriesSpec,
    expected_ijk_to_ras,
    hostile_absurd_size,
    hostile_deep_sequence,
    hostile_truncated,
    not_dicom,
    series_datasets,
    write_series,
)
from pydicom.uid import JPEG2000Lossless, JPEGLSLossless, RLELossless

from slicer_cloud.core.limits import Limits
from slicer_cloud.dicom.service import DicomService
from slicer_cloud.dicom.volume import check_size, middle_out
from slicer_cloud.errors import InvalidData, TooLarge


def ijk_to_ras(node) -> np.ndarray:
    import vtk

    matrix = vtk.vtkMatrix4x4()
    node.GetIJKToRASMatrix(matrix)
    return np.array([[matrix.GetElement(i, j) for j in range(4)] for i in range(4)])


def voxels(node) -> np.ndarray:
    from vtk.util import numpy_support

    x, y, z = node.GetImageData().GetDimensions()
    return numpy_support.vtk_to_numpy(node.GetImageData().GetPointData().GetScalars()).reshape(z, y, x)


@pytest.fixture(scope="module")
def service(slicer_session, ct_spec, mr_spec):
    root = slicer_session.data_root.root
    write_series(root / "ct", ct_spec)
    write_series(root / "mr", mr_spec)
    return DicomService(slicer_session, environ={})


@pytest.mark.parametrize("which", ["ct_spec", "mr_spec"])
def test_a_local_series_loads_with_the_geometry_and_voxels_it_was_written_with(service, which, request):
    spec: SeriesSpec = request.getfixturevalue(which)
    result = asyncio.run(service.open_series("local", spec.study_uid, spec.series_uid))
    node = service.session.scene.GetNodeByID(result["node_id"])
    assert node.GetImageData().GetDimensions() == (spec.columns, spec.rows, spec.slices)
    assert np.allclose(ijk_to_ras(node), expected_ijk_to_ras(spec), atol=1e-4)
    assert np.array_equal(voxels(node), spec.voxels())
    assert result["first_slice_s"] <= result["full_volume_s"]
    assert node.GetAttribute("DICOM.source") == "local"


@pytest.mark.parametrize("syntax", [JPEG2000Lossless, JPEGLSLossless, RLELossless])
def test_compressed_series_are_decoded_losslessly(service, syntax):
    spec = SeriesSpec(slices=4, seed=31, description=f"compressed {syntax.name}")
    write_series(service.session.data_root.root / f"compressed-{syntax}", spec, syntax)
    result = asyncio.run(service.open_series("local", spec.study_uid, spec.series_uid, show=False))
    node = service.session.scene.GetNodeByID(result["node_id"])
    assert np.array_equal(voxels(node), spec.voxels())


def test_slices_arrive_middle_first_so_the_views_fill_from_what_they_show():
    assert middle_out(5) == [2, 1, 3, 0, 4]
    assert sorted(middle_out(8)) == list(range(8))


def test_a_series_above_the_limits_is_refused_before_allocation(service, ct_spec):
    (loadable,) = service.loadables("local", ct_spec.study_uid, ct_spec.series_uid)
    with pytest.raises(TooLarge, match="max_image_voxels"):
        check_size(loadable, Limits(max_image_voxels=ct_spec.rows * ct_spec.columns * ct_spec.slices - 1))
    check_size(loadable, Limits())


@pytest.mark.parametrize(
    "content,reason",
    [
        (hostile_absurd_size(), "corrupt header"),
        (hostile_truncated(), "truncated"),
        (hostile_deep_sequence(), "nests sequences"),
        (not_dicom(), "not a DICOM file"),
    ],
)
def test_hostile_files_are_skipped_with_a_clear_reason_and_memory_stays_bounded(service, content, reason):
    root = service.session.data_root.root
    (root / "hostile").mkdir(exist_ok=True)
    (root / "hostile" / "x.dcm").write_bytes(content)
    rss = psutil.Process().memory_info().rss
    service.index.scan()
    assert psutil.Process().memory_info().rss - rss < 200 * 2**20
    skipped = {row["path"]: row["reason"] for row in service.index.skipped()}
    assert reason in skipped["hostile/x.dcm"]


def test_a_hostile_slice_inside_a_series_fails_the_load_cleanly(service, slicer_session):
    spec = SeriesSpec(slices=4, description="one bad slice")
    paths = write_series(slicer_session.data_root.root / "onebad", spec)
    service.index.scan()
    raw = paths[2].read_bytes()
    paths[2].write_bytes(raw[:-3000])  # cut after indexing: the loader must catch it
    before = slicer_session.scene.GetNumberOfNodes()
    with pytest.raises(InvalidData):
        asyncio.run(service.open_series("local", spec.study_uid, spec.series_uid))
    assert slicer_session.scene.GetNumberOfNodes() == before


def test_an_enhanced_multi_frame_ct_loads_as_a_volume_with_its_geometry(service):
    import highdicom as hd

    spec = SeriesSpec(slices=6, seed=51, description="multi-frame")
    legacy = sorted(series_datasets(spec), key=lambda ds: ds.InstanceNumber)
    enhanced = hd.legacy.LegacyConvertedEnhancedCTImage(
        legacy_datasets=legacy, series_instance_uid=hd.UID(), series_number=9, sop_instance_uid=hd.UID(),
        instance_number=1,
    )  # fmt: skip
    folder = service.session.data_root.root / "enhanced"
    folder.mkdir()
    enhanced.save_as(folder / "mf.dcm", enforce_file_format=True)
    (loadable,) = service.loadables("local", spec.study_uid, str(enhanced.SeriesInstanceUID))
    assert loadable.loadable and loadable.multiframe
    result = asyncio.run(service.open_series("local", spec.study_uid, str(enhanced.SeriesInstanceUID)))
    node = service.session.scene.GetNodeByID(result["node_id"])
    matrix, array = ijk_to_ras(node), voxels(node)
    expected = expected_ijk_to_ras(spec)
    if np.dot(matrix[:3, 2], expected[:3, 2]) < 0:  # stacked top-down: the same voxels in space
        array = array[::-1]
        matrix[:3, 3] += matrix[:3, 2] * (spec.slices - 1)
        matrix[:3, 2] *= -1
    assert np.allclose(matrix, expected, atol=1e-4)
    assert np.array_equal(array, spec.voxels())
