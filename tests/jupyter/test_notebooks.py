"""The example notebooks run top to bottom in a real kernel (nbclient), and their static pictures survive
``nbconvert --to html``."""

from __future__ import annotations

import base64
import io
import re
import subprocess
import sys
from pathlib import Path

import nbformat
import numpy as np
import pytest
from jupyter_servers import EXAMPLES
from nbclient import NotebookClient
from PIL import Image

pytestmark = [pytest.mark.slow]


def execute(name: str, workdir: Path, timeout: int = 300) -> nbformat.NotebookNode:
    notebook = nbformat.read(EXAMPLES / name, as_version=4)
    NotebookClient(
        notebook, timeout=timeout, kernel_name="python3", resources={"metadata": {"path": str(workdir)}}
    ).execute()
    return notebook


def outputs(notebook, kind: str | None = None) -> list:
    return [o for cell in notebook.cells for o in cell.get("outputs", []) if kind is None or o.output_type == kind]


def errors(notebook) -> list[str]:
    return [f"{o.ename}: {o.evalue}" for o in outputs(notebook, "error")]


@pytest.fixture(scope="module")
def quickstart(tmp_path_factory):
    return execute("quickstart.ipynb", tmp_path_factory.mktemp("quickstart"))


def widget_views(notebook) -> int:
    return sum("application/vnd.jupyter.widget-view+json" in o.get("data", {}) for o in outputs(notebook))


def test_the_quickstart_notebook_runs_top_to_bottom(quickstart):
    assert not errors(quickstart)
    assert widget_views(quickstart) >= 5  # slice view, controls, layout, 3D view, lightbox
    assert any("image/png" in o.get("data", {}) for o in outputs(quickstart))


def test_the_segmentation_notebook_measures_the_phantom(tmp_path):
    notebook = execute("segmentation.ipynb", tmp_path)
    assert not errors(notebook)
    segment_cell = next(c for c in notebook.cells if "scene.segment(vol" in c.source)
    assert any("application/vnd.jupyter.widget-view+json" in o.get("data", {}) for o in segment_cell.outputs), (
        "no progress bar in the cell that runs the module"
    )
    printed = "".join(o.get("text", "") for o in outputs(notebook, "stream") if o.name == "stdout")
    measured, sphere = map(float, re.search(r"measured ([\d.]+) mL, sphere ([\d.]+) mL", printed).groups())
    assert abs(measured - sphere) / sphere < 0.05
    tables = [o["data"]["text/html"] for o in outputs(notebook) if "text/html" in o.get("data", {})]
    assert any("volume_ml" in t for t in tables) and any("landmarks" in t for t in tables)


def test_static_pictures_survive_the_html_export(quickstart, tmp_path):
    nbformat.write(quickstart, tmp_path / "quickstart.ipynb")
    done = subprocess.run(
        [sys.executable, "-m", "jupyter", "nbconvert", "--to", "html", str(tmp_path / "quickstart.ipynb")],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    html = (tmp_path / "quickstart.html").read_text()
    embedded = re.findall(r'<img[^>]*\ssrc="data:image/png;base64,([A-Za-z0-9+/=\s]+)"', html)
    assert embedded, "no PNG embedded in the HTML export"
    pictures = [np.asarray(Image.open(io.BytesIO(base64.b64decode(data))).convert("RGB")) for data in embedded]
    layout = max(pictures, key=lambda p: p.size)
    assert layout.shape[0] >= 600 and layout.shape[1] >= 600  # the 2 x 2 layout of 300 px cells
    assert layout.std() > 20  # a picture, not a blank


def test_the_example_notebooks_are_stored_without_outputs():
    for path in sorted(EXAMPLES.glob("*.ipynb")):
        notebook = nbformat.read(path, as_version=4)
        for cell in notebook.cells:
            if cell.cell_type == "code":
                assert cell.outputs == [] and cell.execution_count is None, f"{path.name} has outputs"
