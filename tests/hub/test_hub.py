"""``slicer-cloud hub``: a real JupyterHub with configurable-http-proxy, two users in a real browser, each with their
own Slicer session; neither reaches the other's; the idle culler stops an idle session after it autosaved."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import psutil
import pytest
import requests

sys.path.insert(0, str(Path(__file__).parents[1]))
sys.path.insert(0, str(Path(__file__).parent))

from hub_processes import free_port, session_processes  # noqa: E402

from helpers.browser import content_differs_from_background, launch, view_pixels, wait_for_views  # noqa: E402
from helpers.datagen import ball_volume  # noqa: E402

pytestmark = [pytest.mark.hub, pytest.mark.server, pytest.mark.browser, pytest.mark.timeout(300)]

USERS = ("alice", "bob")
IDLE_TIMEOUT = 30  # seconds; activity is reported and checked every 5 s


def nrrd_bytes() -> bytes:
    import io

    import nrrd

    data = ball_volume(shape=(24, 24, 16))
    header = {"space": "left-posterior-superior", "space directions": [[1, 0, 0], [0, 1, 0], [0, 0, 2]],
              "space origin": [0, 0, 0], "encoding": "raw"}  # fmt: skip
    buffer = io.BytesIO()
    nrrd.write(buffer, data, header)
    return buffer.getvalue()


class Hub:
    def __init__(self, state: Path, log: Path) -> None:
        self.state = state
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}/"
        self.log = log
        command = [sys.executable, "-m", "slicer_cloud", "hub", "--auth", "dummy", "--users", ",".join(USERS),
                   "--port", str(self.port), "--state", str(state), "--idle-timeout", str(IDLE_TIMEOUT)]  # fmt: skip
        env = {**os.environ, "PYTHONUNBUFFERED": "1"}
        env.pop("SLICER_CLOUD_TOKEN", None)
        with log.open("wb") as out:
            self.process = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT, env=env)
        deadline = time.monotonic() + 90
        while "Open: " not in log.read_text(errors="replace"):
            if self.process.poll() is not None or time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(f"slicer-cloud hub did not start:\n{log.read_text()[-4000:]}")
            time.sleep(0.5)

    def user_data(self, user: str) -> Path:
        return self.state / "users" / user / "slicer-cloud-data"

    def single_user_servers(self) -> list[psutil.Process]:
        found = []
        for child in psutil.Process(self.process.pid).children(recursive=True):
            try:
                if "jupyterhub.singleuser" in child.cmdline():
                    found.append(child)
            except psutil.NoSuchProcess:
                pass
        return found

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(60)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(10)


@pytest.fixture(scope="module")
def hub(tmp_path_factory):
    base = tmp_path_factory.mktemp("hub")
    running = Hub(base / "state", base / "hub.log")
    yield running
    servers = running.single_user_servers()
    sessions = [s for p in servers for s in session_processes(p.pid, "serve")]
    running.stop()
    _, alive = psutil.wait_procs(servers + sessions, timeout=30)
    for process in alive:
        process.kill()
    assert not alive, f"left running after the hub stopped: {alive}"


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = launch(playwright)
        yield chromium
        chromium.close()


@pytest.fixture(scope="module")
def pages(hub, browser):
    """One browser context (its own cookies) per user, logged in through the hub's login form."""
    opened = {}
    for user in USERS:
        page = browser.new_context(viewport={"width": 1280, "height": 900}).new_page()
        page.goto(hub.base + "hub/login", timeout=60_000)
        page.fill("#username_input", user)
        page.fill("#password_input", "any password")
        page.click("#login_submit")
        opened[user] = page
    for user, page in opened.items():
        page.wait_for_url(f"**/user/{user}/lab**", timeout=150_000)
    yield opened
    for page in opened.values():
        page.context.close()


def test_users_log_in_and_the_jupyterlab_launcher_offers_slicer_web_and_slicer_desktop(pages):
    page = pages["alice"]
    page.wait_for_selector(".jp-LauncherCard-label >> text=Slicer Desktop", timeout=120_000)
    labels = page.locator(".jp-LauncherCard-label").all_inner_texts()
    labels = [label.replace("[↗]", "").strip() for label in labels]  # the mark of a launcher opening a new tab
    assert "Slicer Web" in labels and "Slicer Desktop" in labels, labels


def test_each_user_opens_slicer_web_in_their_own_server_and_sees_the_viewer(hub, pages):
    for user, page in pages.items():
        page.goto(f"{hub.base}user/{user}/slicer/", timeout=200_000)
    for page in pages.values():
        wait_for_views(page, 4, timeout_ms=150_000)
        assert max(content_differs_from_background(shot) for shot in view_pixels(page)) > 10


def test_a_volume_loaded_by_one_user_is_not_in_the_other_users_scene(hub, pages):
    alice, bob = pages["alice"].request, pages["bob"].request
    loaded = alice.post(f"{hub.base}user/alice/slicer/api/v1/volumes?name=alice-only", data=nrrd_bytes())
    assert loaded.status == 201, loaded.text()

    def names(request, user):
        response = request.get(f"{hub.base}user/{user}/slicer/api/v1/volumes")
        assert response.status == 200, response.text()
        return {v["name"] for v in response.json()["volumes"]}

    assert "alice-only" in names(alice, "alice")
    assert "alice-only" not in names(bob, "bob")


def test_no_user_reaches_another_users_session_and_anonymous_visitors_must_log_in(hub, pages):
    for me, other in (("alice", "bob"), ("bob", "alice")):
        response = pages[me].request.get(f"{hub.base}user/{other}/slicer/api/v1/volumes", max_redirects=0)
        assert response.status in (302, 403), f"{me} reached {other}'s session: {response.status}"
        if response.status == 302:
            followed = pages[me].request.get(f"{hub.base}user/{other}/slicer/api/v1/volumes")
            assert followed.status == 403 or "/hub/login" in followed.url or "volumes" not in followed.text()
    anonymous = requests.get(f"{hub.base}user/alice/slicer/api/v1/volumes", timeout=30)
    assert "/hub/login" in anonymous.url and "alice-only" not in anonymous.text


def test_the_idle_culler_stops_an_idle_session_after_it_autosaved(hub, pages):
    for page in pages.values():
        page.goto("about:blank")  # nobody uses the sessions any more
    servers = hub.single_user_servers()
    assert len(servers) == 2
    _, alive = psutil.wait_procs(servers, timeout=IDLE_TIMEOUT * 4)
    assert not alive, "the idle culler did not stop the idle servers"
    deadline = time.monotonic() + 60
    autosaves: list[Path] = []
    while time.monotonic() < deadline and not autosaves:
        autosaves = sorted((hub.user_data("alice") / ".slicer-cloud" / "autosave").glob("*.mrb"))
        time.sleep(1)
    assert autosaves, "alice's changed scene was not autosaved when her session stopped"
    with zipfile.ZipFile(autosaves[-1]) as mrb:
        scene = "".join(mrb.read(n).decode(errors="replace") for n in mrb.namelist() if n.endswith(".mrml"))
    assert "alice-only" in scene, "the autosave lacks the volume alice loaded"
    bob_autosaves = list((hub.user_data("bob") / ".slicer-cloud" / "autosave").glob("*.mrb"))
    assert not bob_autosaves, "bob changed nothing: no autosave expected"
