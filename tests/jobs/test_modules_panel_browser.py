"""The Modules panel in a real browser: choose a module, fill the form built from its XML, run it on the current
volume, watch the progress bar, and see the result in the scene and the views."""

from __future__ import annotations

import numpy as np
import pytest
from playwright.sync_api import sync_playwright

from helpers import browser as b
from helpers.serve import start_server

from .conftest import ball, write_volume

pytestmark = [pytest.mark.browser, pytest.mark.server, pytest.mark.slow]


@pytest.fixture(scope="module")
def panel_server(tmp_path_factory):
    data = tmp_path_factory.mktemp("panel") / "data"
    data.mkdir()
    write_volume(data / "ball.nrrd", ball((48, 48, 48), radius=14), spacing=(2.0, 2.0, 2.0))
    server = start_server(data, str(data / "ball.nrrd"))
    yield server
    server.stop()


@pytest.fixture(scope="module")
def page(panel_server):
    with sync_playwright() as playwright:
        chromium = b.launch(playwright)
        page = chromium.new_page(viewport={"width": 1400, "height": 900})
        page.goto(panel_server.url)
        b.wait_for_views(page, 4)
        yield page
        chromium.close()


def segmentations(server):
    _, body = server.request("GET", "/api/v1/scene/nodes")
    return [n for n in body["nodes"] if n["kind"] == "segmentation"]


def test_a_module_runs_from_its_form_and_its_result_shows_in_the_views(panel_server, page):
    before_nodes = segmentations(panel_server)
    page.locator("button:has(.mdi-cogs)").first.click()
    panel = page.locator("[data-testid=modules-panel]")
    panel.wait_for()
    page.wait_for_timeout(2000)  # the views settle at their new size
    before = b.view_pixels(page)
    panel.locator("[data-testid=modules-select]").click()
    page.locator(".v-overlay .v-list-item", has_text="Threshold to Labelmap").click()
    lower = panel.locator("[data-field=lower] input")
    lower.wait_for()
    assert lower.input_value() == "1"  # the XML default
    assert panel.locator("[data-field=inputVolume]").inner_text().count("ball") == 1  # the volume on show
    assert panel.locator("[data-field=labelValue] input").input_value() == "1"
    lower.fill("500")
    panel.locator("[data-testid=modules-run]").click()
    message = panel.locator("[data-testid=modules-message]")
    message.get_by_text("threshold finished: 1 new node(s) in the scene").wait_for(timeout=60000)
    assert panel.locator("[data-testid=modules-progress]").inner_text().strip() == "100 %"
    assert "succeeded" in panel.locator("[data-testid=modules-status]").inner_text()

    added = [n for n in segmentations(panel_server) if n not in before_nodes]
    assert [n["name"] for n in added] == ["ball.nrrd Output labelmap"]
    page.wait_for_timeout(2000)
    after = b.view_pixels(page)
    changed = [float(np.abs(x - y).mean()) for x, y in zip(before, after) if x.shape == y.shape]
    assert max(changed) > 1.0, changed  # the labelmap overlay appears in the slice views


def test_invalid_values_are_listed_in_the_panel_and_nothing_runs(panel_server, page):
    _, jobs_before = panel_server.request("GET", "/api/v1/jobs")
    panel = page.locator("[data-testid=modules-panel]")
    panel.locator("[data-testid=modules-select]").click()
    page.locator(".v-overlay .v-list-item", has_text="Gaussian Blur").click()
    sigma = panel.locator("[data-field=sigma] input")
    sigma.wait_for()
    sigma.fill("-4")
    panel.locator("[data-testid=modules-run]").click()
    panel.locator("[data-testid=modules-message]").get_by_text("sigma: -4.0 is below the minimum 0.01").wait_for(
        timeout=20000
    )
    assert panel_server.request("GET", "/api/v1/jobs")[1] == jobs_before
