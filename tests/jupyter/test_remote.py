"""The widgets driving a live ``slicer-cloud serve`` over its REST API, with its token; a wrong token is refused
with a clear error (in Python and in a notebook cell)."""

from __future__ import annotations

import nbformat
import numpy as np
import pytest
from jupyter_servers import EXAMPLES
from nbclient import NotebookClient

import slicer_cloud.jupyter as sj
from helpers.serve import start_server

pytestmark = [pytest.mark.server, pytest.mark.slow]


@pytest.fixture(scope="module")
def live(tmp_path_factory):
    data = tmp_path_factory.mktemp("remote") / "data"
    data.mkdir()
    proc = start_server(data)  # empty data root: the session shows the bundled sample
    yield proc
    proc.stop()


class RecordingSliceView(sj.SliceView):
    def send(self, content, buffers=None):
        self.sent = getattr(self, "sent", [])
        self.sent.append((content, buffers))


def event(t, **kw):
    return {"t": t, "x": kw.pop("x", 100), "y": kw.pop("y", 100), "shift": False, "ctrl": False, "alt": False, **kw}


def test_a_remote_slice_view_scrolls_and_adjusts_window_level(live):
    remote = sj.connect(live.base, token=live.token)
    view = RecordingSliceView(remote, "axial", width=256, height=256)
    first = view.pixels()
    assert first.shape == (256, 256, 3) and first[96:160, 96:160].mean() > 40  # the brain
    _, before = live.request("GET", "/api/v1/views/red/slice")
    view._on_message(view, {"type": "events", "seq": 1, "events": [event("wheel", dy=-300)]}, [])
    content, buffers = view.sent[-1]
    assert content["type"] == "frame" and content["mime"] == "image/jpeg" and bytes(buffers[0])[:2] == b"\xff\xd8"
    _, moved = live.request("GET", "/api/v1/views/red/slice")
    assert moved["offset"] == pytest.approx(before["offset"] + 3 * view.backend.spacing, abs=0.01)
    assert np.abs(view.pixels().astype(float) - first).mean() > 0.5
    view.window = 20.0
    volume = remote.main_volume()["id"]
    _, display = live.request("GET", f"/api/v1/volumes/{volume}/display")
    assert display["window"] == pytest.approx(20.0)


def test_a_wrong_token_is_refused_with_a_clear_error(live):
    with pytest.raises(PermissionError, match="refused the token"):
        sj.connect(live.base, token="not-the-token")


def test_an_unreachable_session_is_a_clear_error():
    with pytest.raises(ConnectionError, match="could not reach"):
        sj.connect("http://127.0.0.1:9", token="x", timeout=5)


def test_the_remote_notebook_runs_against_the_session(live, tmp_path, monkeypatch):
    monkeypatch.setenv("SLICER_CLOUD_URL", live.base)
    monkeypatch.setenv("SLICER_CLOUD_TOKEN", live.token)
    notebook = nbformat.read(EXAMPLES / "remote_session.ipynb", as_version=4)
    NotebookClient(
        notebook, timeout=180, kernel_name="python3", resources={"metadata": {"path": str(tmp_path)}}
    ).execute()
    outputs = [o for cell in notebook.cells for o in cell.get("outputs", [])]
    assert not [o for o in outputs if o.output_type == "error"]
    printed = "".join(o.get("text", "") for o in outputs if o.output_type == "stream" and o.name == "stdout")
    assert "refused the token" in printed
    assert any("image/png" in o.get("data", {}) for o in outputs)


def test_a_left_drag_in_a_remote_3d_view_rotates_the_sessions_camera(live):
    remote = sj.connect(live.base, token=live.token)
    view = sj.View3D(remote, width=256, height=256)
    view.pixels()  # the first render creates the session's 3D view
    before = np.asarray(live.request("GET", "/api/v1/views/3d/camera")[1]["position"])
    view.backend.handle([event("down", b=0), event("move", x=160), event("up", b=0, x=160)])
    after = np.asarray(live.request("GET", "/api/v1/views/3d/camera")[1]["position"])
    assert np.linalg.norm(after - before) > 10
