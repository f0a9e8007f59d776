"""A volume pushed through REST (slicer_cloud.Client) shows up at once in a browser that has the viewer open:
the page's slice views change without a reload."""

from __future__ import annotations

import numpy as np
import pytest
from playwright.sync_api import sync_playwright

from helpers import browser as b
from slicer_cloud import Client

pytestmark = [pytest.mark.browser, pytest.mark.server]


def stripes(shape=(48, 96, 96)) -> np.ndarray:
    """Bright and dark stripes: nothing like the sample brain."""
    k, j, i = np.indices(shape)
    return np.where((i // 12 + j // 12) % 2 == 0, 3000, 0).astype(np.int16)


def slice_views(page) -> list[np.ndarray]:
    return [img for img in b.view_pixels(page) if not b.is_three_d(img)]


def differs(before: list[np.ndarray], after: list[np.ndarray]) -> bool:
    if len(after) != len(before):
        return False
    return any(a.shape == c.shape and np.abs(a - c).mean() > 10 for a, c in zip(before, after, strict=True))


def test_a_pushed_volume_appears_in_an_open_viewer_without_reload(server):
    with sync_playwright() as playwright:
        chromium = b.launch(playwright)
        page = chromium.new_page(viewport={"width": 1400, "height": 900})
        page.goto(server.url)
        b.wait_for_views(page, 4)
        page.wait_for_timeout(1500)
        before = slice_views(page)
        assert before, "no slice view on the page"
        page.wait_for_timeout(1000)
        assert not differs(before, slice_views(page)), "the views change by themselves; the check would mean nothing"
        navigations = []
        page.on("framenavigated", lambda frame: navigations.append(frame.url))

        Client(server.base, server.token).push_volume(stripes(), spacing=(1.0, 1.0, 1.0), name="stripes")

        changed = False
        for _ in range(40):
            page.wait_for_timeout(500)
            if differs(before, slice_views(page)):
                changed = True
                break
        assert changed, "the open page's slice views did not change after the push"
        assert navigations == [], "the page reloaded"
        chromium.close()
