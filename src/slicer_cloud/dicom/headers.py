"""Reading one DICOM header (file or bytes) into a flat record, or a reason why it is skipped.

Nothing here reads pixel data: the record carries where the pixels start so a truncated file is caught by its size.
"""

from __future__ import annotations

import io
import json
import struct
from dataclasses import asdict, dataclass
from typing import IO, Any

import pydicom
from pydicom.dataset import Dataset
from pydicom.errors import InvalidDicomError

DICOMDIR_CLASS = "1.2.840.10008.1.3.10"
NATIVE_SYNTAXES = {
    "1.2.840.10008.1.2",  # implicit VR little endian
    "1.2.840.10008.1.2.1",  # explicit VR little endian
    "1.2.840.10008.1.2.2",  # explicit VR big endian
}
PARSE_ERRORS = (InvalidDicomError, OSError, ValueError, EOFError, TypeError, AttributeError, KeyError, IndexError)


class Skipped(Exception):
    """A file that is not indexed: ``reason`` says why, in words a user can act on."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass
class InstanceRecord:
    """The header fields the index, the series splitter and the DICOMweb service need."""

    sop_instance_uid: str
    sop_class_uid: str
    transfer_syntax: str
    patient_id: str
    patient_name: str
    patient_birth_date: str
    patient_sex: str
    study_uid: str
    study_date: str
    study_time: str
    study_description: str
    study_id: str
    accession: str
    series_uid: str
    series_number: int | None
    series_description: str
    modality: str
    instance_number: int | None
    rows: int
    columns: int
    frames: int
    samples: int
    bits_allocated: int
    bits_stored: int
    position: str  # JSON list or ""
    orientation: str  # JSON list or ""
    spacing: str  # JSON list or ""
    acquisition_number: int | None
    pixel_offset: int  # byte offset of the PixelData element, 0 when none
    pixel_representation: int = 0
    photometric: str = ""
    rescale_slope: str = ""
    rescale_intercept: str = ""

    def as_row(self) -> dict[str, Any]:
        return asdict(self)

    @property
    def is_image(self) -> bool:
        return self.rows > 0 and self.columns > 0 and self.pixel_offset > 0

    @property
    def declared_bytes(self) -> int:
        return self.rows * self.columns * self.frames * self.samples * ((self.bits_allocated + 7) // 8)


def _text(ds: Dataset, keyword: str) -> str:
    value = ds.get(keyword, "")
    return "" if value is None else str(value).strip()[:200]


def _int(ds: Dataset, keyword: str, default: int | None = None) -> int | None:
    try:
        value = ds.get(keyword, default)
        return default if value in (None, "") else int(value)
    except (TypeError, ValueError):
        return default


def _floats(ds: Dataset, keyword: str, count: int) -> str:
    try:
        values = [float(v) for v in ds.get(keyword) or []]
    except (TypeError, ValueError):
        return ""
    return json.dumps(values) if len(values) == count else ""


def read_record(source: str | IO[bytes], size: int) -> InstanceRecord:
    """Parse the header of a DICOM file (path or binary stream of ``size`` bytes); raise :class:`Skipped`."""
    stream = open(source, "rb") if isinstance(source, str) else source  # noqa: SIM115 - closed below
    try:
        return _read(stream, size)
    finally:
        if isinstance(source, str):
            stream.close()


def _read(stream: IO[bytes], size: int) -> InstanceRecord:
    head = stream.read(132)
    stream.seek(0)
    if len(head) < 132 or head[128:132] != b"DICM":
        raise Skipped("not a DICOM file (no DICM marker at byte 128)")
    try:
        ds = pydicom.dcmread(stream, stop_before_pixels=True)
    except RecursionError:
        raise Skipped("the header nests sequences too deeply to be read safely") from None
    except PARSE_ERRORS as exc:
        raise Skipped(f"unreadable DICOM header ({type(exc).__name__})") from None
    offset = stream.tell() if stream.tell() < size else 0
    try:
        record = _record(ds, offset)
    except RecursionError:
        raise Skipped("the header nests sequences too deeply to be read safely") from None
    if record.sop_class_uid == DICOMDIR_CLASS:
        raise Skipped("DICOMDIR (a directory of the files beside it, which are indexed themselves)")
    if not record.sop_instance_uid or not record.series_uid or not record.study_uid:
        raise Skipped("no SOP instance, series or study UID")
    if record.is_image and record.transfer_syntax in NATIVE_SYNTAXES:
        _check_pixel_length(stream, record, size)
    return record


def _record(ds: Dataset, offset: int) -> InstanceRecord:
    meta = getattr(ds, "file_meta", None)
    syntax = str(meta.get("TransferSyntaxUID", "")) if meta is not None else ""
    return InstanceRecord(
        sop_instance_uid=_text(ds, "SOPInstanceUID"),
        sop_class_uid=_text(ds, "SOPClassUID"),
        transfer_syntax=syntax,
        patient_id=_text(ds, "PatientID"),
        patient_name=_text(ds, "PatientName"),
        patient_birth_date=_text(ds, "PatientBirthDate"),
        patient_sex=_text(ds, "PatientSex"),
        study_uid=_text(ds, "StudyInstanceUID"),
        study_date=_text(ds, "StudyDate"),
        study_time=_text(ds, "StudyTime"),
        study_description=_text(ds, "StudyDescription"),
        study_id=_text(ds, "StudyID"),
        accession=_text(ds, "AccessionNumber"),
        series_uid=_text(ds, "SeriesInstanceUID"),
        series_number=_int(ds, "SeriesNumber"),
        series_description=_text(ds, "SeriesDescription"),
        modality=_text(ds, "Modality"),
        instance_number=_int(ds, "InstanceNumber"),
        rows=_int(ds, "Rows", 0) or 0,
        columns=_int(ds, "Columns", 0) or 0,
        frames=max(1, _int(ds, "NumberOfFrames", 1) or 1),
        samples=max(1, _int(ds, "SamplesPerPixel", 1) or 1),
        bits_allocated=_int(ds, "BitsAllocated", 16) or 16,
        bits_stored=_int(ds, "BitsStored", 16) or 16,
        position=_floats(ds, "ImagePositionPatient", 3),
        orientation=_floats(ds, "ImageOrientationPatient", 6),
        spacing=_floats(ds, "PixelSpacing", 2),
        acquisition_number=_int(ds, "AcquisitionNumber"),
        pixel_offset=offset if "Rows" in ds else 0,
        pixel_representation=_int(ds, "PixelRepresentation", 0) or 0,
        photometric=_text(ds, "PhotometricInterpretation"),
        rescale_slope=_text(ds, "RescaleSlope"),
        rescale_intercept=_text(ds, "RescaleIntercept"),
    )


def _check_pixel_length(stream: IO[bytes], record: InstanceRecord, size: int) -> None:
    """Native pixel data must hold what Rows x Columns x Frames declare: a shorter file was cut off."""
    stream.seek(record.pixel_offset)
    header = stream.read(12)
    if len(header) < 8:
        raise Skipped("truncated: the file ends before its pixel data")
    if header[4:6] in (b"OB", b"OW", b"UN"):  # explicit VR: 2-byte VR, 2 reserved, 4-byte length
        length, start = struct.unpack("<I", header[8:12])[0], record.pixel_offset + 12
    else:
        length, start = struct.unpack("<I", header[4:8])[0], record.pixel_offset + 8
    available = size - start
    expected = record.declared_bytes
    if record.bits_allocated == 1:
        expected = (record.rows * record.columns * record.frames + 7) // 8
    if length == 0xFFFFFFFF:
        return
    if available < min(length, expected):
        raise Skipped(f"truncated: {available} of {min(length, expected)} bytes of pixel data present")
    if length < expected:
        raise Skipped(
            f"the pixel data holds {length} bytes but Rows x Columns x Frames declare {expected}: a corrupt header"
        )


def read_bytes_record(data: bytes) -> InstanceRecord:
    """:func:`read_record` for a file held in memory (a zip member, an upload)."""
    return read_record(io.BytesIO(data), len(data))
