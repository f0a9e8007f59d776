"""Point lists (``vtkMRMLMarkupsFiducialNode``) for the versioned API: list, create, add control points."""

from __future__ import annotations

import math
from collections.abc import Sequence

from ..errors import BadRequest
from .node_info import get_node
from .scene_query import safe_name

POINT_LIST = "vtkMRMLMarkupsFiducialNode"
MAX_POINTS = 10000
MAX_COORDINATE_MM = 1e6  # farther points make the 3D view's bounds and camera degenerate


def ras_point(value: object) -> tuple[float, float, float]:
    """Three finite numbers (R, A, S in mm) from client JSON."""
    if not isinstance(value, (list, tuple)) or len(value) != 3:
        raise BadRequest("a position is a list of three numbers [R, A, S] in millimetres")
    if not all(isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v) for v in value):
        raise BadRequest("a position holds three finite numbers [R, A, S]")
    if any(abs(v) > MAX_COORDINATE_MM for v in value):
        raise BadRequest(f"positions must lie within {MAX_COORDINATE_MM:g} mm of the origin")
    return float(value[0]), float(value[1]), float(value[2])


def describe_point_list(node) -> dict:
    points = []
    for index in range(node.GetNumberOfControlPoints()):
        position = [0.0, 0.0, 0.0]
        node.GetNthControlPointPosition(index, position)
        points.append({"label": node.GetNthControlPointLabel(index), "position": position})
    return {"id": node.GetID(), "name": node.GetName() or "", "points": points}


def list_point_lists(scene) -> list[dict]:
    collection = scene.GetNodesByClass(POINT_LIST)
    return [describe_point_list(collection.GetItemAsObject(i)) for i in range(collection.GetNumberOfItems())]


def create_point_list(scene, name: str, points: Sequence[object] = ()) -> dict:
    """A new point list with the given positions; shown in every view."""
    if len(points) > MAX_POINTS:
        raise BadRequest(f"at most {MAX_POINTS} points per request")
    positions = [ras_point(p) for p in points]
    node = scene.AddNewNodeByClass(POINT_LIST, safe_name(name or "F"))
    node.CreateDefaultDisplayNodes()
    for position in positions:
        _add(node, position, "")
    return describe_point_list(node)


def add_point(scene, node_id: str, position: object, label: str = "") -> dict:
    """Add one control point to an existing point list."""
    node = get_node(scene, node_id, POINT_LIST)
    if node.GetNumberOfControlPoints() >= MAX_POINTS:
        raise BadRequest(f"a point list holds at most {MAX_POINTS} points here")
    _add(node, ras_point(position), label)
    return describe_point_list(node)


def _add(node, position: tuple[float, float, float], label: str) -> None:
    from vtkmodules.vtkCommonDataModel import vtkVector3d

    index = node.AddControlPoint(vtkVector3d(*position), safe_name(label) if label else "")
    if not label:
        node.SetNthControlPointLabel(index, f"{node.GetName()}-{index + 1}")
