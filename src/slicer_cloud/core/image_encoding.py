"""Encoding rendered stills (RGB arrays) as PNG, JPEG or WebP for the versioned API."""

from __future__ import annotations

import io

import numpy as np

from ..errors import BadRequest
from .snapshots import encode_image

FORMATS = ("png", "jpeg", "webp")


def encode_still(pixels: np.ndarray, fmt: str = "png", *, quality: int = 90) -> tuple[bytes, str]:
    """Bytes and media type of ``pixels`` in ``fmt`` (png, jpeg/jpg or webp)."""
    fmt = (fmt or "png").strip().lower()
    if fmt == "webp":
        from PIL import Image

        out = io.BytesIO()
        Image.fromarray(pixels, "RGB").save(out, "WEBP", quality=quality, method=0)
        return out.getvalue(), "image/webp"
    if fmt not in ("png", "jpeg", "jpg"):
        raise BadRequest("format must be png, jpeg or webp")
    return encode_image(pixels, fmt, quality=quality)
