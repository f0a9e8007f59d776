"""The threshold dashboard served by Voila, in a real browser (Voila runs the notebook top to bottom): the views
show the volume, the wheel scrolls, and the threshold slider re-runs the module and changes the 3D surface."""

from __future__ import annotations

import os
import shutil

import pytest
from jupyter_servers import copy_examples, start_voila
from playwright.sync_api import sync_playwright
from widget_page import VIEW, difference, frames, pixels, settle, shows_a_volume, wheel_over

from helpers.browser import launch
from slicer_cloud.jupyter import sample_data

pytestmark = [pytest.mark.browser, pytest.mark.slow]


@pytest.fixture(scope="module")
def dashboard(tmp_path_factory):
    base = tmp_path_factory.mktemp("voila")
    root = base / "root"
    root.mkdir()
    copy_examples(root)
    shutil.copy(sample_data(), root / "brain.nii.gz")
    os.environ["SLICER_CLOUD_DASHBOARD_DATA"] = str(root)  # inherited by Voila's kernel
    try:
        proc = start_voila(root, "dashboard.ipynb", base / "voila.log")
    finally:
        os.environ.pop("SLICER_CLOUD_DASHBOARD_DATA", None)
    with sync_playwright() as playwright:
        browser = launch(playwright)
        page = browser.new_page(viewport={"width": 1200, "height": 900})
        page.goto(f"{proc.base}/?token={proc.token}")
        page.wait_for_function(f"() => document.querySelectorAll('{VIEW}[data-frames]').length >= 2", timeout=180_000)
        yield page
        browser.close()
    proc.stop()


def test_the_dashboard_shows_the_volume_and_scrolls(dashboard):
    page = dashboard
    view = page.locator(VIEW).first
    settle(page, view, 0)
    before = pixels(view)
    assert shows_a_volume(before)
    count = frames(view)
    wheel_over(page, view, 300)
    wheel_over(page, view, 300)
    settle(page, view, count)
    assert difference(before, pixels(view)) > 1.0


def test_the_threshold_slider_changes_the_3d_surface(dashboard):
    page = dashboard
    view3d = page.locator(VIEW).nth(1)
    settle(page, view3d, 0)
    before, count = pixels(view3d), frames(view3d)
    readout = page.locator(".widget-slider", has=page.locator("label", has_text="threshold")).locator(".widget-readout")
    readout.fill("200")
    readout.press("Enter")
    settle(page, view3d, count, timeout_s=60)
    assert difference(before, pixels(view3d)) > 2.0
    assert "mL above 200" in page.locator(".widget-label", has_text="mL above").first.inner_text()
