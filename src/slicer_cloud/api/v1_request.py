"""Reading ``/api/v1`` requests: query values, JSON object bodies and streamed uploads, all with limits."""

from __future__ import annotations

import math
import uuid
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from aiohttp import web

from ..errors import BadRequest, TooLarge

CHUNK = 1 << 20
MAX_JSON_BYTES = 1 << 20
TRUE, FALSE = {"1", "true", "yes", "on"}, {"0", "false", "no", "off"}


def query_text(query: Mapping[str, str], key: str, default: str = "", max_length: int = 4096) -> str:
    value = query.get(key, default)
    if len(value) > max_length or "\x00" in value:
        raise BadRequest(f"{key} is too long or holds a NUL character")
    return value


def query_choice(query: Mapping[str, str], key: str, choices: tuple[str, ...], default: str) -> str:
    value = query.get(key, "").strip().lower() or default
    if value not in choices:
        raise BadRequest(f"{key} must be one of: {', '.join(choices)}")
    return value


def query_bool(query: Mapping[str, str], key: str, default: bool) -> bool:
    value = query.get(key, "").strip().lower()
    if not value:
        return default
    if value not in TRUE | FALSE:
        raise BadRequest(f"{key} must be true or false")
    return value in TRUE


def query_number(query: Mapping[str, str], key: str, kind: type = float) -> Any:
    text = query.get(key, "").strip()
    if not text:
        return None
    try:
        value = kind(text)
    except (ValueError, OverflowError):
        raise BadRequest(f"{key} must be {'an integer' if kind is int else 'a number'}") from None
    if isinstance(value, float) and not math.isfinite(value):
        raise BadRequest(f"{key} must be a finite number")
    return value


async def json_object(request: web.Request) -> dict[str, Any]:
    """The body as a JSON object (at most 1 MiB)."""
    if request.content_length is not None and request.content_length > MAX_JSON_BYTES:
        raise TooLarge("JSON bodies are limited to 1 MiB")
    raw = await request.content.read(MAX_JSON_BYTES + 1)
    if len(raw) > MAX_JSON_BYTES:
        raise TooLarge("JSON bodies are limited to 1 MiB")
    import json

    try:
        body = json.loads(raw.decode("utf-8")) if raw.strip() else None
    except (ValueError, UnicodeDecodeError):
        raise BadRequest("the body must be a JSON object") from None
    if not isinstance(body, dict):
        raise BadRequest("the body must be a JSON object")
    return body


async def stream_to_file(request: web.Request, dest: Path, limit: int, prefix: bytes = b"") -> int:
    """Write ``prefix`` and the rest of the body to ``dest`` (via a partial file), refusing more than ``limit``."""
    if request.content_length is not None and request.content_length > limit:
        raise TooLarge(f"the upload is larger than max_upload_bytes ({limit} bytes)")
    partial = dest.with_name(f".{dest.name}.{uuid.uuid4().hex}.part")
    written = len(prefix)
    try:
        with partial.open("wb") as out:
            out.write(prefix)
            while chunk := await request.content.read(CHUNK):
                written += len(chunk)
                if written > limit:
                    raise TooLarge(f"the upload is larger than max_upload_bytes ({limit} bytes)")
                out.write(chunk)
        partial.replace(dest)
    finally:
        partial.unlink(missing_ok=True)
    return written


async def read_prefix(request: web.Request, size: int) -> bytes:
    """Up to ``size`` first bytes of the body (fewer only when the body is shorter)."""
    data = bytearray()
    while len(data) < size:
        chunk = await request.content.read(size - len(data))
        if not chunk:
            break
        data += chunk
    return bytes(data)


class PrefixedBody:
    """A request whose first bytes were read already, readable again from the start (for ``read_nrrd_body``)."""

    def __init__(self, request: web.Request, prefix: bytes) -> None:
        self.content_length = request.content_length
        self._stream = request.content
        self._prefix = prefix

    @property
    def content(self) -> PrefixedBody:
        return self

    async def read(self, n: int = -1) -> bytes:
        if self._prefix:
            size = len(self._prefix) if n < 0 else n
            head, self._prefix = self._prefix[:size], self._prefix[size:]
            return head
        return await self._stream.read(n)
