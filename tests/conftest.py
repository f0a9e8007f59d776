from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))

from helpers.serve import ServerProcess, start_server  # noqa: E402


@pytest.fixture(scope="module")
def session_dirs(tmp_path_factory) -> tuple[Path, Path]:
    """(outside, data): a data root and a sibling folder that must never be written to."""
    base = tmp_path_factory.mktemp("session")
    outside = base / "outside"
    outside.mkdir()
    data = base / "data"
    data.mkdir()
    return outside, data


@pytest.fixture(scope="module")
def server(session_dirs) -> ServerProcess:
    """A running session on an empty data root (so it shows the bundled sample)."""
    _, data = session_dirs
    proc = start_server(data)
    yield proc
    proc.stop()


def pytest_collection_modifyitems(config, items):
    # Server/browser tests are marked so they can be selected; they always run in the full suite.
    for item in items:
        if "server" in item.fixturenames and "server" not in item.keywords:
            item.add_marker(pytest.mark.server)
