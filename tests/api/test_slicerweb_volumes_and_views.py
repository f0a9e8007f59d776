"""Volumes over /slicer/volume (numpy -> NRRD -> session -> NRRD -> numpy, identical with geometry) and rendered
stills (/slicer/slice, /threeD, /screenshot) of the requested size and format."""

from __future__ import annotations

import gzip
import io

import numpy as np
import pytest
from nrrd_bytes import DIRECTIONS_LPS, ORIGIN_LPS, make_nrrd, raw_header, read_nrrd
from PIL import Image

from helpers import datagen

pytestmark = pytest.mark.server


@pytest.mark.parametrize("dtype", ["int16", "uint8", "float32"])
@pytest.mark.parametrize("compress", [False, True])
def test_a_volume_round_trips_with_its_geometry(server, dtype, compress):
    voxels = (np.random.default_rng(7).random((6, 7, 8)) * 200).astype(dtype)
    status, body = server.request(
        "POST", f"/slicer/volume?id=rt_{dtype}_{compress}", body=make_nrrd(voxels, gzip=compress)
    )
    assert status == 200 and body["status"] == "success"
    for encoding in ("raw", "gzip"):
        status, data = server.request("GET", f"/slicer/volume?id={body['id']}&encoding={encoding}")
        assert status == 200
        back, header = read_nrrd(data)
        assert back.dtype == voxels.dtype and np.array_equal(back, voxels)
        assert np.allclose(header["space directions"], DIRECTIONS_LPS) and np.allclose(
            header["space origin"], ORIGIN_LPS
        )
    status, listed = server.request("GET", "/slicer/volumes")
    assert {"name": f"rt_{dtype}_{compress}", "id": body["id"]} in listed


def test_posting_to_an_existing_id_replaces_its_voxels(server):
    _, body = server.request("POST", "/slicer/volume?id=replace_me", body=make_nrrd(np.zeros((2, 3, 4), np.int16)))
    ones = np.ones((3, 4, 5), np.int16)
    status, again = server.request("POST", f"/slicer/volume?id={body['id']}", body=make_nrrd(ones))
    assert status == 200 and again["id"] == body["id"]
    assert np.array_equal(read_nrrd(server.request("GET", f"/slicer/volume?id={body['id']}")[1])[0], ones)


@pytest.mark.parametrize(
    "body,statuses",
    [
        (raw_header("100000 100000 100000") + b"\0" * 64, {413}),
        (raw_header("4 4 4") + b"\0" * 100, {422}),
        (raw_header("4 4 4") + b"\0" * 200, {422}),
        (raw_header("4 4 4", encoding="gzip") + gzip.compress(b"\0" * 128)[:-10], {422}),
        (raw_header("4 4 4", extra="data file: /etc/passwd\n"), {415}),
        (b"GIF89a" + b"\0" * 100, {415}),
        (b"NRRD0004\n" + b"# x\n" * 30000, {422}),
        (b"", {400}),
    ],
)
def test_hostile_nrrd_bodies_are_refused_and_the_session_lives(server, body, statuses):
    status, answer = server.request("POST", "/slicer/volume?id=hostile", body=body)
    assert status in statuses, answer
    assert server.request("GET", "/slicer/mrml/ids?name=hostile") == (200, [])
    assert server.alive()


@pytest.fixture
def shown_ball(server):
    """A ball volume pushed last, so the viewer (and our views, which follow it) show it."""
    ball = datagen.ball_volume(shape=(40, 48, 32))
    status, body = server.request("POST", "/slicer/volume?id=ball_view", body=make_nrrd(ball))
    assert status == 200
    return body["id"]


def image_of(server, path):
    status, data = server.request("GET", path)
    assert status == 200, data
    image = Image.open(io.BytesIO(data))
    image.load()
    return image


@pytest.mark.parametrize("fmt,pil_format", [("png", "PNG"), ("jpeg", "JPEG")])
def test_slices_render_at_the_requested_size_and_format(server, shown_ball, fmt, pil_format):
    for view in ("red", "yellow", "green"):
        image = image_of(server, f"/slicer/slice?view={view}&size=200&format={fmt}")
        assert image.format == pil_format and image.size == (200, 200)
        assert np.asarray(image).std() > 1


def test_slice_parameters_change_the_image(server, shown_ball):
    first = np.asarray(image_of(server, "/slicer/slice?view=red&orientation=axial&scrollTo=0.5&size=128"))
    moved = np.asarray(image_of(server, "/slicer/slice?view=red&scrollTo=0.2&size=128"))
    turned = np.asarray(image_of(server, "/slicer/slice?view=red&orientation=sagittal&size=128"))
    assert not np.array_equal(first, moved) and not np.array_equal(first, turned)
    assert image_of(server, "/slicer/slice?view=red&offset=10&size=128").size == (128, 128)
    assert server.request("GET", "/slicer/slice?size=100000")[0] == 400
    assert server.request("GET", "/slicer/slice?orientation=diagonal")[0] == 400
    assert server.request("GET", "/slicer/slice?offset=abc")[0] == 400


def test_threed_and_screenshot_render_non_uniform_images(server, shown_ball):
    for axis in ("a", "l", "s"):
        image = image_of(server, f"/slicer/threeD?lookFromAxis={axis}&size=160")
        assert image.size == (160, 160) and np.asarray(image).std() > 1
    jpeg = image_of(server, "/slicer/threeD?size=100&format=jpeg")
    assert jpeg.format == "JPEG" and jpeg.size == (100, 100)
    shot = image_of(server, "/slicer/screenshot?size=300")
    assert shot.format == "PNG" and shot.size == (300, 300) and np.asarray(shot).std() > 1
    assert image_of(server, "/slicer/screenshot").size == (1024, 768)
    assert image_of(server, "/slicer/timeimage").size == (128, 32)


def test_three_d_graphics_is_gltf(server):
    status, body = server.request("GET", "/slicer/threeDGraphics")
    assert status == 200 and body["asset"]["version"] == "2.0"
