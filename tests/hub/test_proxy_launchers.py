"""Slicer Web and Slicer Desktop launched by jupyter-server-proxy inside a real Jupyter server, behind its login."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import psutil
import pytest

sys.path.insert(0, str(Path(__file__).parents[1]))
sys.path.insert(0, str(Path(__file__).parent))

from hub_processes import listening_port, session_processes, start_jupyter  # noqa: E402

from helpers.browser import content_differs_from_background, launch, view_pixels, wait_for_views  # noqa: E402

pytestmark = [pytest.mark.hub, pytest.mark.server, pytest.mark.timeout(400)]

# Run by another local user (nobody) where the tests run as root: plain stdlib, no credentials of the session.
INTRUDER = textwrap.dedent(
    """
    import base64, http.client, os, sys
    port, jupyter_token = int(sys.argv[1]), sys.argv[2]
    def status(method, path, headers=None):
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=20)
        conn.request(method, path, headers=headers or {})
        code = conn.getresponse().status
        conn.close()
        return code
    ws = {"Upgrade": "websocket", "Connection": "Upgrade", "Sec-WebSocket-Version": "13",
          "Sec-WebSocket-Key": base64.b64encode(os.urandom(16)).decode()}
    print(os.getuid(), status("GET", "/"), status("GET", "/api/v1/nodes"), status("POST", "/paraview/"),
          status("GET", "/ws", ws), status("GET", "/api/v1/nodes", {"Authorization": "Bearer " + jupyter_token}),
          status("GET", "/?token=" + jupyter_token))
    """
)


@pytest.fixture(scope="module")
def jupyter(tmp_path_factory):
    base = tmp_path_factory.mktemp("jupyter")
    home, data = base / "home", base / "data"
    home.mkdir()
    server = start_jupyter(home, data, base / "jupyter.log")
    yield server
    sessions = session_processes(server.process.pid, "serve") + session_processes(server.process.pid, "desktop")
    server.stop()
    _, alive = psutil.wait_procs(sessions, timeout=30)
    for process in alive:
        process.kill()
    assert not alive, "the sessions must stop with the Jupyter server"


def test_the_launcher_lists_slicer_web_and_slicer_desktop_with_their_icons(jupyter):
    response = jupyter.get("/server-proxy/servers-info")
    assert response.status_code == 200, response.text
    servers = {s["name"]: s for s in response.json()["server_processes"]}
    assert servers["slicer"]["launcher_entry"]["title"] == "Slicer Web"
    assert servers["slicer-desktop"]["launcher_entry"]["title"] == "Slicer Desktop"
    for name in ("slicer", "slicer-desktop"):
        assert servers[name]["launcher_entry"]["enabled"]
        icon = jupyter.get(servers[name]["launcher_entry"]["icon_url"])
        assert icon.status_code == 200 and b"<svg" in icon.content


def test_slicer_web_is_not_proxied_without_the_jupyter_login(jupyter):
    response = jupyter.get("/slicer/api/v1/nodes", authenticated=False)
    assert response.status_code in (302, 403), response.status_code
    assert not session_processes(jupyter.process.pid, "serve"), "an anonymous visit must not start a session"


def test_slicer_web_opens_under_the_proxy_prefix_and_renders_the_sample(jupyter):
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = launch(playwright)
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        page.goto(f"{jupyter.base}/slicer/?token={jupyter.token}", timeout=200_000)
        assert "/slicer/" in page.url
        wait_for_views(page, 4, timeout_ms=120_000)
        shots = view_pixels(page)
        browser.close()
    assert max(content_differs_from_background(shot) for shot in shots) > 10, "the views show nothing"
    # REST through the proxy: the proxy adds the session's credentials.
    scene = jupyter.get("/slicer/api/v1/nodes")
    assert scene.status_code == 200, scene.text


def test_another_local_user_cannot_use_the_session_without_credentials(jupyter):
    jupyter.get("/slicer/healthz")  # started by the previous test, or now
    (serve,) = session_processes(jupyter.process.pid, "serve")
    port = listening_port(serve)
    python = "/usr/bin/python3" if Path("/usr/bin/python3").exists() else sys.executable
    command = [python, "-c", INTRUDER, str(port), jupyter.token]
    if os.geteuid() == 0:
        command = ["setpriv", "--reuid=nobody", "--regid=nogroup", "--clear-groups", *command]
    out = subprocess.run(command, capture_output=True, text=True, timeout=60, cwd="/")
    assert out.returncode == 0, out.stderr
    uid, *codes = out.stdout.split()
    if os.geteuid() == 0:
        assert int(uid) != 0, "the probe must run as another user"
    assert codes == ["401"] * 6, f"direct requests to the session must all be refused, got {codes}"


@pytest.mark.desktop
def test_slicer_desktop_opens_under_the_proxy_prefix_and_connects(jupyter):
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = launch(playwright)
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        page.goto(f"{jupyter.base}/slicer-desktop/?token={jupyter.token}", timeout=200_000)
        assert "/slicer-desktop/vnc.html" in page.url
        page.wait_for_function(
            "() => { const c = document.querySelector('#noVNC_container canvas, canvas');"
            " return c && c.width > 100 && c.height > 100; }",
            timeout=90_000,
        )
        time.sleep(1)
        connected = page.evaluate("() => document.documentElement.classList.contains('noVNC_connected')")
        browser.close()
    assert connected, "noVNC did not connect through the proxy"
    (desktop,) = session_processes(jupyter.process.pid, "desktop")
    port = listening_port(desktop)
    import requests

    assert requests.get(f"http://127.0.0.1:{port}/", timeout=10, allow_redirects=False).status_code == 401
