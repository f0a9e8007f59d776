"""The Python examples of README.md and docs/api.md run as written against a live session."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

pytestmark = pytest.mark.server

ROOT = Path(__file__).parents[1]
CLIENT_CALL = re.compile(r'Client\("http://127\.0\.0\.1:8080"[^)]*\)')


def python_blocks(doc: Path) -> list[str]:
    return [b for b in re.findall(r"```python\n(.*?)```", doc.read_text(), re.DOTALL) if "Client(" in b]


@pytest.mark.parametrize("doc", ["README.md", "docs/api.md"])
def test_the_client_examples_run(server, doc, tmp_path, monkeypatch):
    blocks = python_blocks(ROOT / doc)
    assert blocks, f"{doc} has no client example"
    monkeypatch.chdir(tmp_path)
    from slicer_cloud.core.sample import sample_path

    (tmp_path / "brain.nii.gz").write_bytes(sample_path().read_bytes())  # the local file the examples upload
    for block in blocks:
        code = CLIENT_CALL.sub(f'Client("{server.base}", token="{server.token}")', block)
        assert code != block, "the example no longer uses the documented Client(...) call"
        exec(compile(code, doc, "exec"), {"__name__": "__doc_example__"})
