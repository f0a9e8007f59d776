"""A real ``slicer-cloud desktop``: RFB through the authenticated WebSocket, auth on every path, supervision."""

from __future__ import annotations

import asyncio
import time
import urllib.error
import urllib.request

import aiohttp
import numpy as np
import pytest
from desktop_support import TOKEN, XTERM, start_desktop, wait_for_screen, with_rfb, x_screen_size

from slicer_cloud.desktop.display import display_in_use

pytestmark = pytest.mark.desktop


def _status(url: str, headers: dict[str, str] | None = None) -> int:
    request = urllib.request.Request(url, headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status
    except urllib.error.HTTPError as err:
        return err.code


def _not_uniform(image: np.ndarray) -> bool:
    return float(image.std()) > 5


def test_an_xterm_desktop_shows_the_window_and_typing_changes_the_picture(xterm_desktop):
    wait_for_screen(xterm_desktop, _not_uniform)

    async def type_a_command(client):
        before = await client.capture()
        await client.click(100, 100)
        for char in "echo slicer-cloud":
            await client.key(char)
        await client.key("Return")
        await asyncio.sleep(1)
        return before, await client.capture()

    before, after = with_rfb(xterm_desktop, type_a_command)
    assert np.abs(before.astype(int) - after).sum() > 1000


def test_without_the_token_static_files_and_the_websocket_are_refused(xterm_desktop):
    for path in ("/", "/vnc.html", "/core/rfb.js", "/app/ui.js", "/websockify"):
        assert _status(xterm_desktop.base + path) == 401, path
    assert _status(xterm_desktop.base + "/vnc.html", {"Authorization": "Bearer wrong-token-000"}) == 401
    assert _status(xterm_desktop.base + "/vnc.html", {"Authorization": f"Bearer {TOKEN}"}) == 200
    assert _status(xterm_desktop.base + "/healthz") == 200

    async def open_websocket():
        async with aiohttp.ClientSession() as session:
            with pytest.raises(aiohttp.WSServerHandshakeError) as refused:
                await session.ws_connect(xterm_desktop.ws_url)
            return refused.value.status

    assert asyncio.run(open_websocket()) == 401


def test_a_websocket_from_a_foreign_origin_is_refused(xterm_desktop):
    async def open_websocket():
        async with aiohttp.ClientSession() as session:
            headers = {"Authorization": f"Bearer {TOKEN}", "Origin": "http://evil.example"}
            with pytest.raises(aiohttp.WSServerHandshakeError) as refused:
                await session.ws_connect(xterm_desktop.ws_url, headers=headers)
            return refused.value.status

    assert asyncio.run(open_websocket()) == 403


def test_the_vnc_server_listens_on_no_tcp_port(xterm_desktop):
    vnc = xterm_desktop.child(xterm_desktop.vnc_process)
    assert vnc is not None
    assert [c for c in vnc.net_connections(kind="inet") if c.status == "LISTEN"] == []


@pytest.mark.browser
def test_the_novnc_page_at_the_printed_url_connects_and_shows_the_desktop(xterm_desktop):
    from playwright.sync_api import sync_playwright

    from helpers.browser import launch

    with sync_playwright() as playwright:
        browser = launch(playwright)
        try:
            page = browser.new_page(viewport={"width": 900, "height": 700})
            page.goto(xterm_desktop.url)
            page.wait_for_function("document.documentElement.classList.contains('noVNC_connected')", timeout=30000)
            assert "token=" not in page.url
            remote = xterm_desktop.variant == "tigervnc"
            assert ("resize=remote" if remote else "resize=scale") in page.url
            canvas = page.locator("#noVNC_container canvas")
            deadline = time.monotonic() + 30
            while True:
                from io import BytesIO

                from PIL import Image

                shot = np.asarray(Image.open(BytesIO(canvas.screenshot())).convert("RGB")).astype(float)
                if _not_uniform(shot) or time.monotonic() > deadline:
                    break
                time.sleep(1)
            assert _not_uniform(shot)
            if remote:
                # resize=remote: noVNC asks the server (SetDesktopSize) for the page's size, and again whenever the
                # browser window changes; the X screen follows.
                for width, height in ((900, 700), (700, 500)):
                    page.set_viewport_size({"width": width, "height": height})
                    deadline = time.monotonic() + 30
                    while x_screen_size(xterm_desktop) != (width, height) and time.monotonic() < deadline:
                        time.sleep(0.3)
                    assert x_screen_size(xterm_desktop) == (width, height)
                    page.wait_for_function(
                        f"(() => {{ const c = document.querySelector('#noVNC_container canvas');"
                        f" return c && c.width === {width} && c.height === {height}; }})()",
                        timeout=30000,
                    )
        finally:
            browser.close()


def test_a_killed_vnc_server_is_restarted_and_a_new_connection_works(xterm_desktop):
    # For tigervnc the VNC server is the X server: the app and the window manager go with it and are restarted.
    old = xterm_desktop.child(xterm_desktop.vnc_process)
    old.kill()
    old.wait(10)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        new = xterm_desktop.child(xterm_desktop.vnc_process)
        if new is not None and new.pid != old.pid:
            break
        time.sleep(0.2)
    else:
        pytest.fail("x11vnc was not restarted")
    while True:  # like noVNC's reconnect: retry while the new server comes up (503)
        try:
            wait_for_screen(xterm_desktop, _not_uniform, timeout=60)
            break
        except aiohttp.WSServerHandshakeError as refused:
            assert refused.status == 503 and time.monotonic() < deadline
            time.sleep(0.5)


def test_two_desktops_at_once_get_different_displays_and_ports(xterm_desktop, tmp_path):
    second = start_desktop(tmp_path, "--app", XTERM, "--geometry", "800x600", variant=xterm_desktop.variant)
    try:
        assert second.display != xterm_desktop.display
        assert second.base != xterm_desktop.base
        assert wait_for_screen(second, _not_uniform, timeout=30).shape == (600, 800, 3)
    finally:
        second.stop()


def test_exit_with_app_ends_the_desktop_with_the_apps_exit_code(tmp_path):
    desktop = start_desktop(tmp_path, "--app", "sh -c 'sleep 2; exit 3'", "--exit-with-app")
    assert desktop.process.wait(30) == 3
    assert not display_in_use(desktop.display)  # the X server was stopped with the session


@pytest.mark.timeout(600)
def test_the_native_viewer_shows_the_volume_and_arrow_keys_scroll_the_slice(tmp_path):
    desktop = start_desktop(tmp_path, "--geometry", "1000x600")
    try:
        # Left half: the slice window (black around the brain); wait until the brain is drawn in it.
        left = (slice(50, 550), slice(50, 450))
        screen = wait_for_screen(desktop, lambda s: float(s.std()) > 20, timeout=240, region=left)

        async def scroll(client):
            # The first volume rendering of the 3D window may keep a loaded CPU busy for a while; keys sent
            # meanwhile wait in the X queue or are lost: send more every few seconds, up to a deadline.
            changed = None
            deadline = time.monotonic() + 180
            attempt = 0
            while time.monotonic() < deadline:
                if attempt % 5 == 0:
                    await client.click(250, 300)
                    for _ in range(15):
                        await client.key("Up")
                attempt += 1
                await asyncio.sleep(1)
                changed = await client.capture()
                if np.abs(changed[left].astype(int) - screen[left]).mean() > 2:
                    break
            return changed

        after = with_rfb(desktop, scroll)
        assert np.abs(after[left].astype(int) - screen[left]).mean() > 2
    finally:
        desktop.stop()
