"""Volume file formats for the versioned API: judging an upload from its first bytes, and NIfTI export."""

from __future__ import annotations

import gzip
from typing import Literal

import numpy as np

from ..errors import InvalidData, UnsupportedFormat
from .nrrd_codec import VolumeArray

UploadFormat = Literal["nrrd", "nifti", "nifti-gz", "dicom-zip"]
SUFFIXES: dict[str, str] = {"nrrd": ".nrrd", "nifti": ".nii", "nifti-gz": ".nii.gz", "dicom-zip": ".zip"}


def sniff_format(prefix: bytes) -> UploadFormat:
    """What an uploaded volume is, from its first bytes (at least 348 for a raw NIfTI)."""
    if prefix.startswith(b"NRRD000"):
        return "nrrd"
    if prefix.startswith(b"PK\x03\x04"):
        return "dicom-zip"
    if prefix.startswith(b"\x1f\x8b"):
        return "nifti-gz"
    if prefix[344:348] in (b"n+1\x00", b"ni1\x00") or prefix[4:8] in (b"n+2\x00", b"ni2\x00"):
        return "nifti"
    raise UnsupportedFormat("send a NRRD, a NIfTI (.nii/.nii.gz) or a zip of a DICOM series")


MAX_EXTENT_MM = 1e6


def check_geometry(volume: VolumeArray) -> VolumeArray:
    """Refuse geometry the views cannot show: singular axes, or positions beyond a kilometre."""
    matrix = volume.ijk_to_ras
    axes = matrix[:3, :3]
    if not np.all(np.isfinite(matrix)) or np.abs(matrix).max() > MAX_EXTENT_MM:
        raise InvalidData(f"the volume's origin and spacing must lie within {MAX_EXTENT_MM:g} mm")
    if np.abs(np.linalg.det(axes)) < 1e-12 or np.linalg.norm(axes, axis=0).min() < 1e-6:
        raise InvalidData("the volume's space directions are degenerate (zero spacing or parallel axes)")
    extent = np.abs(axes).sum(axis=1) * max(volume.voxels.shape)
    if extent.max() > MAX_EXTENT_MM:
        raise InvalidData(f"the volume is larger than {MAX_EXTENT_MM:g} mm; check its spacing")
    return volume


def encode_nifti(volume: VolumeArray) -> bytes:
    """A gzip-compressed NIfTI-1 file of voxels ``[k, j, i]`` with their IJK-to-RAS matrix as the affine."""
    import nibabel as nib

    image = nib.Nifti1Image(np.ascontiguousarray(volume.voxels.transpose(2, 1, 0)), volume.ijk_to_ras)
    image.set_qform(volume.ijk_to_ras, code=1)
    image.set_sform(volume.ijk_to_ras, code=1)
    return gzip.compress(image.to_bytes(), compresslevel=1)


def describe_volume(node) -> dict:
    """ID, name, class, dimensions (i, j, k), scalar type and IJK-to-RAS matrix of a volume node."""
    from vtkmodules.vtkCommonMath import vtkMatrix4x4

    image = node.GetImageData()
    matrix = vtkMatrix4x4()
    node.GetIJKToRASMatrix(matrix)
    return {
        "id": node.GetID(),
        "name": node.GetName() or "",
        "class": node.GetClassName(),
        "dimensions": list(image.GetDimensions()) if image is not None else [],
        "scalarType": image.GetScalarTypeAsString() if image is not None else "",
        "ijkToRas": [[matrix.GetElement(r, c) for c in range(4)] for r in range(4)],
    }
