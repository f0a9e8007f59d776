"""Slicer WebServer compatibility on a live session: slicerio.server unmodified (credentials from .netrc), the
/slicer/mrml family, and hostile paths refused with nothing read or written outside the data root."""

from __future__ import annotations

from urllib.parse import quote

import pytest
import slicerio.server

from helpers import datagen

pytestmark = pytest.mark.server


@pytest.fixture
def slicerio_client(server, tmp_path, monkeypatch):
    """slicerio.server pointed at the session; requests finds the token in a private .netrc."""
    netrc = tmp_path / ".netrc"
    netrc.write_text(f"machine 127.0.0.1\nlogin slicer\npassword {server.token}\n")
    netrc.chmod(0o600)
    monkeypatch.setenv("NETRC", str(netrc))
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.setattr(slicerio.server, "SERVER_PORT", server.port)
    return slicerio.server


def upload(server, rel, content):
    status, _ = server.request("PUT", f"/api/v1/files/upload?path={quote(rel)}&overwrite=1", body=content)
    assert status == 201


def tree(folder):
    return sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*"))


def test_slicerio_sees_a_running_server(slicerio_client):
    assert slicerio_client.is_server_running()


def test_slicerio_lists_names_ids_and_properties(slicerio_client):
    ids = slicerio_client.node_ids(class_name="vtkMRMLScalarVolumeNode")
    assert ids and all(i.startswith("vtkMRMLScalarVolumeNode") for i in ids)
    names = slicerio_client.node_names(id=ids[0])
    assert len(names) == 1
    assert slicerio_client.node_ids(name=names[0]) == [ids[0]]
    properties = slicerio_client.node_properties(id=ids[0])
    assert properties[0]["ID"] == ids[0] and properties[0]["Name"] == names[0]


def test_slicerio_loads_saves_and_removes_a_file_in_the_data_root(slicerio_client, server, tmp_path):
    upload(server, "io/ball.nrrd", datagen.write_nrrd(tmp_path / "ball.nrrd").read_bytes())
    loaded = slicerio_client.file_load("io/ball.nrrd", properties={"name": "ball"})
    assert len(loaded) == 1 and slicerio_client.node_names(id=loaded[0]) == ["ball"]
    absolute = server.data / "io" / "ball.nrrd"
    assert slicerio_client.file_load(str(absolute))
    slicerio_client.file_save("io/saved.nii.gz", id=loaded[0])
    assert (server.data / "io" / "saved.nii.gz").stat().st_size > 100
    slicerio_client.node_reload(id=loaded[0])
    slicerio_client.node_remove(id=loaded[0])
    assert slicerio_client.node_ids(id=loaded[0]) == []


def test_properties_of_nothing_is_a_clear_error(slicerio_client):
    with pytest.raises(RuntimeError, match="no nodes matched"):
        slicerio_client.node_properties(name="no such node")


def test_version_answers_like_slicer(server):
    status, body = server.request("GET", "/slicer/system/version")
    assert status == 200 and body["applicationName"] == "slicer-cloud" and "applicationVersion" in body
    assert "majorVersion" in body and "mainApplicationName" in body


def test_filters_with_odd_characters_answer_without_errors(server):
    for value in ["*", "' OR 1=1 --", "../../etc/passwd", "名前", "%00", "a\tb", "<script>", "x" * 1000]:
        for key in ("name", "class", "id"):
            status, body = server.request("GET", f"/slicer/mrml/ids?{key}={quote(value)}")
            assert status == 200 and body == [], (key, value)
    status, _ = server.request("GET", "/slicer/mrml/ids?name=" + quote("a\x00b"))
    assert status == 400
    status, _ = server.request("GET", "/slicer/mrml/ids?name=" + "y" * 5000)
    assert status == 400
    assert server.alive()


@pytest.mark.parametrize(
    "localfile", ["../../etc/passwd", "/etc/passwd", "..%2F..%2Fetc%2Fpasswd", "/proc/self/environ", "a/../../x.nrrd"]
)
def test_localfile_outside_the_data_root_is_refused(server, session_dirs, localfile):
    outside, data = session_dirs
    before = tree(outside)
    q = localfile if "%" in localfile else quote(localfile, safe="")
    status, body = server.request("POST", f"/slicer/mrml?localfile={q}&filetype=VolumeFile")
    assert 400 <= status < 500 and "/etc" not in body["message"]
    status, body = server.request("GET", f"/slicer/mrml/file?localfile={q}&class=vtkMRMLScalarVolumeNode")
    assert 400 <= status < 500
    assert tree(outside) == before and server.alive()


def test_saving_outside_the_data_root_writes_nothing(server, session_dirs):
    outside, _ = session_dirs
    status, ids = server.request("GET", "/slicer/mrml/ids?class=vtkMRMLScalarVolumeNode")
    for dest in [str(outside / "x.nrrd"), "../outside/x.nrrd", ".slicer-cloud/x.nrrd"]:
        status, _ = server.request("GET", f"/slicer/mrml/file?localfile={quote(dest, safe='')}&id={ids[0]}")
        assert 400 <= status < 500, dest
    assert not list(outside.iterdir())


def test_urls_are_refused_unless_their_host_is_allowed(server):
    status, body = server.request("POST", "/slicer/mrml?url=" + quote("http://example.com/a.nrrd", safe=""))
    assert status == 403 and "--allowed-url-hosts" in body["message"]
    status, _ = server.request("POST", "/slicer/mrml?url=" + quote("file:///etc/passwd", safe=""))
    assert 400 <= status < 500
    status, _ = server.request("POST", "/slicer/mrml?url=" + quote("ftp://example.com/a.nrrd", safe=""))
    assert 400 <= status < 500


def test_a_segmentation_exports_as_labelmap_and_closed_surface(server, tmp_path):
    upload(server, "seg/labels.seg.nrrd", datagen.write_labelmap_seg(tmp_path / "l.seg.nrrd").read_bytes())
    status, loaded = server.request("POST", "/slicer/mrml?localfile=seg/labels.seg.nrrd&filetype=SegmentationFile")
    assert status == 200, loaded
    seg_id = next(i for i in loaded["loadedNodeIDs"] if i.startswith("vtkMRMLSegmentationNode"))
    status, segs = server.request("GET", "/slicer/segmentations")
    segment = segs[seg_id]["segmentIDs"][0]
    status, body = server.request("GET", f"/slicer/segmentation?segmentationID={seg_id}&format=nrrd")
    assert status == 200 and body.startswith(b"NRRD000")
    status, body = server.request("GET", f"/slicer/segmentation?segmentationID={seg_id}&segmentID={segment}")
    assert status == 200 and body["asset"]["version"] == "2.0"
    status, body = server.request("GET", f"/slicer/segmentation?segmentationID={seg_id}&format=stl")
    assert status == 200 and len(body) > 84
    status, _ = server.request("GET", f"/slicer/segmentation?segmentationID={seg_id}&segmentID=nope")
    assert status == 404


def test_markups_transforms_and_tracking_answer_in_the_original_formats(server):
    assert server.request("GET", "/slicer/fiducials") == (200, {})
    status, _ = server.request("PUT", "/slicer/fiducial?index=0&r=1&a=2&s=3")
    assert status == 404
    assert server.request("GET", "/slicer/gridTransforms") == (200, [])
    assert server.request("GET", "/slicer/gridTransform")[0] == 404
    status, body = server.request("GET", "/slicer/tracking?p=1,2,3&q=1,0,0,0")
    assert status == 200 and body == b"Set matrix"
    status, _ = server.request("GET", "/slicer/tracking?p=1,2")
    assert status == 400
    status, names = server.request("GET", "/slicer/mrml/names?class=vtkMRMLLinearTransformNode")
    assert "tracker" in names


def test_the_layout_can_be_chosen_by_its_slicer_name(server):
    assert server.request("PUT", "/slicer/gui?viewersLayout=OneUp3D&contents=viewers") == (200, {"success": True})
    status, body = server.request("PUT", "/slicer/gui?viewersLayout=NoSuchLayout")
    assert status == 400 and "FourUp" in body["message"]
    assert server.request("PUT", "/slicer/gui?viewersLayout=fourup")[0] == 200


def test_refused_endpoints_say_why(server):
    status, body = server.request("GET", "/slicer/sampledata?name=MRHead")
    assert status == 501 and "localfile" in body["message"]


def test_delete_with_a_filter_removes_only_those_nodes_and_without_clears_the_data(server, tmp_path):
    upload(server, "del/ball.nrrd", datagen.write_nrrd(tmp_path / "b.nrrd").read_bytes())
    _, loaded = server.request("POST", "/slicer/mrml?localfile=del/ball.nrrd")
    volume = loaded["loadedNodeIDs"][0]
    assert server.request("DELETE", f"/slicer/mrml?id={volume}") == (200, {"success": True})
    assert server.request("GET", f"/slicer/mrml/ids?id={volume}") == (200, [])
    assert server.request("DELETE", "/slicer/mrml?class=vtkMRMLSliceNode")[0] == 200
    assert server.request("GET", "/slicer/mrml/ids?class=vtkMRMLSliceNode")[1]  # views survive
    assert server.request("DELETE", "/slicer/mrml") == (200, {"success": True})
    assert server.request("GET", "/slicer/volumes") == (200, [])
    assert server.alive()
