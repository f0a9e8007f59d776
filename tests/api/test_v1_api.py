"""/api/v1 over HTTP: nodes, volumes (NRRD, NIfTI, DICOM zip in; NRRD and NIfTI out), segmentations, markups,
views and scene - and hostile input answered with a clear 4xx while the session stays alive."""

from __future__ import annotations

import gzip
import io
import json
import zipfile

import nibabel as nib
import numpy as np
import pytest
from nrrd_bytes import make_nrrd, raw_header, read_nrrd
from PIL import Image

from helpers import datagen

pytestmark = pytest.mark.server


def put_json(server, path, payload, **kwargs):
    return server.json("PUT", path, payload, **kwargs)


def upload_volume(server, body: bytes, query: str = ""):
    return server.request("POST", f"/api/v1/volumes{query}", body=body)


def test_nodes_list_filter_get_properties_and_delete(server):
    status, body = upload_volume(server, make_nrrd(np.zeros((2, 3, 4), np.int16)), "?name=findme&show=false")
    assert status == 201
    node_id = body["id"]
    status, listed = server.request("GET", "/api/v1/nodes?name=findme")
    assert status == 200 and [n["id"] for n in listed["nodes"]] == [node_id]
    status, listed = server.request("GET", "/api/v1/nodes?class=vtkMRMLScalarVolumeNode")
    assert node_id in [n["id"] for n in listed["nodes"]]
    assert server.request("GET", f"/api/v1/nodes/{node_id}")[1]["class"] == "vtkMRMLScalarVolumeNode"
    status, props = server.request("GET", f"/api/v1/nodes/{node_id}/properties")
    assert status == 200 and props["properties"]["Name"] == "findme"
    assert server.request("DELETE", f"/api/v1/nodes/{node_id}")[1] == {"removed": [node_id]}
    assert server.request("GET", f"/api/v1/nodes/{node_id}")[0] == 404


def test_view_and_camera_nodes_cannot_be_deleted(server):
    status, listed = server.request("GET", "/api/v1/nodes?class=vtkMRMLSliceNode")
    slice_id = listed["nodes"][0]["id"]
    status, body = server.request("DELETE", f"/api/v1/nodes/{slice_id}")
    assert status == 400 and "not a data node" in body["message"]


def test_nifti_and_dicom_zip_uploads_become_volumes(server, tmp_path):
    nifti = datagen.write_nifti(tmp_path / "b.nii.gz").read_bytes()
    status, body = upload_volume(server, nifti, "?name=fromnifti&show=false")
    assert status == 201 and server.request("GET", f"/api/v1/nodes/{body['id']}")[1]["name"] == "fromnifti"
    raw_nifti = gzip.decompress(nifti)
    assert upload_volume(server, raw_nifti, "?show=false")[0] == 201
    files = datagen.write_ct_dicom_series(tmp_path / "ct")
    archive = io.BytesIO()
    with zipfile.ZipFile(archive, "w") as zf:
        for f in files:
            zf.write(f, f"ct/{f.name}")
    status, body = upload_volume(server, archive.getvalue(), "?format=dicom-zip&show=false")
    assert status == 201 and body["nodes"]


def test_volumes_download_as_nrrd_raw_gzip_and_nifti(server):
    voxels = np.arange(60, dtype=np.int16).reshape(3, 4, 5)
    node_id = upload_volume(server, make_nrrd(voxels), "?show=false")[1]["id"]
    for encoding in ("raw", "gzip"):
        status, data = server.request("GET", f"/api/v1/volumes/{node_id}?encoding={encoding}")
        assert status == 200 and np.array_equal(read_nrrd(data)[0], voxels)
    status, data = server.request("GET", f"/api/v1/volumes/{node_id}?format=nii.gz")
    image = nib.Nifti1Image.from_bytes(gzip.decompress(data))
    assert np.array_equal(np.asarray(image.dataobj).transpose(2, 1, 0), voxels)
    listed = server.request("GET", "/api/v1/volumes")[1]["volumes"]
    assert any(v["id"] == node_id and v["dimensions"] == [5, 4, 3] for v in listed)


def test_window_level_of_a_volume(server):
    node_id = upload_volume(server, make_nrrd(np.zeros((2, 2, 2), np.int16)), "?show=false")[1]["id"]
    status, body = put_json(server, f"/api/v1/volumes/{node_id}/display", {"window": 80, "level": 40})
    assert status == 200 and body == {"window": 80.0, "level": 40.0, "auto": False}
    assert put_json(server, f"/api/v1/volumes/{node_id}/display", {"auto": True})[1]["auto"] is True
    assert put_json(server, f"/api/v1/volumes/{node_id}/display", {"window": -1})[0] == 400


def test_segmentations_list_and_export_as_labelmap_and_stl(server, tmp_path):
    seg = datagen.write_labelmap_seg(tmp_path / "l.seg.nrrd").read_bytes()
    server.request("PUT", "/api/v1/files/upload?path=v1/l.seg.nrrd&overwrite=1", body=seg)
    server.json("POST", "/api/v1/scene/open", {"path": "v1/l.seg.nrrd"})
    segmentations = server.request("GET", "/api/v1/segmentations")[1]["segmentations"]
    seg_id = segmentations[-1]["id"]
    status, body = server.request("GET", f"/api/v1/segmentations/{seg_id}/segments")
    assert status == 200 and len(body["segments"]) == 2
    status, data = server.request("GET", f"/api/v1/segmentations/{seg_id}/export?format=labelmap")
    labels, _ = read_nrrd(data)
    assert status == 200 and set(np.unique(labels)) == {0, 1, 2}
    status, data = server.request("GET", f"/api/v1/segmentations/{seg_id}/export?format=stl")
    assert status == 200 and len(data) > 84
    # DICOM SEG references its source series: a segmentation of an NRRD volume has none, and the answer says so.
    status, body = server.request("GET", f"/api/v1/segmentations/{seg_id}/export?format=dicom-seg")
    assert status == 400 and "loaded from DICOM" in body["message"]


def test_markups_create_and_add_points(server):
    status, created = server.json("POST", "/api/v1/markups", {"name": "P", "points": [[1, 2, 3]]})
    assert status == 201 and created["points"][0]["position"] == [1.0, 2.0, 3.0]
    status, body = server.json("POST", f"/api/v1/markups/{created['id']}/points", {"position": [4, 5, 6], "label": "x"})
    assert status == 201 and body["points"][1] == {"label": "x", "position": [4.0, 5.0, 6.0]}
    assert any(m["id"] == created["id"] for m in server.request("GET", "/api/v1/markups")[1]["markups"])
    for bad in ({"position": [1, 2]}, {"position": [1, 2, "x"]}, {"position": [1e300, 0, 0]}):
        assert server.json("POST", f"/api/v1/markups/{created['id']}/points", bad)[0] == 400


@pytest.mark.parametrize("fmt,magic", [("png", b"\x89PNG"), ("jpeg", b"\xff\xd8"), ("webp", b"RIFF")])
def test_views_render_at_the_requested_size_and_format(server, fmt, magic):
    for view in ("red", "3d"):
        status, data = server.request("GET", f"/api/v1/views/{view}/image?width=200&height=100&format={fmt}")
        assert status == 200 and data.startswith(magic)
        assert Image.open(io.BytesIO(data)).size == (200, 100)


def test_layout_camera_and_slice_offset(server):
    assert put_json(server, "/api/v1/views/layout", {"layout": "oneup3d"})[1] == {"layout": "OneUp3D"}
    assert server.request("GET", "/api/v1/views/layout")[1] == {"layout": "OneUp3D"}
    assert put_json(server, "/api/v1/views/layout", {"layout": "nonsense"})[0] == 400
    put_json(server, "/api/v1/views/layout", {"layout": "FourUp"})
    server.request("GET", "/api/v1/views/3d/image?size=32")
    status, camera = put_json(server, "/api/v1/views/3d/camera", {"viewAngle": 25, "position": [0, -500, 0]})
    assert status == 200 and camera["viewAngle"] == 25 and camera["position"] == [0, -500, 0]
    assert put_json(server, "/api/v1/views/3d/camera", {"position": camera["focalPoint"]})[0] == 400
    server.request("GET", "/api/v1/views/red/image?size=32")
    status, body = put_json(server, "/api/v1/views/red/slice", {"offset": 4.5})
    assert status == 200 and body["offset"] == pytest.approx(4.5)
    assert put_json(server, "/api/v1/views/red/slice", {"orientation": "diagonal"})[0] == 400


def test_scene_save_load_and_clear(server):
    assert server.json("POST", "/api/v1/scene/save", {"path": "v1/scene.mrb", "overwrite": True})[0] == 201
    status, body = server.request("DELETE", "/api/v1/scene")
    assert status == 200 and body["removed"]
    assert server.request("GET", "/api/v1/scene/nodes")[1]["nodes"] == []
    status, body = server.json("POST", "/api/v1/scene/open", {"path": "v1/scene.mrb"})
    assert status == 200 and body["kind"] == "scene"


@pytest.mark.parametrize(
    "body,status",
    [
        (raw_header("100000 100000 100000") + b"\0" * 64, 413),  # header bomb
        (raw_header("4 4 4") + b"\0" * 10, 422),  # too few bytes
        (raw_header("2 2 2") + b"\0" * 100, 422),  # too many bytes
        (raw_header("4 4 4", encoding="gzip") + b"\x1f\x8bgarbage", 422),  # corrupt gzip
        (b"NRRD0004\ntype: short\n" + b"x" * 70000, 422),  # header without an end
        (raw_header("2 2 2", extra="data file: /etc/passwd\n"), 415),  # detached data
        (b"GIF89a not a volume at all" * 20, 415),
        (b"", 415),
    ],
)
def test_hostile_volume_uploads_are_refused_and_the_session_survives(server, body, status):
    got, answer = upload_volume(server, body)
    assert got == status, answer
    assert set(answer) == {"error", "message"}
    assert server.alive()


def test_degenerate_geometry_and_truncated_archives_are_refused(server):
    header = raw_header("2 2 2").replace(b"(1,0,0) (0,1,0) (0,0,1)", b"(1,0,0) (1,0,0) (0,0,1)")
    assert upload_volume(server, header + b"\0" * 16)[0] == 422
    header = raw_header("2 2 2").replace(b"space origin: (0,0,0)", b"space origin: (1e300,0,0)")
    assert upload_volume(server, header + b"\0" * 16)[0] == 422
    assert upload_volume(server, b"PK\x03\x04" + b"\0" * 400)[0] in (400, 422)
    assert upload_volume(server, b"\x1f\x8b" + b"\0" * 400)[0] in (400, 415, 422)
    assert server.alive()


@pytest.mark.parametrize("bad", ["../../etc/passwd", "/etc/passwd", "a/../../x", "..", "x\\..\\y", "\x01"])
def test_paths_outside_the_data_root_are_refused(server, bad, session_dirs):
    outside, _ = session_dirs
    from urllib.parse import quote

    assert server.request("GET", f"/api/v1/files?path={quote(bad)}")[0] in (400, 404)
    assert server.request("GET", f"/api/v1/files/download?path={quote(bad)}")[0] in (400, 404)
    assert server.request("PUT", f"/api/v1/files/upload?path={quote(bad)}", body=b"x")[0] == 400
    assert server.json("POST", "/api/v1/scene/open", {"path": bad})[0] in (400, 404)
    assert server.json("POST", "/api/v1/scene/save", {"path": bad + ".mrb"})[0] == 400
    assert list(outside.iterdir()) == []


@pytest.mark.parametrize(
    "method,path,body",
    [
        ("GET", "/api/v1/nodes?class=%00", None),
        ("GET", "/api/v1/nodes/" + "x" * 300, None),
        ("GET", "/api/v1/views/red/image?size=100000", None),
        ("GET", "/api/v1/views/red/image?size=abc", None),
        ("GET", "/api/v1/views/red/image?format=gif", None),
        ("GET", "/api/v1/views/red/image?offset=nan", None),
        ("PUT", "/api/v1/views/3d/camera", b"[1,2,3]"),
        ("PUT", "/api/v1/views/red/slice", b"{not json"),
        ("POST", "/api/v1/markups", b'{"points": "nope"}'),
        ("GET", "/api/v1/volumes/vtkMRMLScalarVolumeNode1?format=tiff", None),
    ],
)
def test_odd_parameters_get_a_json_4xx(server, method, path, body):
    status, answer = server.request(method, path, body=body, headers={"Content-Type": "application/json"})
    assert 400 <= status < 500 and isinstance(answer, dict) and answer["message"]


def test_every_v1_route_refuses_without_credentials_and_the_share_token_cannot_mutate(server):
    document = server.request("GET", "/api/v1/openapi.json")[1]
    for path, item in document["paths"].items():
        concrete = path.replace("{node_id}", "x").replace("{view}", "red")
        for method in item:
            assert server.request(method.upper(), concrete, token=None)[0] == 401, (method, path)
            if method != "get":
                status = server.request(method.upper(), concrete, token=server.view_token, body=b"{}")[0]
                assert status == 403, (method, path)
    assert server.request("GET", "/api/v1/nodes", token=server.view_token)[0] == 200


def test_the_openapi_json_is_served_as_json(server):
    status, body = server.request("GET", "/api/v1/openapi.json")
    assert status == 200 and json.dumps(body)
