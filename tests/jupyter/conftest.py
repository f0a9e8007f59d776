from __future__ import annotations

from pathlib import Path

import pytest
from jupyter_servers import copy_examples, start_jupyter_lab


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    """One JupyterLab for the module (it starts slowly): token auth, 127.0.0.1, a temporary root with the examples."""
    base: Path = tmp_path_factory.mktemp("lab")
    root = base / "root"
    root.mkdir()
    copy_examples(root)
    proc = start_jupyter_lab(root, base / "lab.log")
    yield proc
    proc.stop()
