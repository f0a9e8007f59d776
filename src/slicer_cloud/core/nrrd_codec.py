"""NRRD bytes <-> numpy voxels + geometry, and scalar volume nodes <-> numpy, for the REST front ends.

Decoding trusts nothing: the header is parsed from at most :data:`MAX_HEADER_BYTES`, its declared size is checked
against :class:`~slicer_cloud.core.limits.Limits`, the body must hold exactly the declared number of bytes, and a
gzip body is inflated with a bound on its output - all before a voxel array is allocated. Detached data files
(``data file:``) are refused, so a client header can never make the server read one of its files.

Arrays are indexed ``[k, j, i]`` (slowest axis first, as ``slicer.util.arrayFromVolume``); geometry is a 4x4
IJK-to-RAS matrix. NRRD files are written in LPS, as Slicer writes them.
"""

from __future__ import annotations

import io
import math
import re
import zlib
from dataclasses import dataclass

import nrrd
import numpy as np

from ..errors import InvalidData, TooLarge, UnsupportedFormat
from .limits import Limits

MAX_HEADER_BYTES = 64 * 1024
LPS_TO_RAS = np.diag([-1.0, -1.0, 1.0])

_DTYPES: dict[str, str] = {}
for _dtype, _names in {
    "i1": "signed char,int8,int8_t",
    "u1": "uchar,unsigned char,uint8,uint8_t",
    "i2": "short,short int,signed short,signed short int,int16,int16_t",
    "u2": "ushort,unsigned short,unsigned short int,uint16,uint16_t",
    "i4": "int,signed int,int32,int32_t",
    "u4": "uint,unsigned int,uint32,uint32_t",
    "i8": "longlong,long long,long long int,signed long long,signed long long int,int64,int64_t",
    "u8": "ulonglong,unsigned long long,unsigned long long int,uint64,uint64_t",
    "f4": "float",
    "f8": "double",
}.items():
    _DTYPES.update(dict.fromkeys(_names.split(","), _dtype))
_SPACES = {
    "left-posterior-superior": LPS_TO_RAS,
    "lps": LPS_TO_RAS,
    "right-anterior-superior": np.eye(3),
    "ras": np.eye(3),
    "left-anterior-superior": np.diag([-1.0, 1.0, 1.0]),
    "las": np.diag([-1.0, 1.0, 1.0]),
}
_ENCODINGS = {"raw": "raw", "gzip": "gzip", "gz": "gzip"}


@dataclass
class VolumeArray:
    """Voxels indexed ``[k, j, i]`` and the IJK-to-RAS matrix that places them."""

    voxels: np.ndarray
    ijk_to_ras: np.ndarray


# -- decoding ------------------------------------------------------------------------------------------------------


def _split_header(data: bytes) -> tuple[bytes, bytes]:
    """Return (header text, body) of an attached-data NRRD."""
    if not data.startswith(b"NRRD000"):
        raise UnsupportedFormat("the body is not a NRRD file (it must start with 'NRRD000'); send a .nrrd file")
    match = re.search(rb"\r?\n\r?\n", data[: MAX_HEADER_BYTES + 4])
    if match is None:
        raise InvalidData("the NRRD header has no end (blank line) within 64 KiB; send an attached-data .nrrd file")
    return data[: match.start()], data[match.end() :]


def _parse_header(text: bytes) -> dict:
    lines = [line.decode("latin-1") + "\n" for line in text.split(b"\n")]
    try:
        header = nrrd.read_header([line.replace("\r", "") for line in lines])
    except (nrrd.NRRDError, ValueError, TypeError, LookupError, ArithmeticError) as exc:
        raise InvalidData(f"malformed NRRD header ({type(exc).__name__}); check or re-export the file") from None
    for key in ("data file", "datafile"):
        if key in header:
            raise UnsupportedFormat("detached NRRD headers ('data file') are refused; send the data attached")
    for key in ("line skip", "lineskip", "byte skip", "byteskip"):
        if int(header.get(key, 0) or 0) != 0:
            raise UnsupportedFormat(f"NRRD '{key}' is not supported; re-export the file without it")
    return header


def _dims_and_dtype(header: dict, limits: Limits) -> tuple[list[int], np.dtype]:
    if "sizes" not in header or "type" not in header:
        raise InvalidData("the NRRD header lacks 'sizes' or 'type'; check or re-export the file")
    dims = [int(v) for v in np.atleast_1d(header["sizes"])]
    if int(header.get("dimension", len(dims))) != len(dims) or len(dims) not in (2, 3) or min(dims) <= 0:
        raise UnsupportedFormat("only 2D or 3D single-component NRRD volumes with positive sizes are supported")
    code = _DTYPES.get(str(header["type"]).strip())
    if code is None:
        type_name = str(header["type"])[:40]
        raise UnsupportedFormat(f"NRRD type {type_name!r} is not supported; use an integer or float type")
    endian = str(header.get("endian", "little")).strip()
    dtype = np.dtype(("<" if endian == "little" else ">") + code) if dtype_size(code) > 1 else np.dtype(code)
    voxels = math.prod(dims)
    if voxels > limits.max_image_voxels or voxels * dtype.itemsize > limits.max_image_bytes:
        raise TooLarge(
            f"the NRRD header declares {voxels:,} voxels ({voxels * dtype.itemsize / 1e9:.2f} GB); the limits are "
            f"{limits.max_image_voxels:,} voxels and {limits.max_image_bytes / 1e9:.2f} GB (max_image_* settings)"
        )
    return dims, dtype


def dtype_size(code: str) -> int:
    return np.dtype(code).itemsize


def _payload(header: dict, body: bytes, expected: int) -> bytes:
    encoding = _ENCODINGS.get(str(header.get("encoding", "")).strip().lower())
    if encoding is None:
        raise UnsupportedFormat("NRRD encoding must be 'raw' or 'gzip'")
    if encoding == "raw":
        if len(body) != expected:
            raise InvalidData(f"the NRRD header declares {expected} data bytes but {len(body)} were sent")
        return body
    inflater = zlib.decompressobj(zlib.MAX_WBITS | 32)  # gzip or zlib stream
    try:
        raw = inflater.decompress(body, expected + 1)
    except zlib.error:
        raise InvalidData("the gzip data of the NRRD is corrupt; check or re-export the file") from None
    if len(raw) != expected or not inflater.eof:
        raise InvalidData(f"the NRRD header declares {expected} data bytes; the gzip data does not hold exactly that")
    return raw


def _ijk_to_ras(header: dict, ndim: int) -> np.ndarray:
    to_ras = _SPACES.get(str(header.get("space", "left-posterior-superior")).strip().lower())
    if to_ras is None:
        raise UnsupportedFormat("NRRD space must be left-posterior-superior, right-anterior-superior or LAS")
    matrix = np.eye(4)
    if "space directions" in header:
        directions = np.asarray(header["space directions"], dtype=float)
        if directions.shape != (ndim, 3) or not np.all(np.isfinite(directions)):
            raise InvalidData("the NRRD 'space directions' do not match its dimension; check or re-export the file")
        matrix[:3, :ndim] = to_ras @ directions.T
    elif "spacings" in header:
        matrix[:3, :ndim] = to_ras @ np.diag(np.asarray(header["spacings"], dtype=float))[:3, :ndim]
    else:
        matrix[:3, :3] = to_ras
    if ndim == 2:
        matrix[:3, 2] = to_ras @ np.array([0.0, 0.0, 1.0])
    origin = np.asarray(header.get("space origin", np.zeros(3)), dtype=float)
    if origin.shape != (3,) or not np.all(np.isfinite(origin)):
        raise InvalidData("the NRRD 'space origin' must hold three finite numbers")
    matrix[:3, 3] = to_ras @ origin
    return matrix


def decode_nrrd(data: bytes, limits: Limits) -> VolumeArray:
    """Decode an attached-data NRRD (raw or gzip, any scalar type); raise a 4xx error on anything else."""
    header_text, body = _split_header(data)
    header = _parse_header(header_text)
    dims, dtype = _dims_and_dtype(header, limits)
    raw = _payload(header, body, math.prod(dims) * dtype.itemsize)
    voxels = np.frombuffer(raw, dtype=dtype).reshape(dims[::-1])
    if len(dims) == 2:
        voxels = voxels[np.newaxis]
    matrix = _ijk_to_ras(header, len(dims))
    return VolumeArray(voxels.astype(dtype.newbyteorder("="), copy=False), matrix)


# -- encoding ------------------------------------------------------------------------------------------------------


def encode_nrrd(volume: VolumeArray, *, compress: bool = False, kinds: list[str] | None = None) -> bytes:
    """Write voxels ``[k, j, i]`` and geometry as an attached NRRD in LPS (gzip when ``compress``)."""
    ijk_to_lps = LPS_TO_RAS @ volume.ijk_to_ras[:3, :3]
    header = {
        "space": "left-posterior-superior",
        "space directions": ijk_to_lps.T,
        "space origin": LPS_TO_RAS @ volume.ijk_to_ras[:3, 3],
        "kinds": kinds or ["domain", "domain", "domain"],
        "endian": "little",
        "encoding": "gzip" if compress else "raw",
    }
    voxels = volume.voxels.astype(volume.voxels.dtype.newbyteorder("<"), copy=False)
    out = io.BytesIO()
    nrrd.write(out, voxels, header, index_order="C", compression_level=1)
    return out.getvalue()


def nrrd_header(
    dtype: np.dtype, shape: tuple[int, ...], ijk_to_ras: np.ndarray, *, compress: bool = False, kinds=None
) -> bytes:
    """The header (blank line included) :func:`encode_nrrd` writes for voxels of ``dtype`` and ``shape`` [k, j, i]."""
    from nrrd.formatters import format_optional_matrix, format_vector
    from nrrd.writer import _TYPEMAP_NUMPY2NRRD

    ijk_to_lps = LPS_TO_RAS @ ijk_to_ras[:3, :3]
    lines = [
        "NRRD0005",
        "# Complete NRRD file format specification at:",
        "# http://teem.sourceforge.net/nrrd/format.html",
        f"type: {_TYPEMAP_NUMPY2NRRD[np.dtype(dtype).newbyteorder('<').str[1:]]}",
        f"dimension: {len(shape)}",
        "space: left-posterior-superior",
        f"sizes: {' '.join(str(int(n)) for n in shape[::-1])}",
        f"space directions: {format_optional_matrix(ijk_to_lps.T)}",
        f"kinds: {' '.join(kinds or ['domain'] * len(shape))}",
        *(["endian: little"] if np.dtype(dtype).itemsize > 1 else []),
        f"encoding: {'gzip' if compress else 'raw'}",
        f"space origin: {format_vector(LPS_TO_RAS @ ijk_to_ras[:3, 3])}",
    ]
    return ("\n".join(lines) + "\n\n").encode("ascii")


def stream_parts(volume: VolumeArray) -> tuple[bytes, memoryview]:
    """Header and raw little-endian voxel bytes of an uncompressed NRRD, without copying the voxels (when they are
    C-contiguous and little-endian already, as volume node voxels are on x86/ARM)."""
    voxels = volume.voxels
    if voxels.dtype.byteorder == ">" or (voxels.dtype.byteorder == "=" and np.little_endian is False):
        voxels = voxels.astype(voxels.dtype.newbyteorder("<"))
    voxels = np.ascontiguousarray(voxels)
    header = nrrd_header(voxels.dtype, voxels.shape, volume.ijk_to_ras)
    return header, memoryview(voxels.reshape(-1)).cast("B")


# -- volume nodes ----------------------------------------------------------------------------------------------------


def volume_to_array(node, *, copy: bool = True) -> VolumeArray:
    """Voxels (a copy, or with ``copy=False`` a view of the node's live array) and geometry of a scalar volume
    node; refuse multi-component images."""
    from vtkmodules.util.numpy_support import vtk_to_numpy
    from vtkmodules.vtkCommonMath import vtkMatrix4x4

    image = node.GetImageData()
    if image is None or image.GetPointData().GetScalars() is None:
        raise InvalidData(f"{node.GetID()} holds no image data")
    if image.GetNumberOfScalarComponents() != 1:
        raise UnsupportedFormat("only single-component (scalar) volumes can be sent as NRRD")
    x, y, z = image.GetDimensions()
    voxels = vtk_to_numpy(image.GetPointData().GetScalars()).reshape(z, y, x)
    if copy:
        voxels = voxels.copy()
    matrix = vtkMatrix4x4()
    node.GetIJKToRASMatrix(matrix)
    return VolumeArray(voxels, np.array([[matrix.GetElement(r, c) for c in range(4)] for r in range(4)]))


def array_to_volume(scene, volume: VolumeArray, *, node=None, name: str = "Volume"):
    """Put voxels and geometry into ``node`` (a scalar volume node) or a new one; return the node."""
    from vtkmodules.util.numpy_support import get_vtk_array_type, numpy_to_vtk
    from vtkmodules.vtkCommonDataModel import vtkImageData
    from vtkmodules.vtkCommonMath import vtkMatrix4x4

    voxels = np.ascontiguousarray(volume.voxels)
    image = vtkImageData()
    image.SetDimensions(voxels.shape[2], voxels.shape[1], voxels.shape[0])
    scalars = numpy_to_vtk(voxels.reshape(-1), deep=True, array_type=get_vtk_array_type(voxels.dtype))
    scalars.SetName("ImageScalars")
    image.GetPointData().SetScalars(scalars)
    if node is None:
        node = scene.AddNewNodeByClass("vtkMRMLScalarVolumeNode", name)
        node.CreateDefaultDisplayNodes()
    matrix = vtkMatrix4x4()
    for r in range(4):
        for c in range(4):
            matrix.SetElement(r, c, float(volume.ijk_to_ras[r, c]))
    node.SetIJKToRASMatrix(matrix)
    node.SetAndObserveImageData(image)
    display = node.GetDisplayNode()
    if display is not None and hasattr(display, "SetAutoWindowLevel"):
        display.SetAutoWindowLevel(True)
    return node


def declared_data_bytes(prefix: bytes, limits: Limits) -> tuple[int, bool]:
    """From the first bytes of a NRRD (header complete), the declared data size and whether it is gzip-encoded.

    Raises the same 4xx errors as :func:`decode_nrrd`, so a header bomb is refused before its body is read.
    """
    header_text, _ = _split_header(prefix)
    header = _parse_header(header_text)
    dims, dtype = _dims_and_dtype(header, limits)
    encoding = _ENCODINGS.get(str(header.get("encoding", "")).strip().lower())
    if encoding is None:
        raise UnsupportedFormat("NRRD encoding must be 'raw' or 'gzip'")
    return math.prod(dims) * dtype.itemsize, encoding == "gzip"


def header_length(prefix: bytes) -> int | None:
    """Length of the header (up to and including its blank line) if ``prefix`` holds all of it."""
    match = re.search(rb"\r?\n\r?\n", prefix[: MAX_HEADER_BYTES + 4])
    return match.end() if match else None
