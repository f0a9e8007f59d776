"""The slice views keep their last frame: an unchanged view answers the same bytes, and every change of what it
shows (slice offset, window/level, voxels, orientation, size, layers) gives a new image."""

from __future__ import annotations

import io
import json

import numpy as np
import pytest
from nrrd_bytes import make_nrrd
from PIL import Image

from helpers import datagen

pytestmark = pytest.mark.server


def get(server, path: str) -> bytes:
    status, data = server.request("GET", path)
    assert status == 200, data
    return data


def pixels(data: bytes) -> np.ndarray:
    image = Image.open(io.BytesIO(data))
    image.load()
    return np.asarray(image)


@pytest.fixture
def ball(server):
    volume = datagen.ball_volume(shape=(40, 48, 32))
    status, body = server.request("POST", "/slicer/volume?id=cache_ball", body=make_nrrd(volume))
    assert status == 200
    return body["id"], volume


def test_an_unchanged_slice_answers_the_same_frame_and_changes_show(server, ball):
    node_id, volume = ball
    path = "/slicer/slice?view=red&orientation=axial&size=160&format=png"
    first = get(server, path + "&scrollTo=0.5")
    assert get(server, path + "&scrollTo=0.5") == first
    image = pixels(first)
    assert image.shape == (160, 160, 3) and image.std() > 1

    moved = get(server, path + "&scrollTo=0.3")
    assert moved != first
    assert pixels(get(server, path + "&scrollTo=0.5")).tolist() == image.tolist()  # back: the same image

    # window/level of the shown volume
    body = json.dumps({"window": 5, "level": 200}).encode()
    headers = {"Content-Type": "application/json"}
    assert server.request("PUT", f"/api/v1/volumes/{node_id}/display", body=body, headers=headers)[0] == 200
    levelled = get(server, path + "&scrollTo=0.5")
    assert levelled != first
    assert server.request("PUT", f"/api/v1/volumes/{node_id}/display", body=b'{"auto": true}', headers=headers)[0]

    # new voxels in the same node
    status, _ = server.request("POST", f"/slicer/volume?id={node_id}", body=make_nrrd(np.zeros_like(volume)))
    assert status == 200
    blank = pixels(get(server, path + "&scrollTo=0.5"))
    assert blank.std() < image.std() and blank.tolist() != image.tolist()


def test_size_orientation_and_format_each_get_their_own_image(server, ball):
    base = "/slicer/slice?view=red&scrollTo=0.5"
    axial = get(server, base + "&orientation=axial&size=128&format=png")
    assert pixels(get(server, base + "&orientation=axial&size=96&format=png")).shape == (96, 96, 3)
    sagittal = get(server, base + "&orientation=sagittal&size=128&format=png")
    assert sagittal != axial
    jpeg = get(server, base + "&orientation=sagittal&size=128&format=jpeg")
    assert Image.open(io.BytesIO(jpeg)).format == "JPEG"
    v1 = get(server, "/api/v1/views/red/image?orientation=sagittal&size=128&format=png")
    assert pixels(v1).tolist() == pixels(sagittal).tolist()
