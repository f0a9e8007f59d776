"""The local DICOM index: what it finds, what it skips and why, how it follows changes, how series split."""

from __future__ import annotations

import shutil
import zipfile

import pytest
from datagen import (
    SeriesSpec,
    dataset_bytes,
    hostile_deep_sequence,
    hostile_truncated,
    not_dicom,
    series_datasets,
    write_series,
)

from slicer_cloud.dicom.index import DicomIndex
from slicer_cloud.errors import NotFound


@pytest.fixture
def root(tmp_path, ct_spec, mr_spec):
    write_series(tmp_path / "patients" / "ct", ct_spec)
    write_series(tmp_path / "patients" / "mr", mr_spec)
    (tmp_path / "notes.txt").write_text("not an image")
    return tmp_path


def test_the_index_lists_patients_studies_and_series_of_the_data_root(root, ct_spec, mr_spec):
    index = DicomIndex(root)
    report = index.scan()
    assert report.added == ct_spec.slices + mr_spec.slices and report.skipped == 0
    assert {p["patient_id"] for p in index.patients()} == {ct_spec.patient_id, mr_spec.patient_id}
    studies = index.studies()
    assert {s["study_uid"] for s in studies} == {ct_spec.study_uid, mr_spec.study_uid}
    series = index.series(study_uid=ct_spec.study_uid)
    assert [s["series_uid"] for s in series] == [ct_spec.series_uid]
    assert series[0]["instances"] == ct_spec.slices and series[0]["modality"] == "CT"
    assert (root / ".slicer-cloud" / "dicom-index.sqlite").is_file()


def test_searches_match_name_id_date_modality_and_accession(root, ct_spec, mr_spec):
    index = DicomIndex(root)
    index.scan()
    assert [s["study_uid"] for s in index.studies(patient_name="roe")] == [mr_spec.study_uid]
    assert [s["study_uid"] for s in index.studies(patient_name="*Jane")] == [ct_spec.study_uid]
    assert [s["study_uid"] for s in index.studies(patient_id=ct_spec.patient_id)] == [ct_spec.study_uid]
    assert [s["study_uid"] for s in index.studies(modality="mr")] == [mr_spec.study_uid]
    assert [s["study_uid"] for s in index.studies(accession="ACC0002")] == [mr_spec.study_uid]
    assert [s["study_uid"] for s in index.studies(study_date="20240101-")] == [ct_spec.study_uid]
    assert [s["study_uid"] for s in index.studies(study_date="-20231231")] == [mr_spec.study_uid]
    assert index.studies(patient_name="nobody") == []


def test_added_and_removed_files_update_the_index_and_unchanged_files_are_not_read_again(root, ct_spec):
    index = DicomIndex(root)
    index.scan()
    again = index.scan()
    assert again.added == 0 and again.unchanged > 0
    shutil.rmtree(root / "patients" / "mr")
    report = index.scan()
    assert report.removed > 0
    assert [s["study_uid"] for s in index.studies()] == [ct_spec.study_uid]
    extra = SeriesSpec(patient_id="SC-0003", patient_name="New^Patient", slices=3)
    write_series(root / "later", extra)
    assert index.scan().added == 3
    assert any(s["study_uid"] == extra.study_uid for s in index.studies())


def test_non_dicom_truncated_and_hostile_files_are_listed_as_skipped_with_a_reason(root):
    (root / "fake.dcm").write_bytes(not_dicom())
    (root / "cut.dcm").write_bytes(hostile_truncated())
    (root / "deep.dcm").write_bytes(hostile_deep_sequence())
    (root / "broken.zip").write_bytes(b"PK\x03\x04 not really a zip")
    index = DicomIndex(root)
    index.scan()
    reasons = {row["path"]: row["reason"] for row in index.skipped()}
    assert "not a DICOM file" in reasons["fake.dcm"]
    assert reasons["cut.dcm"].startswith("truncated")
    assert "nests sequences" in reasons["deep.dcm"]
    assert "zip" in reasons["broken.zip"]
    assert "notes.txt" not in reasons  # other formats are not DICOM candidates at all
    assert len(index.studies()) == 2  # the good series are still there


def test_series_inside_zips_are_indexed_and_readable(tmp_path, ct_spec):
    with zipfile.ZipFile(tmp_path / "study.zip", "w") as zf:
        for n, ds in enumerate(series_datasets(ct_spec)):
            zf.writestr(f"export/IM{n}", dataset_bytes(ds))
    index = DicomIndex(tmp_path)
    index.scan()
    rows = index.instances(series_uid=ct_spec.series_uid)
    assert len(rows) == ct_spec.slices and all(r["member"] for r in rows)
    assert index.read_bytes(rows[0])[128:132] == b"DICM"


def test_a_series_with_duplicate_positions_is_refused_with_a_reason(tmp_path, ct_spec):
    spec = SeriesSpec(slices=4)
    datasets = series_datasets(spec)
    datasets[1].ImagePositionPatient = list(datasets[0].ImagePositionPatient)
    datasets[1].AcquisitionNumber = 1
    for n, ds in enumerate(datasets):
        ds.save_as(tmp_path / f"{n}.dcm", enforce_file_format=True)
    index = DicomIndex(tmp_path)
    index.scan()
    (loadable,) = index.loadables(spec.series_uid)
    assert not loadable.loadable and "share one position" in loadable.reason


def test_irregular_spacing_loads_with_a_warning_and_orientations_split_the_series(tmp_path):
    spec = SeriesSpec(slices=6)
    datasets = series_datasets(spec)
    by_number = sorted(datasets, key=lambda d: d.InstanceNumber)
    by_number[-1].ImagePositionPatient = [
        *by_number[-1].ImagePositionPatient[:2],
        by_number[-1].ImagePositionPatient[2] + 4,
    ]
    localizer = series_datasets(SeriesSpec(slices=1, series_uid=spec.series_uid, study_uid=spec.study_uid,
                                           row_dir=(0.0, 1.0, 0.0), col_dir=(0.0, 0.0, -1.0)))[0]  # fmt: skip
    for n, ds in enumerate([*datasets, localizer]):
        ds.save_as(tmp_path / f"{n}.dcm", enforce_file_format=True)
    index = DicomIndex(tmp_path)
    index.scan()
    parts = index.loadables(spec.series_uid)
    assert len(parts) == 2
    axial = next(p for p in parts if p.dimensions and p.dimensions[2] == 6)
    assert axial.loadable and any("irregular slice spacing" in w for w in axial.warnings)


def test_multi_frame_instances_and_unknown_series_say_why_they_are_not_volumes(tmp_path):
    ds = series_datasets(SeriesSpec(slices=1))[0]
    ds.NumberOfFrames = 2
    ds.PixelData = ds.PixelData * 2
    ds.save_as(tmp_path / "mf.dcm", enforce_file_format=True)
    index = DicomIndex(tmp_path)
    index.scan()
    (loadable,) = index.loadables(str(ds.SeriesInstanceUID))
    assert not loadable.loadable and "multi-frame" in loadable.reason
    with pytest.raises(NotFound):
        index.loadables("1.2.3.4")


def test_a_dicomdir_file_set_is_indexed_through_its_files(tmp_path):
    from pydicom.fileset import FileSet

    spec = SeriesSpec(slices=4, description="from a CD")
    file_set = FileSet()
    for ds in series_datasets(spec):
        file_set.add(ds)
    file_set.write(tmp_path / "cd")
    assert (tmp_path / "cd" / "DICOMDIR").is_file()
    index = DicomIndex(tmp_path)
    index.scan()
    (loadable,) = index.loadables(spec.series_uid)
    assert loadable.loadable and loadable.dimensions[2] == 4
    assert index.skipped() == []
