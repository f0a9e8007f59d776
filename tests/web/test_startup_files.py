"""FILE arguments of ``serve`` load at start (instead of the sample); a bad one is reported and skipped."""

from __future__ import annotations

import pytest

from helpers import datagen
from helpers.serve import start_server

pytestmark = pytest.mark.server


def test_files_given_on_the_command_line_load_at_start(tmp_path):
    data = tmp_path / "data"
    data.mkdir()
    files = [
        datagen.write_nrrd(tmp_path / "ball.nrrd"),
        datagen.write_stl(tmp_path / "sphere.stl"),
        datagen.write_labelmap_seg(tmp_path / "labels.seg.nrrd"),
    ]
    datagen.write_ct_dicom_series(tmp_path / "ct", slices=6, size=32)
    bomb = tmp_path / "bomb.nrrd"
    bomb.write_bytes(datagen.nrrd_header_bomb())
    server = start_server(data, *map(str, files), str(tmp_path / "ct"), str(bomb))
    try:
        _, body = server.request("GET", "/api/v1/scene/nodes")
        kinds = sorted(n["kind"] for n in body["nodes"])
        names = " ".join(n["name"] for n in body["nodes"])
        assert kinds.count("volume") == 2 and "model" in kinds and "segmentation" in kinds, kinds
        assert "mni_icbm152" not in names  # files given: no sample
        assert "could not load bomb.nrrd" in server.log.read_text()
    finally:
        server.stop()


def test_the_quick_start_data_folder_is_created_and_shows_the_sample(tmp_path):
    data = tmp_path / "slicer-cloud-data"  # as in the README: does not exist yet
    server = start_server(data)
    try:
        _, body = server.request("GET", "/api/v1/scene/nodes")
        assert any("mni_icbm152" in n["name"] for n in body["nodes"])
        assert data.is_dir()
    finally:
        server.stop()
