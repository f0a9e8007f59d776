"""The view widgets' message protocol, in process: input events in, JPEG frames back while interacting, a PNG
when still; traits linked to the scene both ways; hostile messages dropped."""

from __future__ import annotations

import numpy as np
import pytest

import slicer_cloud.jupyter as sj
from slicer_cloud.jupyter.events import clean_events, compress_moves, wheel_steps
from slicer_cloud.jupyter.widgets import SliceView, View3D

JPEG, PNG = b"\xff\xd8", b"\x89PNG"


class Recording:
    """Mixin: keep what the widget sends instead of sending it to a front end."""

    def send(self, content, buffers=None):
        self.sent = getattr(self, "sent", [])
        self.sent.append((content, buffers))


class RecordingSliceView(Recording, SliceView):
    pass


class Recording3D(Recording, View3D):
    pass


def event(t, **kw):
    return {"t": t, "x": kw.pop("x", 200), "y": kw.pop("y", 200), "shift": False, "ctrl": False, "alt": False, **kw}


@pytest.fixture(scope="module")
def scene():
    scene = sj.Scene()
    scene.load(sj.sample_data())
    return scene


def last_frame(widget):
    content, buffers = widget.sent[-1]
    assert content["type"] == "frame", content
    return content, bytes(buffers[0])


def test_a_batch_of_events_gets_one_jpeg_frame_in_reply(scene):
    view = RecordingSliceView(scene, "axial", width=256, height=256)
    before = view.offset
    view._on_message(view, {"type": "events", "seq": 7, "events": [event("wheel", dy=-100)] * 3}, [])
    content, data = last_frame(view)
    assert content["reply"] and content["seq"] == 7 and not content["still"]
    assert data.startswith(JPEG) and content["mime"] == "image/jpeg"
    assert view.offset == pytest.approx(before + 3, abs=0.01)  # three slices up (1 mm sample spacing)


def test_a_still_request_gets_a_lossless_png(scene):
    view = RecordingSliceView(scene, "axial", width=256, height=256)
    view._on_message(view, {"type": "still"}, [])
    content, data = last_frame(view)
    assert content["still"] and data.startswith(PNG)


def test_a_left_drag_sets_window_level_and_the_traits_follow(scene):
    view = RecordingSliceView(scene, "sagittal", width=256, height=256)
    window = view.window
    drag = [event("down", b=0), event("move", x=250), event("up", b=0, x=250)]
    view._on_message(view, {"type": "events", "seq": 1, "events": drag}, [])
    display = scene.main_volume_node().GetDisplayNode()
    assert display.GetWindow() > window
    assert view.window == pytest.approx(display.GetWindow())


def test_setting_a_trait_changes_the_scene_and_the_picture(scene):
    view = RecordingSliceView(scene, "coronal", width=256, height=256)
    before = view.pixels()
    view.window = 10.0
    view.level = 60.0
    display = scene.main_volume_node().GetDisplayNode()
    assert (display.GetWindow(), display.GetLevel()) == (10.0, 60.0)
    assert np.abs(view.pixels().astype(float) - before).mean() > 5


def test_a_left_drag_rotates_the_3d_camera(scene):
    view = Recording3D(scene, width=256, height=256)
    camera = view.backend.view.get_camera_node()
    before = camera.GetPosition()
    drag = [event("down", b=0, x=100), event("move", x=180), event("up", b=0, x=180)]
    view._on_message(view, {"type": "events", "seq": 1, "events": drag}, [])
    assert np.linalg.norm(np.subtract(camera.GetPosition(), before)) > 10


def test_hostile_messages_are_dropped_and_the_view_keeps_working(scene):
    view = RecordingSliceView(scene, "axial", width=256, height=256)
    for junk in ({"type": "events", "events": "x"}, {"type": "events", "events": [{"t": "down", "b": 9}]}, {}, None):
        view._on_message(view, junk, [])
    view._on_message(view, {"type": "still"}, [])
    assert last_frame(view)[1].startswith(PNG)


def test_events_are_cleaned_clamped_and_compressed():
    raw = [
        {"t": "move", "x": 1e9, "y": -5, "shift": 1},
        {"t": "move", "x": 3, "y": 4, "shift": 1},
        {"t": "wheel", "dy": float("nan")},
        {"t": "key", "key": "x" * 100},
        {"t": "down", "b": 0, "x": "a"},
        {"t": "exec", "code": "1"},
    ]
    cleaned = clean_events(raw, 100, 50)
    assert cleaned[0]["x"] == 99 and cleaned[0]["y"] == 0
    assert [e["t"] for e in cleaned] == ["move", "move", "down"]
    assert [e["x"] for e in compress_moves(cleaned)] == [3, 0]
    assert wheel_steps(-120) == -1 and wheel_steps(400) == 4 and wheel_steps(0) == 0


def test_add_array_places_voxels_with_their_geometry(scene):
    voxels = np.zeros((4, 5, 6), dtype=np.int16)
    voxels[1, 2, 3] = 7
    node = scene.add_array(voxels, spacing=(2, 3, 4), origin=(10, 20, 30), name="tiny", show=False)
    assert np.array_equal(scene.array(node), voxels)
    with pytest.raises(ValueError, match="spacing"):
        scene.add_array(voxels, spacing=(0, 1, 1))
    with pytest.raises(ValueError, match="3-dimensional"):
        scene.add_array(np.zeros((3, 3)))


def test_a_malformed_file_is_a_clear_error_and_the_scene_is_kept(scene, tmp_path):
    from slicer_cloud.errors import SlicerCloudError

    bad = tmp_path / "broken.nii.gz"
    bad.write_bytes(b"\x1f\x8b not really gzip")
    count = scene.mrml_scene.GetNumberOfNodes()
    with pytest.raises(SlicerCloudError):
        scene.load(bad)
    assert scene.mrml_scene.GetNumberOfNodes() == count


def test_shift_move_in_a_layout_moves_the_crosshair_and_the_other_views_jump(scene):
    layout = sj.Layout(scene, "quad", cell_width=256, cell_height=256)
    sagittal, coronal = layout.views["sagittal"].backend.logic, layout.views["coronal"].backend.logic
    before = (sagittal.GetSliceOffset(), coronal.GetSliceOffset())
    shift = {"shift": True, "ctrl": False, "alt": False}
    layout.views["axial"].backend.handle([{"t": "move", "x": 60, "y": 80, **shift}])
    after = (sagittal.GetSliceOffset(), coronal.GetSliceOffset())
    assert abs(after[0] - before[0]) > 5 and abs(after[1] - before[1]) > 5
    assert layout.pixels().shape == (512, 512, 3)


def test_a_lightbox_montage_pages_with_the_wheel(scene):
    box = sj.Lightbox(scene, rows=2, columns=3, width=384, height=256)
    first = box.pixels()
    assert first.shape == (256, 384, 3)
    box.backend.handle([event("wheel", dy=100, x=10, y=10)])
    assert np.abs(box.pixels().astype(float) - first).mean() > 1
