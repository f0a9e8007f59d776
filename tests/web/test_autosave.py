"""Autosave: an edit survives ``kill -9`` through the last autosave and ``serve --restore``; SIGTERM saves too."""

from __future__ import annotations

import signal
import time
from urllib.parse import quote

import pytest

from helpers import datagen
from helpers.serve import start_server

pytestmark = pytest.mark.server


def autosaves(data):
    return sorted((data / ".slicer-cloud" / "autosave").glob("autosave-*.mrb"))


def wait_for(predicate, timeout=60.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.3)
    return False


def names(server):
    _, body = server.request("GET", "/api/v1/scene/nodes")
    return sorted(n["name"] for n in body["nodes"])


def test_an_edit_is_back_after_kill_9_and_restore(tmp_path):
    data = tmp_path / "data"
    data.mkdir()
    first = start_server(data, "--autosave-interval", "1")
    try:
        time.sleep(5)  # start-up settles (3 s), then one autosave interval passes
        assert autosaves(data) == [], "an unchanged scene must not be autosaved"
        src = datagen.write_nrrd(tmp_path / "edit.nrrd")
        first.request("PUT", f"/api/v1/files/upload?path={quote('edit.nrrd')}", body=src.read_bytes())
        status, _ = first.json("POST", "/api/v1/scene/open", {"path": "edit.nrrd"})
        assert status == 200
        edited = names(first)
        assert "edit.nrrd" in " ".join(edited)
        assert wait_for(lambda: autosaves(data)), "no autosave after the edit"
        time.sleep(1.5)  # let a save in progress finish
    finally:
        first.stop(signal.SIGKILL)
    second = start_server(data, "--restore")
    try:
        restored = names(second)
        assert any(n.startswith("edit") for n in restored), restored
        assert any("mni_icbm152" in n for n in restored), restored
    finally:
        second.stop()


def test_sigterm_saves_a_changed_scene_and_exits_cleanly(tmp_path):
    data = tmp_path / "data"
    data.mkdir()
    server = start_server(data, "--autosave-interval", "0")
    src = datagen.write_nifti(tmp_path / "late.nii.gz")
    server.request("PUT", "/api/v1/files/upload?path=late.nii.gz", body=src.read_bytes())
    assert server.json("POST", "/api/v1/scene/open", {"path": "late.nii.gz"})[0] == 200
    assert autosaves(data) == []
    assert server.stop(signal.SIGTERM) == 0
    assert len(autosaves(data)) == 1
