"""Each built-in module run as a Slicer CLI (``python -m slicer_cloud.modules.NAME``) on synthetic volumes with known
answers; ``--xml`` answers valid SEM; progress follows Slicer's protocol."""

from __future__ import annotations

import csv
import importlib
import re

import numpy as np
import pytest

from slicer_cloud.modules import BUILTIN
from slicer_cloud.sem import parse_description

from .conftest import ball, read_volume, run_module, write_volume

BALL_VOXELS = int((ball() > 0).sum())


@pytest.mark.parametrize("name", BUILTIN)
def test_a_module_answers_xml_with_a_valid_sem_description(name):
    result = run_module(name, "--xml")
    description = parse_description(result.stdout)
    assert description.title and description.category
    assert result.stdout.strip() == importlib.import_module(f"slicer_cloud.modules.{name}").XML.strip()
    assert any(p.index == 0 for p in description.parameters)


def test_a_run_reports_progress_in_slicers_protocol(ball_file, tmp_path):
    out = run_module("gaussian_blur", "--sigma", "1.5", ball_file, tmp_path / "blur.nrrd").stdout
    assert out.startswith("<filter-start>") and "<filter-name>Gaussian Blur</filter-name>" in out
    values = [float(v) for v in re.findall(r"<filter-progress>([0-9.]+)</filter-progress>", out)]
    assert values[0] == 0 and values[-1] == 1 and values == sorted(values) and len(values) >= 4
    assert "<filter-comment>Smoothing</filter-comment>" in out
    assert out.rstrip().endswith("</filter-end>")


def test_gaussian_blur_spreads_a_point_with_the_variance_of_sigma(tmp_path):
    delta = np.zeros((41, 41, 41), np.float32)
    delta[20, 20, 20] = 1000
    source = write_volume(tmp_path / "delta.nrrd", delta, spacing=(0.5, 0.5, 0.5))
    run_module("gaussian_blur", "--sigma", "2", source, tmp_path / "out.nrrd")
    _, blurred = read_volume(tmp_path / "out.nrrd")
    assert blurred.sum() == pytest.approx(1000, rel=0.02)
    x = (np.arange(41) - 20) * 0.5
    profile = blurred.sum(axis=(0, 1))
    variance = (profile * x**2).sum() / profile.sum()
    assert variance == pytest.approx(4.0, rel=0.1)


def test_median_filter_removes_isolated_spikes(tmp_path):
    volume = np.full((32, 32, 32), 100, np.int16)
    rng = np.random.default_rng(1)
    for k, j, i in rng.integers(2, 30, (30, 3)):
        volume[k, j, i] = 5000
    source = write_volume(tmp_path / "spiky.nrrd", volume)
    run_module("median_filter", "--neighborhood", "1,1,1", source, tmp_path / "out.nrrd")
    _, filtered = read_volume(tmp_path / "out.nrrd")
    assert filtered.max() == 100 and filtered.min() == 100


def test_threshold_of_a_sphere_has_the_spheres_voxel_count(ball_file, tmp_path):
    sphere = ball(radius=14, inside=700) + np.random.default_rng(4).integers(0, 100, (48, 48, 48)).astype(np.int16)
    source = write_volume(tmp_path / "sphere.nrrd", sphere)
    run_module("threshold", "--lower", "500", "--label", "3", source, tmp_path / "label.nrrd")
    image, labels = read_volume(tmp_path / "label.nrrd")
    assert set(np.unique(labels)) == {0, 3}
    assert (labels == 3).sum() == pytest.approx(4 / 3 * np.pi * 14**3, rel=0.01)


def test_resample_to_a_coarser_spacing_keeps_the_extent_and_the_volume(ball_file, tmp_path):
    run_module("resample", "--spacing", "2,2,2", ball_file, tmp_path / "out.nrrd")
    image, voxels = read_volume(tmp_path / "out.nrrd")
    assert image.GetSize() == (24, 24, 24) and image.GetSpacing() == (2, 2, 2)
    assert image.GetOrigin() == pytest.approx((0.5, 0.5, 0.5))
    assert (voxels >= 500).sum() * 8 == pytest.approx(BALL_VOXELS, rel=0.05)
    run_module("resample", "--spacing", "0.5,1,2", "--interpolation", "nearest", ball_file, tmp_path / "fine.nrrd")
    image, voxels = read_volume(tmp_path / "fine.nrrd")
    assert image.GetSize() == (96, 48, 24)
    assert set(np.unique(voxels)) == {0, 1000}


def test_crop_to_a_ras_box_keeps_exactly_the_box(ball_file, tmp_path):
    # The ball's centre is voxel (24, 24, 24) = LPS (24, 24, 24) = RAS (-24, -24, 24).
    run_module("crop", "--roi=-24,-24,24,12,12,12", ball_file, tmp_path / "out.nrrd")
    image, voxels = read_volume(tmp_path / "out.nrrd")
    assert image.GetSize() == (25, 25, 25)
    assert image.GetOrigin() == pytest.approx((12, 12, 12))
    assert (voxels > 0).sum() == BALL_VOXELS


def test_n4_removes_most_of_a_smooth_multiplicative_bias(tmp_path):
    shape = (40, 40, 40)
    truth = ball(shape, radius=16, inside=1000, outside=0).astype(np.float32)
    rng = np.random.default_rng(2)
    truth[truth > 0] += rng.normal(0, 10, int((truth > 0).sum()))
    x = np.arange(shape[2]) / shape[2]
    biased = truth * (0.6 + 0.8 * x)[None, None, :]
    source = write_volume(tmp_path / "biased.nrrd", biased.astype(np.float32))
    run_module("n4_bias_correction", "--shrinkFactor", "2", "--iterations", "30,20", source, tmp_path / "out.nrrd")
    _, corrected = read_volume(tmp_path / "out.nrrd")
    inside = truth > 0

    def variation(v):
        return v[inside].std() / v[inside].mean()

    assert variation(biased) > 0.12
    assert variation(corrected) < variation(biased) / 2


def test_otsu_separates_a_noisy_sphere_from_its_background(tmp_path):
    rng = np.random.default_rng(3)
    volume = ball().astype(np.float32) + rng.normal(0, 60, (48, 48, 48)).astype(np.float32)
    source = write_volume(tmp_path / "noisy.nrrd", volume)
    run_module("otsu_segmentation", source, tmp_path / "out.nrrd")
    _, labels = read_volume(tmp_path / "out.nrrd")
    assert set(np.unique(labels)) == {0, 1}
    assert (labels == 1).sum() == pytest.approx(BALL_VOXELS, rel=0.01)


def test_label_statistics_writes_a_table_with_the_known_values(tmp_path):
    intensity = np.zeros((20, 20, 20), np.float32)
    labels = np.zeros((20, 20, 20), np.uint8)
    labels[2:6, 2:6, 2:6] = 1
    intensity[2:6, 2:6, 2:6] = 100
    labels[10:14, 10:14, 10:18] = 2
    intensity[10:14, 10:14, 10:14] = 200
    intensity[10:14, 10:14, 14:18] = 300
    spacing = (2.0, 2.0, 2.0)
    volume = write_volume(tmp_path / "intensity.nrrd", intensity, spacing)
    label_file = write_volume(tmp_path / "labels.nrrd", labels, spacing)
    table = tmp_path / "stats.csv"
    returned = tmp_path / "return.txt"
    run_module("label_statistics", "--returnparameterfile", returned, volume, label_file, table)
    rows = list(csv.DictReader(table.open()))
    assert [r["label"] for r in rows] == ["1", "2"]
    one, two = rows
    assert int(one["count"]) == 64 and float(one["volume_mm3"]) == 512 and float(one["mean"]) == 100
    assert float(one["std"]) == 0 and float(one["volume_cc"]) == pytest.approx(0.512)
    assert int(two["count"]) == 128 and float(two["mean"]) == 250
    assert float(two["std"]) == pytest.approx(50, rel=0.01)
    assert (float(two["min"]), float(two["max"])) == (200, 300)
    assert returned.read_text().strip() == "labelCount = 2"


def _mass_properties(path):
    from vtkmodules.vtkFiltersCore import vtkMassProperties, vtkTriangleFilter

    from slicer_cloud.modules.model_io import read_model_lps

    polydata = read_model_lps(str(path))
    triangles = vtkTriangleFilter()
    triangles.SetInputData(polydata)
    mass = vtkMassProperties()
    mass.SetInputConnection(triangles.GetOutputPort())
    mass.Update()
    return mass.GetVolume(), polydata.GetCenter(), polydata.GetNumberOfPolys()


def test_labelmap_to_model_builds_a_closed_surface_of_the_right_volume_and_place(tmp_path):
    labels = write_volume(tmp_path / "labels.nrrd", (ball() > 0).astype(np.uint8), origin=(10, 20, 30))
    run_module("labelmap_to_model", "--decimation", "0", labels, tmp_path / "full.vtk")
    run_module("labelmap_to_model", "--decimation", "0.5", labels, tmp_path / "half.vtk")
    volume, center, polys = _mass_properties(tmp_path / "full.vtk")
    assert volume == pytest.approx(4 / 3 * np.pi * 10**3, rel=0.05)
    assert center == pytest.approx((34, 44, 54), abs=0.5)
    assert "SPACE=LPS" in (tmp_path / "full.vtk").read_bytes()[:200].decode("latin-1")
    _, _, fewer = _mass_properties(tmp_path / "half.vtk")
    assert fewer == pytest.approx(polys / 2, rel=0.1)


def _sphere_model(path, center, header):
    from vtkmodules.vtkFiltersSources import vtkSphereSource
    from vtkmodules.vtkIOLegacy import vtkPolyDataWriter

    sphere = vtkSphereSource()
    sphere.SetCenter(*center)
    sphere.SetRadius(10)
    sphere.SetThetaResolution(64)
    sphere.SetPhiResolution(64)
    writer = vtkPolyDataWriter()
    writer.SetInputConnection(sphere.GetOutputPort())
    writer.SetHeader(header)
    writer.SetFileName(str(path))
    writer.Write()
    return path


@pytest.mark.parametrize(
    ("center", "header"), [((24, 24, 24), "SPACE=LPS"), ((-24, -24, 24), "3D Slicer output. SPACE=RAS")]
)
def test_model_to_labelmap_fills_a_sphere_in_either_coordinate_system(tmp_path, ball_file, center, header):
    model = _sphere_model(tmp_path / "sphere.vtk", center, header)
    run_module("model_to_labelmap", "--label", "5", model, ball_file, tmp_path / "out.nrrd")
    image, labels = read_volume(tmp_path / "out.nrrd")
    assert image.GetSize() == (48, 48, 48)
    assert set(np.unique(labels)) == {0, 5}
    assert (labels == 5).sum() == pytest.approx(4 / 3 * np.pi * 10**3, rel=0.03)
    filled = np.argwhere(labels == 5).mean(axis=0)
    assert filled == pytest.approx((24, 24, 24), abs=0.5)


def test_a_bad_input_file_fails_with_a_message_and_no_traceback(tmp_path):
    bad = tmp_path / "bad.nrrd"
    bad.write_bytes(b"NRRD0004\ntype: short\ndimension: 3\nsizes: 4 4 4\nencoding: raw\n\nshort")
    result = run_module("gaussian_blur", bad, tmp_path / "out.nrrd", check=False)
    assert result.returncode == 1
    assert "bad.nrrd could not be read as an image" in result.stderr and "Traceback" not in result.stderr


def test_a_value_outside_the_constraints_is_refused_before_running(ball_file, tmp_path):
    result = run_module("gaussian_blur", "--sigma", "0", ball_file, tmp_path / "out.nrrd", check=False)
    assert result.returncode == 2 and "below the minimum 0.01" in result.stderr
    assert not (tmp_path / "out.nrrd").exists()
