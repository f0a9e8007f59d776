"""The NRRD codec without HTTP: round trips of voxels and geometry, and hostile bytes refused before allocation."""

from __future__ import annotations

import gzip

import numpy as np
import pytest
from nrrd_bytes import DIRECTIONS_LPS, ORIGIN_LPS, make_nrrd, raw_header, read_nrrd

from slicer_cloud.core.limits import Limits
from slicer_cloud.core.nrrd_codec import VolumeArray, decode_nrrd, encode_nrrd
from slicer_cloud.errors import InvalidData, TooLarge, UnsupportedFormat

LIMITS = Limits(max_image_voxels=10_000_000, max_image_bytes=100_000_000)


@pytest.mark.parametrize("dtype", ["int16", "uint8", "float32", "float64", "uint16", "int32"])
@pytest.mark.parametrize("compress", [False, True])
def test_a_pynrrd_file_decodes_to_the_same_voxels_and_ras_geometry(dtype, compress):
    voxels = (np.random.default_rng(1).random((4, 5, 6)) * 100).astype(dtype)
    volume = decode_nrrd(make_nrrd(voxels, gzip=compress), LIMITS)
    assert volume.voxels.dtype == voxels.dtype and np.array_equal(volume.voxels, voxels)
    flip = np.diag([-1.0, -1.0, 1.0])
    assert np.allclose(volume.ijk_to_ras[:3, :3], flip @ DIRECTIONS_LPS.T)
    assert np.allclose(volume.ijk_to_ras[:3, 3], flip @ ORIGIN_LPS)


@pytest.mark.parametrize("compress", [False, True])
def test_encoded_volumes_read_back_in_pynrrd_with_lps_geometry(compress):
    voxels = np.arange(60, dtype=np.int16).reshape(3, 4, 5)
    volume = decode_nrrd(make_nrrd(voxels), LIMITS)
    data, header = read_nrrd(encode_nrrd(volume, compress=compress))
    assert np.array_equal(data, voxels)
    assert np.allclose(header["space directions"], DIRECTIONS_LPS)
    assert np.allclose(header["space origin"], ORIGIN_LPS)
    assert header["space"] == "left-posterior-superior"


def test_a_big_endian_file_decodes_to_native_values():
    voxels = np.arange(24, dtype=">i4").reshape(2, 3, 4)
    body = raw_header("4 3 2", "int32").replace(b"endian: little", b"endian: big") + voxels.tobytes()
    assert np.array_equal(decode_nrrd(body, LIMITS).voxels, voxels.astype("<i4"))


@pytest.mark.parametrize(
    "body,error",
    [
        (raw_header("100000 100000 100000") + b"\0" * 10, TooLarge),
        (raw_header("4 4 4") + b"\0" * 127, InvalidData),
        (raw_header("4 4 4") + b"\0" * 129, InvalidData),
        (raw_header("4 4 4", encoding="gzip") + gzip.compress(b"\0" * 128)[:-9], InvalidData),
        (raw_header("4 4 4", encoding="gzip") + gzip.compress(b"\0" * 4096), InvalidData),
        (raw_header("4 4 4", encoding="gzip") + b"not gzip", InvalidData),
        (raw_header("4 4 4", extra="data file: /etc/passwd\n"), UnsupportedFormat),
        (raw_header("4 4 4", type_name="block"), UnsupportedFormat),
        (raw_header("4 4 4", encoding="hex") + b"00" * 128, UnsupportedFormat),
        (raw_header("4 -4 4"), (InvalidData, UnsupportedFormat)),
        (b"NRRD0004\n" + b"# comment\n" * 20000, InvalidData),
        (b"\x89PNG\r\n\x1a\n" + b"\0" * 100, UnsupportedFormat),
        (b"", UnsupportedFormat),
    ],
)
def test_hostile_bytes_are_refused_with_a_client_error(body, error):
    with pytest.raises(error):
        decode_nrrd(body, LIMITS)


def test_a_volume_array_round_trips_through_encode_and_decode():
    matrix = np.array([[0, 0, -1.3, 10], [0.9, 0.1, 0, -20], [0, -1.1, 0, 30], [0, 0, 0, 1.0]])
    volume = VolumeArray(np.arange(120, dtype=np.float32).reshape(4, 5, 6), matrix)
    back = decode_nrrd(encode_nrrd(volume, compress=True), LIMITS)
    assert np.array_equal(back.voxels, volume.voxels) and np.allclose(back.ijk_to_ras, matrix)
