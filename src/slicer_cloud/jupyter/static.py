"""Static pictures of views and layouts: PNG images that stay in saved notebooks and ``nbconvert`` exports."""

from __future__ import annotations

from typing import Any

import numpy as np

from ..core.snapshots import encode_image


def png_bytes(pixels: np.ndarray) -> bytes:
    """PNG bytes of an RGB array."""
    data, _ = encode_image(np.ascontiguousarray(pixels, dtype=np.uint8), "png")
    return data


def snapshot(view: Any, *, width: int | None = None):
    """A static PNG (``IPython.display.Image``) of a view widget, a layout, or anything with ``pixels()``.

    Unlike a live widget, the image is stored in the notebook's output, so it survives saving, ``nbconvert --to
    html`` and viewers without a kernel (GitHub, nbviewer).
    """
    from IPython.display import Image

    pixels = view.pixels() if hasattr(view, "pixels") else np.asarray(view)
    if not isinstance(pixels, np.ndarray) or pixels.ndim != 3 or pixels.shape[2] != 3:
        raise TypeError("snapshot() takes a view, a layout or an RGB array")
    return Image(data=png_bytes(pixels), format="png", width=width)
