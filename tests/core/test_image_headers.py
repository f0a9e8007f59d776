"""check_image_file rejects huge or malformed image headers quickly, reading only the header."""

from __future__ import annotations

import gzip
import time
from pathlib import Path

import nibabel
import nrrd
import numpy as np
import pytest
import SimpleITK as sitk

from slicer_cloud.core.image_headers import check_image_file, image_kind
from slicer_cloud.errors import InvalidData, TooLarge

LIMITS = {"max_voxels": 2_000_000_000, "max_bytes": 8 * 10**9}


def _timed_too_large(path: Path, **limits: int) -> TooLarge:
    start = time.perf_counter()
    with pytest.raises(TooLarge) as info:
        check_image_file(path, **(limits or LIMITS))
    assert time.perf_counter() - start < 1.0
    assert str(path.parent) not in info.value.message
    return info.value


def _nifti_header_bytes(shape: tuple[int, ...], dtype: type = np.float32, version: int = 1) -> bytes:
    klass = nibabel.Nifti1Header if version == 1 else nibabel.Nifti2Header
    hdr = klass()
    hdr.set_data_shape(shape)
    hdr.set_data_dtype(dtype)
    # header + 4-byte extension flag, and no voxel data at all
    return hdr.binaryblock + b"\x00\x00\x00\x00"


@pytest.mark.parametrize(
    ("name", "kind"),
    [
        ("a.nrrd", "nrrd"),
        ("A.NHDR", "nrrd"),
        ("b.nii", "nifti"),
        ("b.nii.gz", "nifti"),
        ("c.mha", "metaimage"),
        ("c.mhd", "metaimage"),
        ("d.vtk", None),
        ("e.gz", None),
        ("noext", None),
    ],
)
def test_image_kind_is_read_from_the_file_name(name: str, kind: str | None) -> None:
    assert image_kind(Path(name)) == kind


def test_a_tiny_nrrd_declaring_over_100_gb_is_too_large_within_a_second(tmp_path: Path) -> None:
    path = tmp_path / "bomb.nrrd"
    path.write_bytes(b"NRRD0004\ntype: uchar\ndimension: 3\nsizes: 100000 100000 100\nencoding: raw\n\n")
    assert path.stat().st_size < 120
    err = _timed_too_large(path)
    assert "1000.00 GB" in err.message and "max_image_bytes" in err.message


def test_a_nrrd_over_the_voxel_limit_names_the_voxel_setting(tmp_path: Path) -> None:
    path = tmp_path / "many.nhdr"
    path.write_text("NRRD0004\ntype: uchar\ndimension: 2\nsizes: 1000 1000\nencoding: raw\ndata file: many.raw\n")
    err = _timed_too_large(path, max_voxels=10_000, max_bytes=10**12)
    assert "max_image_voxels" in err.message


@pytest.mark.parametrize("name", ["huge.nii", "huge.nii.gz"])
@pytest.mark.parametrize("version", [1, 2])
def test_a_nifti_header_declaring_over_100_gb_is_too_large(tmp_path: Path, name: str, version: int) -> None:
    blob = _nifti_header_bytes((30000, 30000, 30000), np.float64, version)
    path = tmp_path / name
    path.write_bytes(gzip.compress(blob) if name.endswith(".gz") else blob)
    err = _timed_too_large(path)
    assert "max_image_bytes" in err.message


def test_a_metaimage_header_declaring_50000_cubed_is_too_large(tmp_path: Path) -> None:
    path = tmp_path / "huge.mha"
    path.write_bytes(
        b"ObjectType = Image\nNDims = 3\nDimSize = 50000 50000 50000\nElementType = MET_SHORT\n"
        b"ElementNumberOfChannels = 3\nElementDataFile = LOCAL\n\x00\x01\x02"
    )
    err = _timed_too_large(path)
    assert "max_image_bytes" in err.message


def test_small_valid_images_of_every_kind_pass(tmp_path: Path) -> None:
    data = np.arange(4 * 5 * 6, dtype=np.int16).reshape(4, 5, 6)
    nrrd.write(str(tmp_path / "ok.nrrd"), data)
    nrrd.write(str(tmp_path / "ok.nhdr"), data, detached_header=True)
    nibabel.save(nibabel.Nifti1Image(data, np.eye(4)), tmp_path / "ok.nii")
    nibabel.save(nibabel.Nifti1Image(data, np.eye(4)), tmp_path / "ok.nii.gz")
    nibabel.save(nibabel.Nifti2Image(data, np.eye(4)), tmp_path / "ok2.nii")
    image = sitk.GetImageFromArray(data)
    sitk.WriteImage(image, str(tmp_path / "ok.mha"))
    sitk.WriteImage(image, str(tmp_path / "ok.mhd"))
    sitk.WriteImage(sitk.Compose(image, image, image), str(tmp_path / "rgb.mha"))
    (tmp_path / "other.vtk").write_bytes(b"anything")
    for path in tmp_path.iterdir():
        check_image_file(path, max_voxels=1000, max_bytes=6000)


def test_the_limits_are_inclusive(tmp_path: Path) -> None:
    path = tmp_path / "exact.nrrd"
    path.write_bytes(b"NRRD0004\ntype: float\ndimension: 2\nsizes: 10 10\nencoding: raw\n\n")
    check_image_file(path, max_voxels=100, max_bytes=400)
    with pytest.raises(TooLarge):
        check_image_file(path, max_voxels=100, max_bytes=399)


@pytest.mark.parametrize(
    ("name", "content"),
    [
        ("garbage.nrrd", b"\x89PNG\r\n\x1a\n" + bytes(500)),
        ("neg.nrrd", b"NRRD0004\ntype: uchar\ndimension: 3\nsizes: 10 -5 10\nencoding: raw\n\n"),
        ("zero.nrrd", b"NRRD0004\ntype: uchar\ndimension: 2\nsizes: 10 0\nencoding: raw\n\n"),
        ("frac.nrrd", b"NRRD0004\ntype: uchar\ndimension: 2\nsizes: 10 2.5\nencoding: raw\n\n"),
        ("type.nrrd", b"NRRD0004\ntype: quaternion\ndimension: 1\nsizes: 10\nencoding: raw\n\n"),
        ("nosizes.nrrd", b"NRRD0004\ntype: uchar\ndimension: 1\nencoding: raw\n\n"),
        ("endless.nrrd", b"NRRD0004\n# " + b"x" * 200_000),
        ("garbage.nii", bytes(range(256)) * 3),
        ("short.nii", b"\x5c\x01\x00\x00"),
        ("garbage.nii.gz", b"not gzip at all" * 40),
        ("garbage.mha", b"\x00\xff" * 1000),
        ("nodata.mha", b"NDims = 3\nDimSize = 10 10 10\nElementType = MET_UCHAR\n"),
        ("neg.mha", b"NDims = 2\nDimSize = 10 -10\nElementType = MET_UCHAR\nElementDataFile = LOCAL\n"),
        ("frac.mhd", b"NDims = 2\nDimSize = 10 1.5\nElementType = MET_UCHAR\nElementDataFile = x.raw\n"),
        ("ndims.mhd", b"NDims = 3\nDimSize = 10 10\nElementType = MET_UCHAR\nElementDataFile = x.raw\n"),
        ("type.mhd", b"NDims = 1\nDimSize = 10\nElementType = MET_BOGUS\nElementDataFile = x.raw\n"),
        ("chan.mhd", b"DimSize = 10\nElementType = MET_UCHAR\nElementNumberOfChannels = 0\nElementDataFile = x\n"),
    ],
)
def test_a_malformed_header_is_invalid_data(tmp_path: Path, name: str, content: bytes) -> None:
    path = tmp_path / name
    path.write_bytes(content)
    with pytest.raises(InvalidData) as info:
        check_image_file(path, **LIMITS)
    assert str(tmp_path) not in info.value.message


def test_a_nifti_with_bad_dims_or_unknown_type_is_invalid_data(tmp_path: Path) -> None:
    hdr = nibabel.Nifti1Header()
    hdr.set_data_shape((10, 10, 10))
    raw = bytearray(hdr.binaryblock)
    raw[42:44] = (-3).to_bytes(2, "little", signed=True)  # dim[1]
    (tmp_path / "neg.nii").write_bytes(bytes(raw))
    raw = bytearray(hdr.binaryblock)
    raw[70:72] = (999).to_bytes(2, "little")  # datatype code
    (tmp_path / "type.nii").write_bytes(bytes(raw))
    raw = bytearray(hdr.binaryblock)
    raw[344:348] = b"abc\x00"  # magic
    (tmp_path / "magic.nii").write_bytes(bytes(raw))
    for name in ("neg.nii", "type.nii", "magic.nii"):
        with pytest.raises(InvalidData):
            check_image_file(tmp_path / name, **LIMITS)
