"""Series thumbnails: a small JPEG of the middle image, windowed to its 1st-99th percentile."""

from __future__ import annotations

import io
from functools import lru_cache
from typing import TYPE_CHECKING

import numpy as np
from PIL import Image

from ..errors import InvalidData, SlicerCloudError
from .index import DicomIndex
from .volume import decode_slice

if TYPE_CHECKING:
    from .service import DicomService


def render_jpeg(pixels: np.ndarray, size: int = 96, quality: int = 80) -> bytes:
    """A grayscale JPEG of a 2D array, the long side ``size`` pixels."""
    values = pixels.astype(np.float32)
    low, high = np.percentile(values, (1, 99)) if values.size else (0.0, 1.0)
    scaled = np.clip((values - low) / max(float(high - low), 1e-6) * 255, 0, 255).astype(np.uint8)
    image = Image.fromarray(scaled)
    image.thumbnail((size, size))
    out = io.BytesIO()
    image.save(out, format="JPEG", quality=quality)
    return out.getvalue()


def thumbnail(service: DicomService, source: str, study_uid: str, series_uid: str, size: int = 96) -> bytes:
    return _cached(service, source, study_uid, series_uid, size)


@lru_cache(maxsize=512)
def _cached(service: DicomService, source: str, study_uid: str, series_uid: str, size: int) -> bytes:
    found = service.source(source)
    if isinstance(found, DicomIndex):
        rows = [r for r in found.instances(series_uid=series_uid) if r["rows"] and r["frames"] == 1]
        return _render_middle(service, source, rows, size)
    listed = sorted(found.instance_list(study_uid, series_uid), key=lambda r: int(r["instance_number"] or 0))
    if not listed:
        raise InvalidData("the series has no instances to show")
    middle = listed[len(listed) // 2]
    try:
        image = Image.open(io.BytesIO(found.rendered(middle)))
        image.thumbnail((size, size))
        out = io.BytesIO()
        image.convert("L").save(out, format="JPEG", quality=80)
        return out.getvalue()
    except (SlicerCloudError, OSError, ValueError):
        pass  # the server does not render: decode it here from its metadata
    rows = [r for r in found.instances(study_uid, series_uid) if r["rows"] and r["frames"] == 1]
    return _render_middle(service, source, rows, size)


def _render_middle(service: DicomService, source: str, rows: list[dict], size: int) -> bytes:
    if not rows:
        raise InvalidData("the series has no single-frame image to show")
    rows.sort(key=lambda r: r["instance_number"] or 0)
    middle = rows[len(rows) // 2]
    data = service.fetcher(source)(middle)
    pixels, _, _ = decode_slice(data, middle)
    return render_jpeg(pixels, size)
