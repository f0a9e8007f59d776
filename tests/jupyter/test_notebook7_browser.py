"""The quickstart notebook in Jupyter Notebook 7 (the ``notebook`` package's single-document UI, served by the same
Jupyter server as JupyterLab) and a real browser: the slice view shows the volume and follows the mouse wheel."""

from __future__ import annotations

import json
import re
import time
import urllib.request

import pytest
from playwright.sync_api import sync_playwright
from test_lab_browser import run_all
from widget_page import VIEW, difference, frames, pixels, settle, shows_a_volume, wheel_over

from helpers.browser import launch

pytestmark = [pytest.mark.browser, pytest.mark.slow]


def wait_for_idle_kernel(server, timeout_s: float = 120.0) -> None:
    """Wait until the notebook's kernel has started and is idle (asked of the server's REST API)."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        req = urllib.request.Request(f"{server.base}/api/sessions", headers={"Authorization": f"token {server.token}"})
        with urllib.request.urlopen(req, timeout=10) as response:
            sessions = json.load(response)
        if any(s["kernel"] and s["kernel"].get("execution_state") == "idle" for s in sessions):
            return
        time.sleep(0.5)
    raise AssertionError(f"no idle kernel within {timeout_s} s")


@pytest.fixture(scope="module")
def quickstart_page(lab):
    """The quickstart notebook opened in Notebook 7 (/notebooks/...) and run top to bottom."""
    with sync_playwright() as playwright:
        browser = launch(playwright)
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        page.goto(f"{lab.base}/notebooks/quickstart.ipynb?token={lab.token}")
        page.wait_for_selector(".jp-Notebook .jp-Cell", timeout=90_000)
        wait_for_idle_kernel(lab)
        run_all(page)
        try:
            page.wait_for_selector(f"{VIEW}[data-frames]", timeout=180_000)
            # the last cell (a table of nodes) has run when its DataFrame is shown
            page.wait_for_selector(".jp-OutputArea-output table.dataframe", timeout=180_000)
        except Exception:
            page.screenshot(path=str(lab.root.parent / "notebook7-no-frames.png"))
            raise
        yield page
        browser.close()


def test_the_page_is_the_notebook_7_ui(quickstart_page):
    # Notebook 7's single-document shell, not JupyterLab's
    assert quickstart_page.evaluate("() => document.body.dataset.notebook") == "notebooks"
    assert quickstart_page.locator("#main-panel").count() == 1
    assert re.search(r"/notebooks/quickstart\.ipynb", quickstart_page.url)


def test_the_slice_view_widget_shows_the_volume(quickstart_page):
    view = quickstart_page.locator(VIEW).first
    settle(quickstart_page, view, 0)
    assert shows_a_volume(pixels(view))


def test_a_mouse_wheel_over_the_slice_view_changes_the_slice(quickstart_page):
    page = quickstart_page
    view = page.locator(VIEW).first
    settle(page, view, 0)
    before, count = pixels(view), frames(view)
    wheel_over(page, view, 300)
    wheel_over(page, view, 300)
    settle(page, view, count)
    after = pixels(view)
    assert shows_a_volume(after)
    assert difference(before, after) > 1.0
