"""The viewer in a real browser (Debian chromium through playwright): the printed URL shows the sample, no token
means no viewer, and a share link watches without editing."""

from __future__ import annotations

import asyncio
import re

import pytest
from playwright.sync_api import sync_playwright

from helpers import browser as b
from helpers.wslink_client import WslinkClient

pytestmark = [pytest.mark.browser, pytest.mark.server]


@pytest.fixture(scope="module")
def chromium():
    with sync_playwright() as playwright:
        instance = b.launch(playwright)
        yield instance
        instance.close()


def printed_url(server, label: str) -> str:
    match = re.search(rf"^{label}: (\S+)$", server.log.read_text(), re.MULTILINE)
    assert match, f"serve printed no '{label}:' line"
    return match.group(1)


async def _server_state(server, key: str):
    import aiohttp

    _, body = server.request("POST", "/paraview/", body=b"{}")
    async with aiohttp.ClientSession() as session:
        ws = await session.ws_connect(
            f"ws://127.0.0.1:{server.port}/ws", headers={"Authorization": f"Bearer {server.token}"}, max_msg_size=0
        )
        client = WslinkClient(ws)
        await client.hello(body["secret"])
        reply = await client.call("trame.state.get")
        await ws.close()
    return reply["result"]["state"].get(key)


def server_state(server, key: str):
    """A state value as the server holds it (asked over a separate editor WebSocket, off playwright's loop)."""
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, _server_state(server, key)).result(60)


def test_the_printed_url_shows_the_sample_in_slice_and_3d_views(server, chromium):
    page = chromium.new_page(viewport={"width": 1400, "height": 900})
    page.goto(printed_url(server, "Open"))
    assert "token=" not in page.url  # the token moved into an HttpOnly cookie
    b.wait_for_views(page, 4)
    page.wait_for_timeout(1500)  # the still (full quality) frames
    images = b.view_pixels(page)
    three_d = [img for img in images if b.is_three_d(img)]
    slices = [img for img in images if not b.is_three_d(img)]
    assert len(three_d) == 1 and len(slices) == 3
    for img in slices:
        assert img.std() > 20, "a slice view is uniform"
        assert b.content_differs_from_background(img) > 20
    assert b.content_differs_from_background(three_d[0]) > 15, "the 3D view shows only its background"
    page.close()


def test_without_the_token_the_viewer_is_refused(server, chromium):
    page = chromium.new_page()
    response = page.goto(server.base + "/")
    assert response.status == 401
    assert "token" in page.content()
    response = page.goto(server.base + "/?token=wrong-token-value")
    assert response.status == 401
    assert page.locator(b.VIEW_IMAGES).count() == 0
    page.close()


def test_a_share_link_shows_the_views_and_its_edits_are_refused_by_the_server(server, chromium):
    editor = chromium.new_page(viewport={"width": 1400, "height": 900})
    editor.goto(server.url)
    b.wait_for_views(editor, 4)
    key = "ViewerLayoutState__is_drawer_visible"
    assert server_state(server, key) is False

    viewer = chromium.new_page(viewport={"width": 1400, "height": 900})
    viewer.goto(printed_url(server, "Read-only share link"))
    b.wait_for_views(viewer, 4)
    assert any(img.std() > 20 for img in b.view_pixels(viewer))

    refused = viewer.evaluate(
        """async () => {
            try { await window.trame.trigger('slicer_cloud_any_trigger', []); return 'accepted'; }
            catch (e) { return String(e && (e.message || JSON.stringify(e))); }
        }"""
    )
    assert "read-only" in refused
    viewer.evaluate(f"() => window.trame.state.set('{key}', true)")
    viewer.wait_for_timeout(1500)
    assert server_state(server, key) is False, "the server accepted a viewer's edit"

    editor.evaluate(f"() => window.trame.state.set('{key}', true)")
    editor.wait_for_timeout(1500)
    assert server_state(server, key) is True  # the same change from the editor goes through
    editor.evaluate(f"() => window.trame.state.set('{key}', false)")
    viewer.close()
    editor.close()


def test_two_editors_see_the_same_scene_live(server, chromium):
    first = chromium.new_page(viewport={"width": 1400, "height": 900})
    second = chromium.new_page(viewport={"width": 1400, "height": 900})
    for page in (first, second):
        page.goto(server.url)
        b.wait_for_views(page, 4)
    before = second.evaluate("() => Array.from(document.querySelectorAll('img.image-display-area')).map(i => i.src)")
    # Moving a slice in the first browser sends new frames to the second one.
    slider = first.locator(".v-slider").first
    box = slider.bounding_box()
    first.mouse.click(box["x"] + box["width"] * 0.2, box["y"] + box["height"] / 2)
    second.wait_for_function(
        "(before) => Array.from(document.querySelectorAll('img.image-display-area'))"
        ".some((i, n) => i.src !== before[n])",
        arg=before,
        timeout=20000,
    )
    first.close()
    second.close()
