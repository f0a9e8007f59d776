"""NRRD bytes made and read with pynrrd alone (independent of the server's codec), for the REST tests."""

from __future__ import annotations

import io

import nrrd
import numpy as np

DIRECTIONS_LPS = np.array([[0.0, 0.9, 0.1], [0.0, 0.1, -1.1], [-1.3, 0.0, 0.0]])  # one row per axis i, j, k
ORIGIN_LPS = np.array([86.6, -133.9, 116.8])


def make_nrrd(voxels_kji: np.ndarray, *, gzip: bool = False) -> bytes:
    header = {
        "space": "left-posterior-superior",
        "space directions": DIRECTIONS_LPS,
        "space origin": ORIGIN_LPS,
        "kinds": ["domain"] * 3,
        "encoding": "gzip" if gzip else "raw",
        "endian": "little",
    }
    out = io.BytesIO()
    nrrd.write(out, voxels_kji, header, index_order="C")
    return out.getvalue()


def read_nrrd(data: bytes) -> tuple[np.ndarray, dict]:
    fh = io.BytesIO(data)
    header = nrrd.read_header(fh)
    return nrrd.read_data(header, fh, index_order="C"), header


def raw_header(sizes: str, type_name: str = "short", encoding: str = "raw", extra: str = "") -> bytes:
    return (
        f"NRRD0004\ntype: {type_name}\ndimension: 3\nspace: left-posterior-superior\nsizes: {sizes}\n"
        f"space directions: (1,0,0) (0,1,0) (0,0,1)\nkinds: domain domain domain\nendian: little\n"
        f"encoding: {encoding}\nspace origin: (0,0,0)\n{extra}\n"
    ).encode()
