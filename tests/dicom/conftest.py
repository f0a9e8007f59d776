from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))

from datagen import SeriesSpec  # noqa: E402
from orthanc import Orthanc, start_orthanc  # noqa: E402


@pytest.fixture(scope="session")
def ct_spec() -> SeriesSpec:
    """A small CT-like series: 12 axial slices of 48 x 64, 0.8 x 0.7 x 2.5 mm."""
    return SeriesSpec()


@pytest.fixture(scope="session")
def mr_spec() -> SeriesSpec:
    """An MR series of another patient, sagittal (rows along anterior->posterior, columns head->feet)."""
    return SeriesSpec(
        modality="MR",
        slices=8,
        rows=40,
        columns=32,
        spacing=(1.0, 1.2, 3.0),
        origin=(-30.0, -80.0, 60.0),
        row_dir=(0.0, 1.0, 0.0),
        col_dir=(0.0, 0.0, -1.0),
        patient_id="SC-0002",
        patient_name="Roe^Richard",
        accession="ACC0002",
        study_date="20231105",
        description="MR T1 sagittal",
        seed=7,
    )


@pytest.fixture(scope="module")
def orthanc(tmp_path_factory) -> Orthanc:
    """A real Orthanc with the DICOMweb plugin and authentication, empty, for the module."""
    server = start_orthanc(tmp_path_factory.mktemp("orthanc"))
    yield server
    server.stop()


@pytest.fixture(scope="module")
def slicer_session(tmp_path_factory):
    """An in-process session (scene, loader) on an empty data root."""
    from trame_slicer.core import SlicerApp

    from slicer_cloud.core.session import Session
    from slicer_cloud.settings import Settings

    data = tmp_path_factory.mktemp("data")
    return Session(Settings(data=data, sample=False), SlicerApp())
