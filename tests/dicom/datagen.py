"""DICOM test data made by code: CT-like and MR series with known geometry, and hostile files."""

from __future__ import annotations

import io
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pydicom
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.uid import (
    CTImageStorage,
    ExplicitVRLittleEndian,
    MRImageStorage,
    generate_uid,
)


@dataclass
class SeriesSpec:
    """What a generated series is: its pixels (slices, rows, columns) and LPS geometry."""

    modality: str = "CT"
    slices: int = 12
    rows: int = 48
    columns: int = 64
    spacing: tuple[float, float, float] = (0.8, 0.7, 2.5)  # column (x), row (y), slice
    origin: tuple[float, float, float] = (-120.0, -100.0, -40.0)
    row_dir: tuple[float, float, float] = (1.0, 0.0, 0.0)
    col_dir: tuple[float, float, float] = (0.0, 1.0, 0.0)
    patient_id: str = "SC-0001"
    patient_name: str = "Doe^Jane"
    accession: str = "ACC0001"
    study_date: str = "20240102"
    study_uid: str = field(default_factory=generate_uid)
    series_uid: str = field(default_factory=generate_uid)
    frame_of_reference: str = field(default_factory=generate_uid)
    series_number: int = 1
    description: str = "CT chest"
    seed: int = 0

    @property
    def normal(self) -> np.ndarray:
        return np.cross(self.row_dir, self.col_dir)

    def voxels(self) -> np.ndarray:
        """(slices, rows, columns) int16: a ball of 1000 HU-ish in noise, different in every slice."""
        z, y, x = np.indices((self.slices, self.rows, self.columns), dtype=np.float32)
        centre = np.array([self.slices / 2, self.rows / 2, self.columns / 2])
        dist = np.sqrt(((z - centre[0]) * 3) ** 2 + (y - centre[1]) ** 2 + (x - centre[2]) ** 2)
        ball = np.where(dist < min(self.rows, self.columns) / 3, 1000, 0)
        noise = np.random.default_rng(self.seed).integers(0, 100, ball.shape)
        return (ball + noise + z * 3 - 1024 * (self.modality == "CT")).astype(np.int16)

    def position(self, k: int) -> np.ndarray:
        return np.asarray(self.origin) + k * self.spacing[2] * self.normal


def series_datasets(spec: SeriesSpec) -> list[Dataset]:
    """One pydicom dataset per slice, in acquisition order (not sorted on disk)."""
    voxels = spec.voxels()
    sop_class = CTImageStorage if spec.modality == "CT" else MRImageStorage
    out = []
    for k in range(spec.slices):
        meta = FileMetaDataset()
        meta.MediaStorageSOPClassUID = sop_class
        meta.MediaStorageSOPInstanceUID = generate_uid()
        meta.TransferSyntaxUID = ExplicitVRLittleEndian
        ds = Dataset()
        ds.file_meta = meta
        ds.SOPClassUID = sop_class
        ds.SOPInstanceUID = meta.MediaStorageSOPInstanceUID
        ds.PatientName = spec.patient_name
        ds.PatientID = spec.patient_id
        ds.PatientBirthDate = "19700101"
        ds.PatientSex = "F"
        ds.StudyInstanceUID = spec.study_uid
        ds.StudyDate = spec.study_date
        ds.StudyTime = "101010"
        ds.StudyID = "1"
        ds.StudyDescription = "synthetic study"
        ds.AccessionNumber = spec.accession
        ds.ReferringPhysicianName = ""
        ds.SeriesInstanceUID = spec.series_uid
        ds.SeriesNumber = spec.series_number
        ds.SeriesDescription = spec.description
        ds.Modality = spec.modality
        ds.Manufacturer = "slicer-cloud tests"
        ds.FrameOfReferenceUID = spec.frame_of_reference
        ds.PositionReferenceIndicator = ""
        ds.InstanceNumber = k + 1
        ds.AcquisitionNumber = 1
        ds.ImagePositionPatient = [float(v) for v in spec.position(k)]
        ds.ImageOrientationPatient = [*map(float, spec.row_dir), *map(float, spec.col_dir)]
        ds.PixelSpacing = [spec.spacing[1], spec.spacing[0]]
        ds.SliceThickness = spec.spacing[2]
        ds.SamplesPerPixel = 1
        ds.PhotometricInterpretation = "MONOCHROME2"
        ds.Rows = spec.rows
        ds.Columns = spec.columns
        ds.BitsAllocated = 16
        ds.BitsStored = 16
        ds.HighBit = 15
        ds.PixelRepresentation = 1
        ds.ImageType = ["ORIGINAL", "PRIMARY", "AXIAL"]
        if spec.modality == "CT":
            ds.RescaleIntercept = 0
            ds.RescaleSlope = 1
            ds.KVP = 120
        else:
            ds.ScanningSequence = "SE"
            ds.SequenceVariant = "NONE"
            ds.ScanOptions = ""
            ds.MRAcquisitionType = "2D"
            ds.EchoTime = 10
            ds.RepetitionTime = 500
            ds.EchoTrainLength = 1
        ds.PixelData = voxels[k].tobytes()
        out.append(ds)
    order = np.random.default_rng(spec.seed + 1).permutation(spec.slices)
    return [out[i] for i in order]


def compressed_datasets(spec: SeriesSpec, syntax: str) -> list[Dataset]:
    """The series compressed with a lossless transfer syntax (JPEG 2000, JPEG-LS: pylibjpeg encoders; RLE)."""
    out = series_datasets(spec)
    for ds in out:
        ds.compress(syntax)
    return out


def write_series(folder: Path, spec: SeriesSpec, syntax: str | None = None) -> list[Path]:
    """Write the series into ``folder`` (file names do not follow slice order), optionally compressed."""
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    datasets = series_datasets(spec) if syntax is None else compressed_datasets(spec, syntax)
    for i, ds in enumerate(datasets):
        path = folder / f"IM{i:04d}.dcm"
        ds.save_as(path, enforce_file_format=True)
        paths.append(path)
    return paths


def dataset_bytes(ds: Dataset) -> bytes:
    buffer = io.BytesIO()
    ds.save_as(buffer, enforce_file_format=True)
    return buffer.getvalue()


def expected_ijk_to_ras(spec: SeriesSpec) -> np.ndarray:
    """The 4x4 IJK-to-RAS matrix Slicer should give this series (LPS -> RAS flips x and y)."""
    m = np.eye(4)
    m[:3, 0] = np.asarray(spec.row_dir) * spec.spacing[0]
    m[:3, 1] = np.asarray(spec.col_dir) * spec.spacing[1]
    m[:3, 2] = spec.normal * spec.spacing[2]
    m[:3, 3] = spec.origin
    flip = np.diag([-1.0, -1.0, 1.0, 1.0])
    return flip @ m


# -- hostile files -------------------------------------------------------------------------------------------


def hostile_absurd_size(spec: SeriesSpec | None = None) -> bytes:
    """A header that declares 65535 x 65535 x 50000 frames, with a few bytes of pixels."""
    ds = series_datasets(spec or SeriesSpec(slices=1))[0]
    ds.Rows = 65535
    ds.Columns = 65535
    ds.NumberOfFrames = 50000
    ds.PixelData = b"\0" * 64
    return dataset_bytes(ds)


def hostile_truncated(spec: SeriesSpec | None = None) -> bytes:
    """A valid slice cut in the middle of its pixel data."""
    data = dataset_bytes(series_datasets(spec or SeriesSpec(slices=1))[0])
    return data[: len(data) - 1000]


def hostile_deep_sequence(depth: int = 5000, spec: SeriesSpec | None = None) -> bytes:
    """A slice whose header nests ``depth`` sequences (undefined lengths) inside each other before its pixels."""
    import struct

    ds = series_datasets(spec or SeriesSpec(slices=1))[0]
    pixels = ds.PixelData
    del ds.PixelData
    head = dataset_bytes(ds)
    open_sq = struct.pack("<HH2sHI", 0x0040, 0xA730, b"SQ", 0, 0xFFFFFFFF) + struct.pack(
        "<HHI", 0xFFFE, 0xE000, 0xFFFFFFFF
    )
    close_sq = struct.pack("<HHI", 0xFFFE, 0xE00D, 0) + struct.pack("<HHI", 0xFFFE, 0xE0DD, 0)
    pixel_element = struct.pack("<HH2sHI", 0x7FE0, 0x0010, b"OW", 0, len(pixels)) + pixels
    return head + open_sq * depth + close_sq * depth + pixel_element


def not_dicom() -> bytes:
    return b"this is not a DICOM file\n" * 40


def read(path: Path) -> Dataset:
    return pydicom.dcmread(path)
