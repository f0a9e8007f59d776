"""The viewer's DICOM browser in a real browser: search the data root and a real Orthanc, see thumbnails, open a
series progressively, export a segmentation as DICOM SEG to Orthanc - segments identical when read back."""

from __future__ import annotations

import io

import highdicom as hd
import nrrd
import numpy as np
import pydicom
import pytest
from datagen import SeriesSpec, expected_ijk_to_ras, series_datasets, write_series
from playwright.sync_api import sync_playwright

from helpers import browser as b
from helpers.serve import start_server
from slicer_cloud.dicom.web_source import parse_sources

pytestmark = [pytest.mark.browser, pytest.mark.server, pytest.mark.slow, pytest.mark.orthanc]

LOCAL = SeriesSpec(slices=16, rows=64, columns=64, description="Local CT", seed=21)
REMOTE = SeriesSpec(slices=20, rows=96, columns=80, description="Remote CT", patient_name="Pacs^Patient",
                    patient_id="PACS-1", accession="ACC-PACS", seed=22)  # fmt: skip


@pytest.fixture(scope="module")
def served(tmp_path_factory, orthanc):
    (source,) = parse_sources([f"orthanc={orthanc.dicomweb_url}"], orthanc.env).values()
    source.store(series_datasets(REMOTE))
    data = tmp_path_factory.mktemp("browser-data")
    write_series(data / "local-ct", LOCAL)
    labels = np.zeros((REMOTE.slices, REMOTE.rows, REMOTE.columns), np.uint8)
    labels[4:12, 20:50, 10:40] = 1
    labels[14:18, 60:80, 50:70] = 2
    matrix = np.diag([-1.0, -1.0, 1.0, 1.0]) @ expected_ijk_to_ras(REMOTE)  # back to LPS
    nrrd.write(str(data / "findings.seg.nrrd"), labels.transpose(2, 1, 0).copy(),
               {"space": "left-posterior-superior", "space directions": matrix[:3, :3].T,
                "space origin": matrix[:3, 3]})  # fmt: skip
    import os

    os.environ.update(orthanc.env)  # the session reads the credentials from its environment
    server = start_server(data, f"--dicomweb=orthanc={orthanc.dicomweb_url}")
    yield server, labels
    server.stop()


@pytest.fixture(scope="module")
def page(served):
    server, _ = served
    with sync_playwright() as playwright:
        chromium = b.launch(playwright)
        page = chromium.new_page(viewport={"width": 1400, "height": 1000})
        page.goto(server.url)
        b.wait_for_views(page, 4)
        page.locator("button:has(.mdi-database-search)").first.click()
        page.locator("[data-testid=dicom-browser]").wait_for(timeout=30000)
        yield page
        chromium.close()


def wait_message(page, text: str, timeout: float = 60000) -> None:
    """Wait for the panel's message to contain ``text``; on timeout, fail with the message shown instead."""
    try:
        page.locator("[data-testid=dicom-message]", has_text=text).wait_for(timeout=timeout)
    except Exception:
        shown = page.locator("[data-testid=dicom-message]").all_inner_texts()
        raise AssertionError(f"expected {text!r}, the panel shows {shown}") from None


def volumes(server) -> list[dict]:
    return server.request("GET", "/api/v1/volumes")[1]["volumes"]


def test_the_browser_searches_the_data_root_shows_thumbnails_and_opens_a_series(served, page):
    server, _ = served
    page.locator("[data-testid=dicom-patient] input").fill("doe")
    page.locator("[data-testid=dicom-search]").click()
    page.locator("[data-testid=dicom-studies] .v-list-item", has_text="Doe^Jane").click()
    row = page.locator("[data-testid=dicom-series] .v-list-item", has_text="Local CT")
    row.wait_for(timeout=30000)
    page.wait_for_function(
        "() => { const i = document.querySelector('[data-testid=dicom-thumb]'); return i && i.naturalWidth > 8; }",
        timeout=30000,
    )
    row.locator("[data-testid=dicom-open]").click()
    wait_message(page, "Opened Local CT")
    (volume,) = [v for v in volumes(server) if v["name"] == "Local CT"]
    assert volume["dimensions"] == [LOCAL.columns, LOCAL.rows, LOCAL.slices]
    assert np.allclose(volume["ijkToRas"], expected_ijk_to_ras(LOCAL), atol=1e-4)


def test_files_added_to_and_removed_from_the_data_root_show_up_in_the_browser(served, page):
    import shutil
    import time

    server, _ = served
    later = SeriesSpec(slices=3, patient_name="Later^Arrival", patient_id="LATE-1", description="Added later")
    write_series(server.data / "later", later)
    time.sleep(2.1)  # the index rescans at most every 2 s
    page.locator("[data-testid=dicom-patient] input").fill("later")
    page.locator("[data-testid=dicom-search]").click()
    page.locator("[data-testid=dicom-studies] .v-list-item", has_text="Later^Arrival").wait_for(timeout=30000)
    shutil.rmtree(server.data / "later")
    time.sleep(2.1)
    page.locator("[data-testid=dicom-search]").click()
    wait_message(page, "No studies found")


def test_the_browser_opens_from_orthanc_and_stores_a_dicom_seg_back(served, page, orthanc):
    server, labels = served
    page.locator("[data-testid=dicom-source]").click()
    page.get_by_role("option", name="orthanc").click()
    page.locator("[data-testid=dicom-patient] input").fill("pacs")
    page.locator("[data-testid=dicom-search]").click()
    page.locator("[data-testid=dicom-studies] .v-list-item", has_text="Pacs^Patient").click()
    row = page.locator("[data-testid=dicom-series] .v-list-item", has_text="Remote CT")
    row.wait_for(timeout=30000)
    row.locator("[data-testid=dicom-open]").click()
    wait_message(page, "Opened Remote CT")
    assert any(v["name"] == "Remote CT" for v in volumes(server))

    status, _ = server.json("POST", "/api/v1/scene/open", {"path": "findings.seg.nrrd"})
    assert status == 200
    page.locator("[data-testid=dicom-export-seg]").click()
    wait_message(page, "Stored DICOM SEG on orthanc")

    (source,) = parse_sources([f"orthanc={orthanc.dicomweb_url}"], orthanc.env).values()
    (seg_series,) = [s for s in source.series(REMOTE.study_uid) if s["modality"] == "SEG"]
    (row,) = source.instances(REMOTE.study_uid, seg_series["series_uid"])
    seg = hd.seg.Segmentation.from_dataset(pydicom.dcmread(io.BytesIO(pydicom.filebase.DicomBytesIO(
        _part10(source.retrieve(row))).getvalue())))  # fmt: skip
    volume = seg.get_volume(combine_segments=False, dtype=np.uint8)
    array = np.asarray(volume.array)
    assert array.shape[:3] == labels.shape
    if np.dot(np.asarray(volume.affine)[:3, 0], REMOTE.normal) < 0:  # highdicom may stack top-down
        array = array[::-1]
    assert np.array_equal(array[..., 0] > 0, labels == 1) and np.array_equal(array[..., 1] > 0, labels == 2)
    assert server.alive()


def _part10(ds) -> bytes:
    out = io.BytesIO()
    ds.save_as(out, enforce_file_format=True)
    return out.getvalue()
