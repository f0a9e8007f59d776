"""Finding DICOM image files in a folder and checking their declared sizes before ITK reads pixels."""

from __future__ import annotations

from pathlib import Path

import pydicom
from pydicom.errors import InvalidDicomError

from ..errors import InvalidData, TooLarge
from .limits import Limits

MAX_FILES = 20000


def dicom_files_in(folder: Path) -> list[Path]:
    """Regular files under ``folder`` (no symlinks) that parse as DICOM with a SOP class."""
    found: list[Path] = []
    candidates = [p for p in sorted(folder.rglob("*")) if p.is_file() and not p.is_symlink()]
    if len(candidates) > MAX_FILES:
        raise TooLarge(f"{folder.name} holds more than {MAX_FILES} files; load one series folder at a time")
    for path in candidates:
        try:
            dataset = pydicom.dcmread(path, stop_before_pixels=True, force=True)
        except (InvalidDicomError, OSError, ValueError, EOFError, TypeError, AttributeError):
            continue
        if "SOPClassUID" in dataset and "Rows" in dataset:
            found.append(path)
    return found


def check_dicom_files(files: list[Path], limits: Limits) -> None:
    """Sum the pixel sizes declared by DICOM headers; raise :class:`TooLarge` above the limits."""
    voxels = 0
    total = 0
    for path in files:
        try:
            ds = pydicom.dcmread(path, stop_before_pixels=True, force=True)
            rows, cols = int(ds.Rows), int(ds.Columns)
            frames = int(ds.get("NumberOfFrames", 1) or 1)
            samples = int(ds.get("SamplesPerPixel", 1) or 1)
            bits = int(ds.get("BitsAllocated", 16) or 16)
        except (InvalidDicomError, OSError, ValueError, TypeError, AttributeError):
            raise InvalidData(f"{path.name} has an unreadable DICOM header") from None
        if min(rows, cols, frames, samples, bits) <= 0:
            raise InvalidData(f"{path.name} declares an empty image")
        count = rows * cols * frames * samples
        voxels += count
        total += count * ((bits + 7) // 8)
    if voxels > limits.max_image_voxels or total > limits.max_image_bytes:
        raise TooLarge(
            f"the DICOM series declares {total / 1e9:.1f} GB of pixels, above the limit of "
            f"{limits.max_image_bytes / 1e9:.1f} GB; raise max_image_bytes / max_image_voxels to load it"
        )
