"""``sj.Viewer(scene)``: the kernel serves the full web viewer and REST API on its own scene, behind a token."""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request

import pytest
from nbclient import NotebookClient
from nbformat.v4 import new_code_cell, new_notebook

pytestmark = [pytest.mark.slow]

CELLS = [
    "import slicer_cloud.jupyter as sj\nscene = sj.Scene()\nvol = scene.load(sj.sample_data())\n"
    "seg = scene.segment(vol, 'threshold', lower=100, name='from the notebook', progress=False)",
    "viewer = sj.Viewer(scene)\nprint(viewer.port, viewer.token)\nviewer",
]


def get(url: str, token: str | None = None) -> tuple[int, bytes]:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    try:
        with urllib.request.urlopen(urllib.request.Request(url, headers=headers), timeout=20) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as err:
        return err.code, err.read()


def test_the_viewer_serves_the_kernels_scene_behind_a_token(tmp_path):
    notebook = new_notebook(cells=[new_code_cell(c) for c in CELLS])
    client = NotebookClient(
        notebook, timeout=300, kernel_name="python3", resources={"metadata": {"path": str(tmp_path)}}
    )
    with client.setup_kernel():
        for index, cell in enumerate(notebook.cells):
            client.execute_cell(cell, index)
        printed = "".join(o.get("text", "") for o in notebook.cells[1].outputs if o.get("name") == "stdout")
        port, token = printed.split()[:2]
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 120  # the server starts once the cell has finished
        status = 0
        while time.monotonic() < deadline and status != 200:
            try:
                status, _ = get(f"{base}/healthz")
            except (urllib.error.URLError, ConnectionError, OSError):
                time.sleep(0.5)
        assert status == 200
        assert get(f"{base}/api/v1/segmentations")[0] == 401
        status, body = get(f"{base}/api/v1/segmentations", token)
        assert status == 200
        names = [s["name"] for s in json.loads(body)["segmentations"]]
        assert "from the notebook" in names  # one scene: what a cell made is what the viewer serves
        status, page = get(f"{base}/", token)  # (a browser uses ?token= once, then a cookie)
        assert status == 200 and b"<html" in page.lower()
    widget = [o for o in notebook.cells[1].outputs if "application/vnd.jupyter.widget-view+json" in o.get("data", {})]
    assert widget
