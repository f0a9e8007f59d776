"""Reading a rendered view back and encoding frames (JPEG while interacting, PNG when still)."""

from __future__ import annotations

import numpy as np

from ..core.snapshots import encode_image

INTERACTIVE_QUALITY = 80
STILL_FORMAT = "png"


def grab(render_window) -> np.ndarray:
    """Render ``render_window`` and read its pixels back as an RGB array, top row first."""
    from vtkmodules.util.numpy_support import vtk_to_numpy
    from vtkmodules.vtkCommonCore import vtkUnsignedCharArray

    render_window.Render()
    width, height = render_window.GetSize()
    buffer = vtkUnsignedCharArray()
    render_window.GetPixelData(0, 0, width - 1, height - 1, 0, buffer, 0)
    pixels = vtk_to_numpy(buffer).reshape(height, width, 3)
    return np.ascontiguousarray(pixels[::-1])


def encode(pixels: np.ndarray, *, still: bool) -> tuple[bytes, str]:
    """Lossless PNG for a still frame, JPEG for a frame in the middle of an interaction."""
    if still:
        return encode_image(pixels, STILL_FORMAT)
    return encode_image(pixels, "jpeg", quality=INTERACTIVE_QUALITY)


def tile(images: list[np.ndarray], rows: int, columns: int, cell: tuple[int, int]) -> np.ndarray:
    """Images (each ``cell`` = (width, height)) in a rows x columns grid, row by row; missing cells stay black."""
    width, height = cell
    canvas = np.zeros((rows * height, columns * width, 3), dtype=np.uint8)
    for index, image in enumerate(images[: rows * columns]):
        r, c = divmod(index, columns)
        h, w = min(height, image.shape[0]), min(width, image.shape[1])
        canvas[r * height : r * height + h, c * width : c * width + w] = image[:h, :w]
    return canvas
