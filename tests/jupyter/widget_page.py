"""Reading and driving the view widgets in a page (JupyterLab or Voila) with playwright."""

from __future__ import annotations

import io
import time

import numpy as np
from PIL import Image

VIEW = ".slicer-cloud-view"


def frames(locator) -> int:
    return int(locator.get_attribute("data-frames") or 0)


def pixels(locator) -> np.ndarray:
    """The widget's current picture (the decoded frame), as an RGB array."""
    locator.scroll_into_view_if_needed()
    data = locator.locator("img").screenshot()
    return np.asarray(Image.open(io.BytesIO(data)).convert("RGB")).astype(float)


def shows_a_volume(image: np.ndarray) -> bool:
    """A slice of the sample brain: a bright centre on a black background."""
    h, w, _ = image.shape
    centre = image[h // 3 : 2 * h // 3, w // 3 : 2 * w // 3].mean()
    edge = image[int(h * 0.6) : int(h * 0.7), 2:10].mean()  # left edge, clear of the title and the crosshair
    return centre > 40 and edge < 10


def settle(page, locator, before: int, timeout_s: float = 30.0) -> None:
    """Wait for a new frame after ``before`` and then for the still (lossless) frame that follows a pause."""
    deadline = time.monotonic() + timeout_s
    while frames(locator) <= before and time.monotonic() < deadline:
        page.wait_for_timeout(50)
    assert frames(locator) > before, "the view sent no new frame"
    last = frames(locator)
    quiet_since = time.monotonic()
    while time.monotonic() < deadline:
        page.wait_for_timeout(100)
        now = frames(locator)
        if now != last:
            last, quiet_since = now, time.monotonic()
        elif time.monotonic() - quiet_since > 0.8 and locator.get_attribute("data-format") == "image/png":
            return


def wheel_over(page, locator, dy: float = 300) -> None:
    box = locator.bounding_box()
    page.mouse.move(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    page.mouse.wheel(0, dy)


def difference(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.abs(a - b).mean())
