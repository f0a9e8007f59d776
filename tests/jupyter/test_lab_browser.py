"""The quickstart notebook in a real JupyterLab and a real browser: the views show the volume and follow the mouse
and the linked controls."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import sync_playwright
from widget_page import VIEW, difference, frames, pixels, settle, shows_a_volume, wheel_over

from helpers.browser import launch

pytestmark = [pytest.mark.browser, pytest.mark.slow]


@pytest.fixture(scope="module")
def quickstart_page(lab):
    """The quickstart notebook opened in JupyterLab and run top to bottom."""
    with sync_playwright() as playwright:
        browser = launch(playwright)
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        page.goto(f"{lab.base}/lab/tree/quickstart.ipynb?token={lab.token}")
        page.wait_for_selector(".jp-Notebook .jp-Cell", timeout=90_000)
        # the kernel has started (and is idle) before the notebook is run
        page.wait_for_selector(".jp-Notebook-ExecutionIndicator[data-status='idle']", timeout=120_000)
        run_all(page)
        try:
            page.wait_for_selector(f"{VIEW}[data-frames]", timeout=180_000)
        except Exception:
            page.screenshot(path=str(lab.root.parent / "no-frames.png"))
            raise
        # the last cell (a table of nodes) has run when its DataFrame is shown
        page.wait_for_selector(".jp-OutputArea-output table.dataframe", timeout=180_000)
        yield page
        browser.close()


def run_all(page, attempts: int = 3) -> None:
    """Run > Run All Cells, again if no cell started (a click right after the kernel started can be lost)."""
    for _ in range(attempts):
        page.locator(".lm-MenuBar-itemLabel", has_text=re.compile(r"^Run$")).first.click()
        page.locator(".lm-Menu-itemLabel", has_text=re.compile(r"^Run All Cells$")).first.click()
        try:
            page.wait_for_function(
                r"""() => Array.from(document.querySelectorAll('.jp-InputArea-prompt'))
                        .some(p => /\[(\*|\d+)\]/.test(p.textContent))""",
                timeout=20_000,
            )
            return
        except Exception:
            page.keyboard.press("Escape")
    raise AssertionError("Run All Cells did not start the notebook")


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


def test_a_slider_linked_to_the_window_changes_the_picture(quickstart_page):
    page = quickstart_page
    view = page.locator(VIEW).first
    settle(page, view, 0)
    before, count = pixels(view), frames(view)
    slider = page.locator(".widget-slider", has=page.locator("label", has_text="window")).first
    readout = slider.locator(".widget-readout")
    readout.scroll_into_view_if_needed()
    readout.fill("30")
    readout.press("Enter")
    settle(page, view, count)
    after = pixels(view)
    assert difference(before, after) > 5.0
    # a narrow window saturates the brain: many pure white pixels where there were grey ones
    assert (after > 250).mean() > (before > 250).mean() + 0.05
