"""Debian's chromium driven by playwright, and pixel checks on the viewer's remote-rendered views."""

from __future__ import annotations

import io

import numpy as np
from PIL import Image

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]
VIEW_IMAGES = "img.image-display-area"


def launch(playwright):
    return playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)


def wait_for_views(page, count: int = 4, timeout_ms: int = 90000) -> None:
    """Wait until ``count`` remote views show a decoded frame."""
    page.wait_for_function(
        """([sel, n]) => {
            const imgs = Array.from(document.querySelectorAll(sel));
            const shown = imgs.filter(i => i.src && i.complete && i.naturalWidth > 16 && i.style.display !== 'none');
            return shown.length >= n;
        }""",
        arg=[VIEW_IMAGES, count],
        timeout=timeout_ms,
    )


def view_pixels(page) -> list[np.ndarray]:
    """Screenshots of every remote view, as RGB arrays."""
    shots = []
    for element in page.locator(VIEW_IMAGES).all():
        if element.is_visible():
            shots.append(np.asarray(Image.open(io.BytesIO(element.screenshot())).convert("RGB")).astype(float))
    return shots


def is_three_d(image: np.ndarray) -> bool:
    """Slice views have a black background; the 3D view a grey-blue gradient."""
    corner = image[:8, :8].mean()
    return corner > 20


def content_differs_from_background(image: np.ndarray) -> float:
    """Mean absolute difference between the central region and the corner colour."""
    h, w, _ = image.shape
    centre = image[h // 3 : 2 * h // 3, w // 3 : 2 * w // 3]
    corner = image[:8, :8].reshape(-1, 3).mean(0)
    return float(np.abs(centre - corner).mean())
