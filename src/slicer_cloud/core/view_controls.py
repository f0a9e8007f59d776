"""Steering the views through the scene: slice offset and orientation, 3D camera, volume window/level.

Changes go to the MRML view nodes that both the web viewer's views and the REST snapshot views
(:mod:`slicer_cloud.core.snapshots`) observe, so a browser looking at the session follows them.
"""

from __future__ import annotations

import math
from collections.abc import Mapping

from ..errors import BadRequest, NotFound
from .node_info import get_node
from .snapshots import ORIENTATIONS, SLICE_VIEWS, VIEW_PREFIX

MAX_MM = 1e6  # positions and offsets farther out make the views' matrices degenerate
MAX_INTENSITY = 1e12


def _finite(value: object, key: str, bound: float = MAX_MM) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise BadRequest(f"{key} must be a finite number")
    if abs(value) > bound:
        raise BadRequest(f"{key} must be between {-bound:g} and {bound:g}")
    return float(value)


def _vector(value: object, key: str) -> tuple[float, float, float]:
    if not isinstance(value, (list, tuple)) or len(value) != 3:
        raise BadRequest(f"{key} must be a list of three numbers")
    x, y, z = (_finite(v, key) for v in value)
    return x, y, z


def _nodes(scene, class_name: str) -> list:
    collection = scene.GetNodesByClass(class_name)
    return [collection.GetItemAsObject(i) for i in range(collection.GetNumberOfItems())]


# -- slices --------------------------------------------------------------------------------------------------------


def slice_nodes(scene, view: str) -> list:
    """The slice nodes of ``view`` (red/yellow/green): the viewer's first, then the REST snapshot view's."""
    if view not in SLICE_VIEWS:
        raise BadRequest("view must be red, yellow or green")
    names = [SLICE_VIEWS[view][0], VIEW_PREFIX + SLICE_VIEWS[view][0]]
    nodes = [n for n in _nodes(scene, "vtkMRMLSliceNode") if n.GetLayoutName() in names]
    return sorted(nodes, key=lambda n: names.index(n.GetLayoutName()))


def get_slice(scene, view: str) -> dict:
    nodes = slice_nodes(scene, view)
    if not nodes:
        raise NotFound(f"no {view} slice view yet; open the viewer or render the view once")
    return {"offset": nodes[0].GetSliceOffset(), "orientation": nodes[0].GetOrientation().lower()}


def set_slice(scene, view: str, changes: Mapping[str, object]) -> dict:
    """Apply ``orientation`` then ``offset`` (mm along the slice normal) to the view's slice nodes."""
    orientation = changes.get("orientation")
    if orientation is not None:
        if not isinstance(orientation, str) or orientation.strip().lower() not in ORIENTATIONS:
            raise BadRequest("orientation must be axial, sagittal or coronal")
    offset = changes.get("offset")
    offset = None if offset is None else _finite(offset, "offset")
    nodes = slice_nodes(scene, view)
    if not nodes:
        raise NotFound(f"no {view} slice view yet; open the viewer or render the view once")
    for node in nodes:
        if isinstance(orientation, str):
            node.SetOrientation(ORIENTATIONS[orientation.strip().lower()])
        if offset is not None:
            node.SetSliceOffset(offset)
    return get_slice(scene, view)


# -- camera --------------------------------------------------------------------------------------------------------


def _cameras(scene) -> list:
    cameras = _nodes(scene, "vtkMRMLCameraNode")
    return sorted(cameras, key=lambda c: (c.GetLayoutName() or "").startswith(VIEW_PREFIX))


def get_camera(scene) -> dict:
    cameras = _cameras(scene)
    if not cameras:
        raise NotFound("no 3D view yet; open the viewer or render the 3d view once")
    camera = cameras[0]
    return {
        "position": list(camera.GetPosition()),
        "focalPoint": list(camera.GetFocalPoint()),
        "viewUp": list(camera.GetViewUp()),
        "viewAngle": camera.GetViewAngle(),
    }


def set_camera(scene, changes: Mapping[str, object]) -> dict:
    """Set ``position``, ``focalPoint``, ``viewUp`` (RAS) and ``viewAngle`` (degrees) of every 3D camera."""
    position = _vector(changes["position"], "position") if "position" in changes else None
    focal = _vector(changes["focalPoint"], "focalPoint") if "focalPoint" in changes else None
    view_up = _vector(changes["viewUp"], "viewUp") if "viewUp" in changes else None
    angle = _finite(changes["viewAngle"], "viewAngle") if "viewAngle" in changes else None
    if angle is not None and not 1.0 <= angle <= 179.0:
        raise BadRequest("viewAngle must be between 1 and 179 degrees")
    if view_up is not None and math.hypot(*view_up) < 1e-6:
        raise BadRequest("viewUp must not be the zero vector")
    current = get_camera(scene) if _cameras(scene) else None
    if current is not None:
        eye = position or current["position"]
        target = focal or current["focalPoint"]
        up = view_up or current["viewUp"]
        direction = [t - e for t, e in zip(target, eye, strict=True)]
        if math.hypot(*direction) < 1e-6:
            raise BadRequest("position and focalPoint must differ")
        cross = (
            direction[1] * up[2] - direction[2] * up[1],
            direction[2] * up[0] - direction[0] * up[2],
            direction[0] * up[1] - direction[1] * up[0],
        )
        if math.hypot(*cross) < 1e-9 * math.hypot(*direction) * math.hypot(*up):
            raise BadRequest("viewUp must not be parallel to the viewing direction")
    cameras = _cameras(scene)
    if not cameras:
        raise NotFound("no 3D view yet; open the viewer or render the 3d view once")
    for camera in cameras:
        if position is not None:
            camera.SetPosition(*position)
        if focal is not None:
            camera.SetFocalPoint(*focal)
        if view_up is not None:
            camera.SetViewUp(*view_up)
        if angle is not None:
            camera.SetViewAngle(angle)
        camera.ResetClippingRange()
    return get_camera(scene)


# -- window / level ----------------------------------------------------------------------------------------------


def _scalar_display(scene, node_id: str):
    node = get_node(scene, node_id, "vtkMRMLScalarVolumeNode")
    display = node.GetDisplayNode()
    if display is None:
        node.CreateDefaultDisplayNodes()
        display = node.GetDisplayNode()
    if display is None or not hasattr(display, "SetWindowLevel"):
        raise BadRequest(f"{node_id[:80]!r} has no window/level display")
    return display


def get_window_level(scene, node_id: str) -> dict:
    display = _scalar_display(scene, node_id)
    return {"window": display.GetWindow(), "level": display.GetLevel(), "auto": bool(display.GetAutoWindowLevel())}


def set_window_level(scene, node_id: str, changes: Mapping[str, object]) -> dict:
    """``{"window", "level"}`` (fixed) or ``{"auto": true}`` for a scalar volume's display."""
    display = _scalar_display(scene, node_id)
    auto = changes.get("auto")
    if auto is not None and not isinstance(auto, bool):
        raise BadRequest("auto must be true or false")
    if auto:
        display.SetAutoWindowLevel(True)
        return get_window_level(scene, node_id)
    window = _finite(changes.get("window", display.GetWindow()), "window", MAX_INTENSITY)
    level = _finite(changes.get("level", display.GetLevel()), "level", MAX_INTENSITY)
    if window <= 0:
        raise BadRequest("window must be positive")
    display.SetAutoWindowLevel(False)
    display.SetWindowLevel(window, level)
    return get_window_level(scene, node_id)
