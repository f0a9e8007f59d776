"""The data root over HTTP: upload, list, download, open into the scene, save back — and every hostile input
refused with a clear 4xx, nothing written outside the root, the session alive and its scene intact."""

from __future__ import annotations

import os
import time
from pathlib import Path
from urllib.parse import quote

import pytest

from helpers import datagen

pytestmark = pytest.mark.server


def tree(folder: Path) -> set[str]:
    return {p.relative_to(folder).as_posix() for p in folder.rglob("*")}


def upload(server, rel: str, content: bytes, token="default", overwrite=True):
    q = f"/api/v1/files/upload?path={quote(rel)}" + ("&overwrite=1" if overwrite else "")
    return server.request("PUT", q, body=content, token=token)


def node_ids(server) -> list[str]:
    status, body = server.request("GET", "/api/v1/scene/nodes")
    assert status == 200
    return [n["id"] for n in body["nodes"]]


@pytest.fixture(scope="module")
def sibling(session_dirs):
    """A folder named like the data root plus a suffix: 'data2' next to 'data'."""
    _, data = session_dirs
    other = data.parent / (data.name + "2")
    other.mkdir()
    (other / "secret.txt").write_text("not yours")
    return other


def test_the_session_started_with_the_sample_loaded(server):
    status, body = server.request("GET", "/api/v1/scene/nodes")
    assert status == 200
    assert any(n["kind"] == "volume" for n in body["nodes"])


def test_a_volume_uploaded_lists_downloads_opens_and_saves_back(server, tmp_path):
    src = datagen.write_nrrd(tmp_path / "ball.nrrd")
    status, body = upload(server, "cases/ball.nrrd", src.read_bytes())
    assert status == 201 and body["path"] == "cases/ball.nrrd"
    status, listing = server.request("GET", "/api/v1/files?path=cases")
    assert [e["name"] for e in listing["entries"]] == ["ball.nrrd"]
    status, raw = server.request("GET", "/api/v1/files/download?path=cases/ball.nrrd")
    assert status == 200 and raw == src.read_bytes()

    status, opened = server.json("POST", "/api/v1/scene/open", {"path": "cases/ball.nrrd"})
    assert status == 200 and opened["kind"] == "volume"
    volume_id = opened["volumes"][0]
    status, _ = server.json("POST", "/api/v1/scene/save", {"path": "out/ball.nii.gz", "node": volume_id})
    assert status == 201
    assert (server.data / "out" / "ball.nii.gz").stat().st_size > 1000
    status, _ = server.json("POST", "/api/v1/scene/save", {"path": "out/scene.mrb"})
    assert status == 201
    assert (server.data / "out" / "scene.mrb").read_bytes()[:2] == b"PK"


@pytest.mark.parametrize(
    "maker,name,kind",
    [
        (datagen.write_nifti, "brain.nii.gz", "volume"),
        (datagen.write_labelmap_seg, "labels.seg.nrrd", "segmentation"),
        (datagen.write_stl, "sphere.stl", "model"),
    ],
)
def test_each_supported_format_opens(server, tmp_path, maker, name, kind):
    src = maker(tmp_path / name)
    assert upload(server, f"formats/{name}", src.read_bytes())[0] == 201
    status, body = server.json("POST", "/api/v1/scene/open", {"path": f"formats/{name}"})
    assert status == 200, body
    assert body["kind"] == kind and body["nodes"]


def test_a_ct_dicom_series_opens_from_a_folder_and_from_a_zip(server, tmp_path):
    series = tmp_path / "ct"
    datagen.write_ct_dicom_series(series)
    for path in sorted(series.iterdir()):
        assert upload(server, f"dicom/ct/{path.name}", path.read_bytes())[0] == 201
    status, body = server.json("POST", "/api/v1/scene/open", {"path": "dicom/ct"})
    assert status == 200, body
    assert body["kind"] == "dicom" and body["nodes"]
    archive = datagen.zip_folder(series, tmp_path / "ct.zip")
    assert upload(server, "dicom/ct.zip", archive.read_bytes())[0] == 201
    status, body = server.json("POST", "/api/v1/scene/open", {"path": "dicom/ct.zip"})
    assert status == 200, body
    assert body["nodes"]


def test_models_and_segmentations_save_back(server, tmp_path):
    assert upload(server, "m/sphere.stl", datagen.write_stl(tmp_path / "s.stl").read_bytes())[0] == 201
    _, body = server.json("POST", "/api/v1/scene/open", {"path": "m/sphere.stl"})
    model = next(i for i in body["nodes"] if i.startswith("vtkMRMLModelNode"))
    assert server.json("POST", "/api/v1/scene/save", {"path": "m/sphere.vtk", "node": model})[0] == 201
    assert upload(server, "m/l.seg.nrrd", datagen.write_labelmap_seg(tmp_path / "l.seg.nrrd").read_bytes())[0] == 201
    _, body = server.json("POST", "/api/v1/scene/open", {"path": "m/l.seg.nrrd"})
    seg = next(i for i in body["nodes"] if i.startswith("vtkMRMLSegmentationNode"))
    assert server.json("POST", "/api/v1/scene/save", {"path": "m/out.seg.nrrd", "node": seg})[0] == 201
    assert (server.data / "m" / "out.seg.nrrd").stat().st_size > 100
    status, body = server.json("POST", "/api/v1/scene/save", {"path": "m/sphere.nrrd", "node": model})
    assert status == 415 and "models" in body["message"]


BAD_PATHS = [
    "../x",
    "/etc/passwd",
    "..\\x",
    "a\x00b",
    "data2/../../x",
    "../data2/secret.txt",
    "//etc/passwd",
    "C:/x",
    "cases/../../x",
]


@pytest.mark.parametrize("bad", BAD_PATHS)
def test_path_attacks_are_refused_everywhere_and_write_nothing_outside(server, session_dirs, sibling, bad):
    outside, data = session_dirs
    before_outside, before_sibling = tree(outside), tree(sibling)
    q = quote(bad, safe="")
    for method, path, payload in [
        ("GET", f"/api/v1/files?path={q}", None),
        ("GET", f"/api/v1/files/download?path={q}", None),
        ("PUT", f"/api/v1/files/upload?path={q}", b"evil"),
    ]:
        status, body = server.request(method, path, body=payload)
        assert 400 <= status < 500, (method, bad, status)
        assert isinstance(body, dict) and body["message"]
        assert str(data) not in body["message"] and "Traceback" not in body["message"]
    for route in ("/api/v1/scene/open", "/api/v1/scene/save"):
        status, body = server.json("POST", route, {"path": bad})
        assert 400 <= status < 500, (route, bad, status)
    assert tree(outside) == before_outside and tree(sibling) == before_sibling
    assert not (data.parent / "x").exists()
    assert server.alive()


def test_a_symlink_out_of_the_root_is_neither_listed_nor_followed(server, session_dirs):
    outside, data = session_dirs
    (outside / "private.nrrd").write_bytes(b"secret")
    link = data / "escape"
    link.symlink_to(outside, target_is_directory=True)
    try:
        _, listing = server.request("GET", "/api/v1/files")
        assert "escape" not in [e["name"] for e in listing["entries"]]
        assert server.request("GET", "/api/v1/files/download?path=escape/private.nrrd")[0] == 400
        assert upload(server, "escape/new.nrrd", b"x")[0] == 400
        assert not (outside / "new.nrrd").exists()
    finally:
        link.unlink()


@pytest.mark.parametrize(
    "name,make",
    [
        ("slip-dotdot.mrb", lambda: datagen.zip_slip("../../evil.txt")),
        ("slip-abs.mrb", lambda: datagen.zip_slip("/tmp/slicer-cloud-evil.txt")),
        ("slip-link.mrb", datagen.zip_with_symlink),
        ("bomb.mrb", lambda: datagen.zip_bomb(300)),
        ("bomb.zip", lambda: datagen.zip_bomb(300)),
    ],
)
def test_hostile_archives_are_rejected_and_extract_nothing(server, session_dirs, name, make):
    outside, data = session_dirs
    content = make()
    before, before_outside = node_ids(server), tree(outside)
    assert upload(server, f"hostile/{name}", content)[0] == 201
    rss_before = server.rss_mb()
    status, body = server.json("POST", "/api/v1/scene/open", {"path": f"hostile/{name}"})
    assert 400 <= status < 500, body
    assert body["error"] in {"unsafe_archive", "too_large", "unsafe_path"}
    assert not (data.parent / "evil.txt").exists() and not Path("/tmp/slicer-cloud-evil.txt").exists()
    assert tree(outside) == before_outside
    assert not list((data / ".slicer-cloud" / "tmp").glob("extract-*"))
    assert server.rss_mb() < rss_before + 200
    assert node_ids(server) == before


@pytest.mark.parametrize(
    "name,content",
    [
        ("bomb.nrrd", datagen.nrrd_header_bomb()),
        ("bomb.nii", datagen.nifti_header_bomb()),
        ("bomb.nii.gz", datagen.nifti_gz_header_bomb()),
        ("bomb.mha", datagen.mha_header_bomb()),
    ],
)
def test_header_bombs_are_refused_fast_without_allocating(server, name, content):
    before = node_ids(server)
    assert len(content) < 1024
    assert upload(server, f"bombs/{name}", content)[0] == 201
    started = time.monotonic()
    status, body = server.json("POST", "/api/v1/scene/open", {"path": f"bombs/{name}"})
    elapsed = time.monotonic() - started
    assert status == 413, body
    assert "max_image" in body["message"]
    assert elapsed < 1.0
    assert server.rss_mb() < 1024
    assert server.alive() and node_ids(server) == before


@pytest.mark.parametrize(
    "name,content",
    [
        ("truncated.nrrd", b"NRRD0004\ntype: short\ndimension: 3\nsizes: 64 64 64\nencoding: raw\n\n" + b"\1" * 100),
        ("garbage.nii.gz", os.urandom(2000)),
        ("garbage.stl", b"solid x\nfacet normal nonsense\n"),
        ("garbage.mrb", b"PK\x03\x04 not really a zip"),
        ("notdicom.dcm", b"hello"),
    ],
)
def test_a_file_parsers_cannot_read_is_a_clear_4xx_and_the_scene_is_intact(server, name, content):
    before = node_ids(server)
    assert upload(server, f"broken/{name}", content)[0] == 201
    status, body = server.json("POST", "/api/v1/scene/open", {"path": f"broken/{name}"})
    assert 400 <= status < 500, body
    assert body["message"] and "Traceback" not in body["message"]
    assert server.alive() and node_ids(server) == before


def test_a_scene_referencing_files_outside_its_folder_is_refused(server):
    before = node_ids(server)
    assert upload(server, "scenes/evil.mrml", datagen.mrml_referencing("/etc/passwd"))[0] == 201
    status, body = server.json("POST", "/api/v1/scene/open", {"path": "scenes/evil.mrml"})
    assert status == 400 and body["error"] == "unsafe_path"
    assert node_ids(server) == before


def test_unknown_formats_and_bad_bodies_say_what_to_do(server):
    assert upload(server, "notes.txt", b"hello")[0] == 201
    status, body = server.json("POST", "/api/v1/scene/open", {"path": "notes.txt"})
    assert status == 415 and "NRRD" in body["message"]
    status, body = server.request(
        "POST", "/api/v1/scene/open", body=b"{not json", headers={"Content-Type": "application/json"}
    )
    assert status == 400 and "JSON" in body["message"]
    status, body = server.json("POST", "/api/v1/scene/open", {"path": "missing.nrrd"})
    assert status == 404


def test_the_share_link_cannot_upload_open_or_save(server):
    for status, body in [
        upload(server, "viewer.nrrd", b"x", token=server.view_token),
        server.json("POST", "/api/v1/scene/open", {"path": "notes.txt"}, token=server.view_token),
        server.json("POST", "/api/v1/scene/save", {"path": "v.mrb"}, token=server.view_token),
    ]:
        assert status == 403 and body["error"] == "read_only"
    assert not (server.data / "viewer.nrrd").exists()
    assert server.request("GET", "/api/v1/files", token=server.view_token)[0] == 200


def test_nothing_but_health_answers_without_the_token(server):
    for path in ("/", "/index.html", "/api/v1/files", "/api/v1/scene/nodes", "/__slicer_cloud/slicer_cloud.js"):
        status, _ = server.request("GET", path, token=None)
        assert status == 401, path
    assert server.request("GET", "/api/v1/files", token="wrong-token-123")[0] == 401
    status, health = server.request("GET", "/healthz", token=None)
    assert status == 200 and set(health) == {"status", "version", "uptime"}


def test_basic_auth_with_the_token_as_password_works(server):
    import base64

    cred = base64.b64encode(f"anyone:{server.token}".encode()).decode()
    status, _ = server.request("GET", "/api/v1/files", token=None, headers={"Authorization": f"Basic {cred}"})
    assert status == 200


def test_cookie_sessions_need_the_xsrf_header_to_change_anything(server):
    import http.cookiejar
    import urllib.request

    jar = http.cookiejar.CookieJar()
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))
    with opener.open(server.url) as resp:  # ?token= -> cookie + redirect to the clean URL
        assert resp.status == 200
        assert "token=" not in resp.url
    cookies = {c.name: c for c in jar}
    assert cookies["slicer_cloud_session"].has_nonstandard_attr("HttpOnly")
    assert server.token not in cookies["slicer_cloud_session"].value
    put = f"{server.base}/api/v1/files/upload?path=cookie.txt&overwrite=1"
    req = urllib.request.Request(put, data=b"x", method="PUT")
    with pytest.raises(urllib.error.HTTPError) as err:
        opener.open(req)
    assert err.value.code == 403
    req = urllib.request.Request(put, data=b"x", method="PUT", headers={"X-XSRF-Token": cookies["_xsrf"].value})
    with opener.open(req) as resp:
        assert resp.status == 201
    with opener.open(f"{server.base}/api/v1/files") as resp:
        assert resp.status == 200
