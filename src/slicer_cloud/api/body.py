"""Reading request bodies with limits, before anything proportional to a declared size is allocated."""

from __future__ import annotations

from aiohttp import web

from ..core.limits import Limits
from ..core.nrrd_codec import MAX_HEADER_BYTES, declared_data_bytes, header_length
from ..errors import BadRequest, InvalidData, TooLarge, UnsupportedFormat

CHUNK = 1 << 20


async def read_nrrd_body(request: web.Request, limits: Limits) -> bytes:
    """Read a NRRD request body: its header first (checked against the limits), then exactly the declared bytes
    (raw) or at most ``max_upload_bytes`` (gzip)."""
    limit = limits.max_upload_bytes
    if request.content_length is not None and request.content_length > limit:
        raise TooLarge(f"the body is larger than max_upload_bytes ({limit} bytes)")
    buffer = bytearray()
    while header_length(bytes(buffer[: MAX_HEADER_BYTES + 4])) is None:
        chunk = await request.content.read(64 * 1024)
        if not chunk:
            break
        buffer += chunk
        if len(buffer) >= 4 and not buffer.startswith(b"NRRD"):
            raise UnsupportedFormat("the body is not a NRRD file (it must start with 'NRRD000'); send a .nrrd file")
        if len(buffer) > MAX_HEADER_BYTES + 4 and header_length(bytes(buffer[: MAX_HEADER_BYTES + 4])) is None:
            raise InvalidData("the NRRD header has no end (blank line) within 64 KiB; send an attached-data .nrrd file")
    if not buffer:
        raise BadRequest("send a NRRD file as the request body")
    data_bytes, gzipped = declared_data_bytes(bytes(buffer[: MAX_HEADER_BYTES + 4]), limits)
    head = header_length(bytes(buffer[: MAX_HEADER_BYTES + 4])) or 0
    allowed = min(limit, head + (data_bytes if not gzipped else limit))
    while chunk := await request.content.read(CHUNK):
        buffer += chunk
        if len(buffer) > allowed:
            raise InvalidData(f"the body holds more than the {data_bytes} data bytes its NRRD header declares")
    return bytes(buffer)
