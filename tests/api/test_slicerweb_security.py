"""Security of /slicer/...: credentials on every endpoint, the read-only share token cannot change anything,
/slicer/exec is off by default and audited when on, and DELETE /slicer/system stops the session cleanly."""

from __future__ import annotations

import hashlib
import json

import pytest

from helpers.serve import start_server

pytestmark = pytest.mark.server

ENDPOINTS = [
    ("GET", "/slicer/system/version"),
    ("DELETE", "/slicer/system"),
    ("GET", "/slicer/mrml"),
    ("GET", "/slicer/mrml/names"),
    ("GET", "/slicer/mrml/ids"),
    ("GET", "/slicer/mrml/properties"),
    ("GET", "/slicer/mrml/file?localfile=x.nrrd&class=vtkMRMLScalarVolumeNode"),
    ("POST", "/slicer/mrml?localfile=x.nrrd"),
    ("PUT", "/slicer/mrml"),
    ("DELETE", "/slicer/mrml"),
    ("GET", "/slicer/volumes"),
    ("GET", "/slicer/volume"),
    ("POST", "/slicer/volume"),
    ("PUT", "/slicer/volume"),
    ("GET", "/slicer/volumeSelection"),
    ("GET", "/slicer/gridTransforms"),
    ("GET", "/slicer/gridTransform"),
    ("GET", "/slicer/fiducials"),
    ("PUT", "/slicer/fiducial"),
    ("GET", "/slicer/segmentations"),
    ("GET", "/slicer/segmentation"),
    ("GET", "/slicer/tracking?p=1,2,3"),
    ("PUT", "/slicer/gui?viewersLayout=FourUp"),
    ("GET", "/slicer/exec?source=x=1"),
    ("POST", "/slicer/exec"),
    ("GET", "/slicer/slice"),
    ("GET", "/slicer/threeD"),
    ("GET", "/slicer/screenshot"),
    ("GET", "/slicer/threeDGraphics"),
    ("GET", "/slicer/timeimage"),
    ("GET", "/slicer/sampledata"),
]
MUTATIONS = [(m, p) for m, p in ENDPOINTS if m != "GET"] + [
    ("GET", "/slicer/mrml/file?localfile=x.nrrd&class=vtkMRMLScalarVolumeNode"),
    ("GET", "/slicer/tracking?p=1,2,3"),
    ("GET", "/slicer/volumeSelection"),
]
READS = [
    (m, p) for m, p in ENDPOINTS if m == "GET" and (m, p) not in MUTATIONS and "exec" not in p and "sample" not in p
]


@pytest.mark.parametrize("method,path", ENDPOINTS)
def test_every_endpoint_refuses_without_credentials(server, method, path):
    assert server.request(method, path, token=None)[0] == 401
    assert server.request(method, path, token="wrong-token-0123456789")[0] == 401


@pytest.mark.parametrize("method,path", MUTATIONS)
def test_the_share_token_cannot_change_the_session(server, method, path):
    status, body = server.request(method, path, token=server.view_token, body=b"NRRD0004\n")
    assert status == 403, body
    assert server.alive()


@pytest.mark.parametrize("method,path", READS)
def test_the_share_token_can_read(server, method, path):
    status, _ = server.request(method, path, token=server.view_token)
    assert status in (200, 404)


def test_exec_is_refused_by_default_with_how_to_enable_it(server):
    status, body = server.request("POST", "/slicer/exec", body=b"__execResult['x'] = 1")
    assert status == 403 and "--enable-exec" in body["message"]
    assert not (server.data / ".slicer-cloud" / "exec-audit.log").exists()


@pytest.fixture(scope="module")
def exec_server(tmp_path_factory):
    data = tmp_path_factory.mktemp("exec") / "data"
    data.mkdir()
    proc = start_server(data, "--enable-exec")
    yield proc
    proc.stop()


def test_exec_runs_in_the_session_and_is_audited_when_enabled(exec_server):
    code = b"__execResult['volumes'] = scene.GetNumberOfNodesByClass('vtkMRMLScalarVolumeNode')"
    status, body = exec_server.request("POST", "/slicer/exec", body=code)
    assert status == 200 and body == {"volumes": 1}
    status, body = exec_server.request("GET", "/slicer/exec?source=__execResult%5B'a'%5D%3D2")
    assert status == 200 and body == {"a": 2}
    status, body = exec_server.request("POST", "/slicer/exec", body=b"raise ValueError('boom')")
    assert status == 400 and "ValueError" in body["message"]
    assert exec_server.request("POST", "/slicer/exec", body=code, token=exec_server.view_token)[0] == 403
    lines = (exec_server.data / ".slicer-cloud" / "exec-audit.log").read_text().splitlines()
    records = [json.loads(line) for line in lines]
    assert len(records) == 3
    assert records[0]["sha256"] == hashlib.sha256(code).hexdigest()
    assert records[0]["role"] == "edit" and records[0]["client"] and "T" in records[0]["time"]
    assert exec_server.alive()


def test_delete_system_replies_then_stops_the_session(tmp_path):
    data = tmp_path / "data"
    data.mkdir()
    proc = start_server(data)
    try:
        assert proc.request("DELETE", "/slicer/system") == (200, {"success": True})
        assert proc.process.wait(60) == 0
    finally:
        proc.stop()
