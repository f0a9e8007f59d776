"""Editing in a real browser: the server data browser (upload, open, save, download) and painting a segment."""

from __future__ import annotations

import nrrd
import numpy as np
import pytest
from playwright.sync_api import sync_playwright

from helpers import browser as b
from helpers import datagen

pytestmark = [pytest.mark.browser, pytest.mark.server]


@pytest.fixture(scope="module")
def page(server):
    with sync_playwright() as playwright:
        chromium = b.launch(playwright)
        page = chromium.new_page(viewport={"width": 1400, "height": 900}, accept_downloads=True)
        page.goto(server.url)
        b.wait_for_views(page, 4)
        yield page
        chromium.close()


def nodes(server, kind):
    _, body = server.request("GET", "/api/v1/scene/nodes")
    return [n for n in body["nodes"] if n["kind"] == kind]


def open_tool(page, icon: str):
    page.locator(f"button:has(.{icon})").first.click()
    page.wait_for_timeout(500)


def test_the_data_browser_uploads_opens_saves_and_downloads(server, page, tmp_path):
    volume = datagen.write_nrrd(tmp_path / "upload-me.nrrd")
    open_tool(page, "mdi-folder-open")
    page.locator("[data-testid=db-upload] input[type=file]").set_input_files(str(volume))
    page.get_by_text("Uploaded 1 file(s)").wait_for(timeout=30000)
    assert (server.data / "upload-me.nrrd").read_bytes() == volume.read_bytes()

    before = len(nodes(server, "volume"))
    row = page.locator("[data-testid=db-list] .v-list-item", has_text="upload-me.nrrd")
    row.locator("[data-testid=db-open]").click()
    page.get_by_text("Opened upload-me.nrrd").wait_for(timeout=30000)
    assert len(nodes(server, "volume")) == before + 1

    page.locator("[data-testid=db-save-name] input").fill("from-browser.mrb")
    page.locator("[data-testid=db-save]").click()
    page.get_by_text("Saved from-browser.mrb").wait_for(timeout=60000)
    assert (server.data / "from-browser.mrb").read_bytes()[:2] == b"PK"

    with page.expect_download() as download_info:
        row.locator("a:has(.mdi-download)").click()
    assert download_info.value.suggested_filename == "upload-me.nrrd"
    assert open(download_info.value.path(), "rb").read() == volume.read_bytes()
    open_tool(page, "mdi-folder-open")  # close the drawer


def test_a_hostile_upload_from_the_browser_shows_a_message_and_keeps_the_scene(server, page, tmp_path):
    bomb = tmp_path / "bomb.nrrd"
    bomb.write_bytes(datagen.nrrd_header_bomb())
    open_tool(page, "mdi-folder-open")
    page.locator("[data-testid=db-upload] input[type=file]").set_input_files(str(bomb))
    page.get_by_text("Uploaded 1 file(s)").wait_for(timeout=30000)
    before = nodes(server, "volume")
    page.locator("[data-testid=db-list] .v-list-item", has_text="bomb.nrrd").locator("[data-testid=db-open]").click()
    message = page.locator("[data-testid=db-message]")
    message.get_by_text("max_image").wait_for(timeout=30000)
    assert nodes(server, "volume") == before
    assert server.alive()
    open_tool(page, "mdi-folder-open")


def test_painting_a_segment_in_a_slice_view_changes_the_segmentation(server, page, tmp_path):
    open_tool(page, "mdi-brush")
    add = page.get_by_role("button", name="Add segment")
    add.wait_for(state="visible")
    add.click()
    page.wait_for_timeout(1500)
    segmentations = nodes(server, "segmentation")
    assert segmentations, "adding a segment created no segmentation"
    # Choose the paint effect (first brush button inside the drawer) and drag across the axial view.
    paint = page.locator("button:has(.mdi-cursor-default) + button:has(.mdi-brush)")
    paint.click()
    page.wait_for_function("(el) => el.classList.contains('v-btn--active')", arg=paint.element_handle(), timeout=10000)
    views = [v for v in page.locator(b.VIEW_IMAGES).all() if v.is_visible()]
    box = max((v.bounding_box() for v in views), key=lambda r: r["width"] * r["height"])
    cx, cy = box["x"] + box["width"] / 2, box["y"] + box["height"] / 2
    page.mouse.move(cx - 60, cy)
    page.mouse.down()
    for step in range(25):
        page.mouse.move(cx - 60 + 5 * step, cy + (step % 5))
        page.wait_for_timeout(40)
    page.mouse.up()
    page.wait_for_timeout(2000)

    seg_id = nodes(server, "segmentation")[-1]["id"]
    status, _ = server.json(
        "POST", "/api/v1/scene/save", {"path": "painted.seg.nrrd", "node": seg_id, "overwrite": True}
    )
    assert status == 201
    voxels, _ = nrrd.read(str(server.data / "painted.seg.nrrd"))
    assert np.count_nonzero(voxels) > 50, f"the brush stroke painted nothing ({np.count_nonzero(voxels)} voxels)"
    open_tool(page, "mdi-brush")
