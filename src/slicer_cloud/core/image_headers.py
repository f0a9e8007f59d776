"""Cheap pre-flight checks of image headers before a reader allocates memory for the voxels.

Only the header is read (at most :data:`MAX_HEADER_BYTES`), so a 100-byte file declaring terabytes of voxels is
rejected in microseconds without allocating anything proportional to the declared size.
"""

from __future__ import annotations

import gzip
import io
import logging
import math
import re
import struct
import zlib
from pathlib import Path

import nibabel
import nrrd
from nibabel.spatialimages import HeaderDataError

from slicer_cloud.errors import InvalidData, TooLarge

logger = logging.getLogger(__name__)

MAX_HEADER_BYTES = 64 * 1024

_NRRD_SIZES: dict[str, int] = {}
for _size, _names in {
    1: "signed char,int8,int8_t,uchar,unsigned char,uint8,uint8_t",
    2: "short,short int,signed short,signed short int,int16,int16_t,ushort,unsigned short,unsigned short int,"
    "uint16,uint16_t",
    4: "int,signed int,int32,int32_t,uint,unsigned int,uint32,uint32_t,float",
    8: "longlong,long long,long long int,signed long long,signed long long int,int64,int64_t,ulonglong,"
    "unsigned long long,unsigned long long int,uint64,uint64_t,double",
}.items():
    _NRRD_SIZES.update(dict.fromkeys(_names.split(","), _size))

# MetaIO element sizes (metaTypes.h: MET_LONG/MET_ULONG are 4 bytes there).
_MET_SIZES = {
    "MET_CHAR": 1,
    "MET_UCHAR": 1,
    "MET_ASCII_CHAR": 1,
    "MET_SHORT": 2,
    "MET_USHORT": 2,
    "MET_INT": 4,
    "MET_UINT": 4,
    "MET_LONG": 4,
    "MET_ULONG": 4,
    "MET_LONG_LONG": 8,
    "MET_ULONG_LONG": 8,
    "MET_FLOAT": 4,
    "MET_DOUBLE": 8,
}
# Anything a parser may raise on a malformed header.
_PARSE_ERRORS = (
    nrrd.NRRDError,
    HeaderDataError,
    ValueError,
    TypeError,
    LookupError,
    ArithmeticError,
    struct.error,
    zlib.error,
    EOFError,
)
_NIFTI_MAGIC = {348: (b"n+1", b"ni1"), 540: (b"n+2", b"ni2")}


def image_kind(path: Path | str) -> str | None:
    """Return 'nrrd', 'nifti' or 'metaimage' from the file name, or None for other files."""
    name = Path(path).name.lower()
    if name.endswith((".nrrd", ".nhdr")):
        return "nrrd"
    if name.endswith((".nii", ".nii.gz")):
        return "nifti"
    if name.endswith((".mha", ".mhd")):
        return "metaimage"
    return None


def check_image_file(path: Path, *, max_voxels: int, max_bytes: int) -> None:
    """Raise :class:`TooLarge` if the header of ``path`` declares more voxels/bytes than allowed.

    Supports NRRD, NIfTI-1/2 (also gzipped) and MetaImage; other files are accepted unchecked.
    Malformed headers raise :class:`InvalidData`.
    """
    path = Path(path)
    kind = image_kind(path)
    if kind is None:
        return
    reader = {"nrrd": _nrrd_size, "nifti": _nifti_size, "metaimage": _metaimage_size}[kind]
    try:
        voxels, item_bytes = reader(path)
    except (InvalidData, TooLarge):
        raise
    except OSError as exc:
        logger.info("cannot read header of %s: %s", path.name, exc)
        raise InvalidData(f"'{path.name}' cannot be read as {kind} (unreadable or corrupt); check the file.") from None
    except _PARSE_ERRORS as exc:
        logger.info("malformed %s header in %s: %s", kind, path.name, exc)
        raise InvalidData(f"'{path.name}' has a malformed {kind} header; check or re-export the file.") from None
    _enforce_limits(path.name, voxels, voxels * item_bytes, max_voxels=max_voxels, max_bytes=max_bytes)


def _enforce_limits(name: str, voxels: int, nbytes: int, *, max_voxels: int, max_bytes: int) -> None:
    if nbytes > max_bytes:
        raise TooLarge(
            f"'{name}' declares {nbytes / 1e9:.2f} GB of image data; the limit is {max_bytes / 1e9:.2f} GB. "
            "Downsample or crop the image, or raise the `max_image_bytes` setting."
        )
    if voxels > max_voxels:
        raise TooLarge(
            f"'{name}' declares {voxels:,} voxels; the limit is {max_voxels:,}. "
            "Downsample or crop the image, or raise the `max_image_voxels` setting."
        )


def _positive_dims(values: object, name: str, what: str) -> list[int]:
    """Return ``values`` as a non-empty list of positive ints, else raise InvalidData."""
    try:
        seq = list(values)  # type: ignore[call-overload]
    except TypeError:
        seq = [values]
    dims: list[int] = []
    for v in seq:
        if isinstance(v, float) and not v.is_integer():
            raise InvalidData(f"'{name}' declares a non-integer {what}; check or re-export the file.")
        try:
            iv = int(v)
        except (TypeError, ValueError, OverflowError):
            raise InvalidData(f"'{name}' declares an invalid {what}; check or re-export the file.") from None
        if iv <= 0:
            raise InvalidData(f"'{name}' declares a zero or negative {what}; check or re-export the file.")
        dims.append(iv)
    if not dims:
        raise InvalidData(f"'{name}' declares no {what}; check or re-export the file.")
    return dims


def _read_head(path: Path) -> bytes:
    with open(path, "rb") as fh:
        return fh.read(MAX_HEADER_BYTES + 1)


def _nrrd_size(path: Path) -> tuple[int, int]:
    """Return (voxels, bytes per voxel) declared by a NRRD header."""
    head = _read_head(path)
    match = re.search(rb"\r?\n\r?\n", head)
    if match is None and len(head) > MAX_HEADER_BYTES:
        raise InvalidData(f"'{path.name}' has no NRRD header end within 64 KiB; check the file.")
    text = head[: match.start()] if match else head
    lines = [ln + b"\n" for ln in text.split(b"\n")]
    header = nrrd.read_header(lines)
    if "sizes" not in header or "type" not in header:
        raise InvalidData(f"'{path.name}' lacks the NRRD 'sizes' or 'type' field; check or re-export the file.")
    raw_sizes = next((m.group(1) for ln in lines if (m := re.match(rb"sizes\s*:=?(.*)", ln))), b"")
    dims = _int_list(raw_sizes.decode("ascii", "replace"), path.name, "size")  # pynrrd truncates '2.5' to 2
    type_name = str(header["type"]).strip()
    if type_name == "block":
        item = _positive_dims(header.get("block size", header.get("blocksize")), path.name, "block size")[0]
    elif type_name in _NRRD_SIZES:
        item = _NRRD_SIZES[type_name]
    else:
        raise InvalidData(f"'{path.name}' has an unknown NRRD type; re-export the file.")
    return math.prod(dims), item


def _nifti_head(path: Path) -> bytes:
    """Read the first 540 bytes (enough for NIfTI-1 and NIfTI-2 headers), decompressing .gz lazily."""
    if path.name.lower().endswith(".gz"):
        with gzip.open(path, "rb") as fh:
            return fh.read(540)
    with open(path, "rb") as fh:
        return fh.read(540)


def _nifti_size(path: Path) -> tuple[int, int]:
    """Return (voxels, bytes per voxel) declared by a NIfTI-1/NIfTI-2 header."""
    data = _nifti_head(path)
    if len(data) < 4:
        raise InvalidData(f"'{path.name}' is too short to be a NIfTI file; check the file.")
    sizes = {struct.unpack("<i", data[:4])[0], struct.unpack(">i", data[:4])[0]}
    klass: type[nibabel.Nifti1Header]
    if 348 in sizes:
        hdr_len, klass = 348, nibabel.Nifti1Header
    elif 540 in sizes:
        hdr_len, klass = 540, nibabel.Nifti2Header
    else:
        raise InvalidData(f"'{path.name}' is not a NIfTI file (bad header size); check or re-export it.")
    if len(data) < hdr_len:
        raise InvalidData(f"'{path.name}' has a truncated NIfTI header; check or re-export the file.")
    hdr = klass.from_fileobj(io.BytesIO(data[:hdr_len]), check=False)
    if bytes(hdr["magic"])[:3] not in _NIFTI_MAGIC[hdr_len]:
        raise InvalidData(f"'{path.name}' has no valid NIfTI magic string; check or re-export the file.")
    dim = [int(d) for d in hdr["dim"]]
    ndim = dim[0]
    if not 1 <= ndim <= 7:
        raise InvalidData(f"'{path.name}' declares {ndim} dimensions (1 to 7 allowed); check or re-export the file.")
    dims = _positive_dims(dim[1 : ndim + 1], path.name, "dimension")
    try:
        item = hdr.get_data_dtype().itemsize
    except (HeaderDataError, LookupError, TypeError, ValueError):
        raise InvalidData(f"'{path.name}' declares an unknown NIfTI data type; re-export the file.") from None
    if item <= 0:
        raise InvalidData(f"'{path.name}' declares an unknown NIfTI data type; re-export the file.")
    return math.prod(dims), item


def _metaimage_fields(path: Path) -> dict[str, str]:
    """Parse 'Key = Value' lines up to and including ElementDataFile (within 64 KiB)."""
    head = _read_head(path)[:MAX_HEADER_BYTES]
    fields: dict[str, str] = {}
    for raw in head.split(b"\n"):
        line = raw.decode("latin-1").strip()
        if not line:
            continue
        key, sep, value = line.partition("=")
        if not sep:
            raise InvalidData(f"'{path.name}' has a malformed MetaImage header line; check or re-export the file.")
        key = key.strip().lower()
        fields[key] = value.strip()
        if key == "elementdatafile":
            return fields
    raise InvalidData(f"'{path.name}' has no ElementDataFile within the first 64 KiB; check or re-export the file.")


def _int_list(text: str, name: str, what: str) -> list[int]:
    tokens = text.split()
    if not tokens or not all(re.fullmatch(r"[+]?\d+", t) for t in tokens):
        raise InvalidData(f"'{name}' declares an invalid {what}; check or re-export the file.")
    return _positive_dims([int(t) for t in tokens], name, what)


def _metaimage_size(path: Path) -> tuple[int, int]:
    """Return (voxels, bytes per voxel) declared by a MetaImage (.mha/.mhd) header."""
    fields = _metaimage_fields(path)
    if "dimsize" not in fields or "elementtype" not in fields:
        raise InvalidData(f"'{path.name}' lacks DimSize or ElementType; check or re-export the file.")
    dims = _int_list(fields["dimsize"], path.name, "DimSize")
    if "ndims" in fields and _int_list(fields["ndims"], path.name, "NDims") != [len(dims)]:
        raise InvalidData(f"'{path.name}' has NDims not matching DimSize; check or re-export the file.")
    channels = _int_list(fields.get("elementnumberofchannels", "1"), path.name, "ElementNumberOfChannels")
    if len(channels) != 1:
        raise InvalidData(f"'{path.name}' has an invalid ElementNumberOfChannels; check or re-export the file.")
    etype = fields["elementtype"].upper()
    if etype not in _MET_SIZES:
        raise InvalidData(f"'{path.name}' has an unknown ElementType; re-export the file.")
    return math.prod(dims) * channels[0], _MET_SIZES[etype]
