"""slicer_cloud.Client against a live session: numpy -> push -> pull -> numpy identical with geometry, renders as
PIL images, files and scenes, and server errors raised as ClientError with the server's message."""

from __future__ import annotations

import numpy as np
import pytest

from slicer_cloud import Client, ClientError

pytestmark = pytest.mark.server

DIRECTION = np.array([[0.0, 0.0, -1.0], [0.6, 0.8, 0.0], [0.8, -0.6, 0.0]])  # a rotation: columns i, j, k


@pytest.fixture(scope="module")
def client(server) -> Client:
    return Client(server.base, server.token)


@pytest.mark.parametrize("dtype", ["int16", "uint8", "float32"])
@pytest.mark.parametrize("compress", [False, True])
def test_a_numpy_array_round_trips_identically_with_its_geometry(client, dtype, compress):
    voxels = (np.random.default_rng(3).random((7, 9, 11)) * 250 - (0 if dtype == "uint8" else 100)).astype(dtype)
    spacing, origin = (0.7, 1.3, 2.5), (-12.5, 40.25, 3.0)
    node_id = client.push_volume(voxels, spacing, origin, DIRECTION, name=f"rt-{dtype}", compress=compress)
    back, geometry = client.pull_volume(node_id)
    assert back.dtype == voxels.dtype and back.shape == voxels.shape
    assert np.array_equal(back, voxels)
    assert np.allclose(geometry.spacing, spacing) and np.allclose(geometry.origin, origin)
    assert np.allclose(geometry.direction, DIRECTION)
    assert {"id": node_id, "name": f"rt-{dtype}"}.items() <= client.get_node(node_id).items()


def test_a_2d_array_becomes_a_single_slice_volume(client):
    node_id = client.push_volume(np.arange(12, dtype=np.int16).reshape(3, 4), name="flat")
    back, _ = client.pull_volume(node_id)
    assert back.shape == (1, 3, 4)


def test_views_render_to_pil_images_of_the_requested_size_and_format(client):
    client.push_volume(np.random.default_rng(0).integers(0, 1000, (20, 30, 40)).astype(np.int16), name="shown")
    for view, fmt in (("red", "png"), ("green", "jpeg"), ("3d", "webp")):
        image = client.render_view(view, size=(160, 96), format=fmt)
        assert image.size == (160, 96) and image.format == {"png": "PNG", "jpeg": "JPEG", "webp": "WEBP"}[fmt]
    assert np.asarray(client.render_view("red", size=64).convert("L")).std() > 1


def test_files_scenes_and_nodes(client, tmp_path):
    node_id = client.push_volume(np.ones((4, 5, 6), np.uint8), name="to-save")
    assert client.upload_file(b"hello", "client/notes.txt") == "client/notes.txt"
    assert client.download_file("client/notes.txt") == b"hello"
    assert client.save_node(node_id, "client/saved.nrrd") == "client/saved.nrrd"
    loaded = client.load("client/saved.nrrd")
    assert loaded["kind"] == "volume" and loaded["volumes"]
    assert client.save_scene("client/scene.mrb") == "client/scene.mrb"
    assert {e["name"] for e in client.list_files("client")} >= {"notes.txt", "saved.nrrd", "scene.mrb"}
    assert client.delete_node(node_id) == [node_id]
    assert node_id not in [n["id"] for n in client.list_nodes()]


def test_server_errors_raise_a_client_error_with_the_servers_message(client, server):
    with pytest.raises(ClientError) as error:
        client.pull_volume("vtkMRMLScalarVolumeNode999")
    assert error.value.status == 404 and "no Volume with ID" in error.value.message
    with pytest.raises(ClientError) as error:
        client.load("../outside.nrrd")
    assert error.value.status == 400 and error.value.code == "unsafe_path"
    with pytest.raises(ClientError) as error:
        Client(server.base, "wrong-token").list_nodes()
    assert error.value.status == 401
    with pytest.raises(ClientError) as error:
        Client(server.base, server.view_token).push_volume(np.zeros((2, 2, 2), np.uint8))
    assert error.value.status == 403


def test_the_token_can_come_in_the_printed_url(server):
    assert isinstance(Client(f"{server.base}/?token={server.token}").list_nodes(), list)
