"""Transforms over REST: grid transforms as NRRD displacement fields (``/slicer/gridTransform``) and the tracked
"cursor" of ``/slicer/tracking`` - both as Slicer's WebServer module does them."""

from __future__ import annotations

import numpy as np

from ..errors import BadRequest, InvalidData
from .scene_query import first_node

TRACKER = "tracker"
TRACKING_DEVICE = "trackingDevice"


def grid_transform_nrrd(scene, node_id: str | None) -> bytes:
    """The displacement grid of a grid transform (default: the first) as a 4D float NRRD in LPS.

    Like the original, the grid is assumed axis-aligned (as Landmark Registration makes them).
    """
    from vtkmodules.util.numpy_support import vtk_to_numpy

    node = first_node(scene, "vtkMRMLGridTransformNode", node_id)
    grid = node.GetTransformFromParent().GetDisplacementGrid() if node.GetTransformFromParent() else None
    if grid is None or grid.GetPointData().GetScalars() is None:
        raise InvalidData(f"{node.GetID()} holds no displacement grid")
    x, y, z = grid.GetDimensions()
    vectors = vtk_to_numpy(grid.GetPointData().GetScalars()).reshape(z, y, x, 3).astype("<f4")
    vectors = vectors * np.array([-1, -1, 1], dtype="<f4")  # RAS -> LPS
    sx, sy, sz = grid.GetSpacing()
    ox, oy, oz = grid.GetOrigin()
    header = (
        "NRRD0004\n"
        "# Complete NRRD file format specification at:\n"
        "# http://teem.sourceforge.net/nrrd/format.html\n"
        "type: float\n"
        "dimension: 4\n"
        "space: left-posterior-superior\n"
        f"sizes: 3 {x} {y} {z}\n"
        f"space directions: none ({-sx:g},0,0) (0,{-sy:g},0) (0,0,{sz:g})\n"
        "kinds: vector domain domain domain\n"
        "endian: little\n"
        "encoding: raw\n"
        f"space origin: ({-ox:g},{-oy:g},{oz:g})\n\n"
    )
    return header.encode() + vectors.tobytes()


def _floats(text: str | None, count: int, name: str) -> list[float] | None:
    if text is None:
        return None
    try:
        values = [float(v) for v in text.split(",")]
    except ValueError:
        raise BadRequest(f"{name} must be {count} comma-separated numbers") from None
    if len(values) < count or not all(np.isfinite(values)):
        raise BadRequest(f"{name} must be {count} comma-separated finite numbers")
    return values[:count]


def _tracker(scene):
    """The tracker transform and its cube model, found by name or created as the original does."""
    existing = scene.GetFirstNodeByName(TRACKER)
    if existing is not None and existing.IsA("vtkMRMLLinearTransformNode"):
        return existing
    from vtkmodules.vtkFiltersSources import vtkCubeSource

    cube = vtkCubeSource()
    cube.SetXLength(30)
    cube.SetYLength(70)
    cube.SetZLength(5)
    cube.Update()
    tracker = scene.AddNewNodeByClass("vtkMRMLLinearTransformNode", TRACKER)
    device = scene.AddNewNodeByClass("vtkMRMLModelNode", TRACKING_DEVICE)
    device.SetAndObservePolyData(cube.GetOutput())
    device.CreateDefaultDisplayNodes()
    device.GetDisplayNode().SetColor(1, 1, 0)
    device.SetAndObserveTransformNodeID(tracker.GetID())
    return tracker


def set_tracking(scene, m: str | None, q: str | None, p: str | None) -> None:
    """Set the tracker from a row-major 3x3 matrix ``m``, a quaternion ``q`` (w,x,y,z) and a position ``p``."""
    from vtkmodules.vtkCommonMath import vtkMatrix4x4

    matrix_values = _floats(m, 9, "m")
    quaternion = _floats(q, 4, "q")
    position = _floats(p, 3, "p")
    tracker = _tracker(scene)
    matrix = vtkMatrix4x4()
    tracker.GetMatrixTransformToParent(matrix)
    if matrix_values:
        for row in range(3):
            for column in range(3):
                matrix.SetElement(row, column, matrix_values[3 * row + column])
    if position:
        for row in range(3):
            matrix.SetElement(row, 3, position[row])
    if quaternion:
        rotation = _quaternion_matrix(quaternion)
        for row in range(3):
            for column in range(3):
                matrix.SetElement(row, column, rotation[row][column])
    tracker.SetMatrixTransformToParent(matrix)


def _quaternion_matrix(wxyz: list[float]) -> np.ndarray:
    w, x, y, z = np.asarray(wxyz) / (np.linalg.norm(wxyz) or 1.0)
    return np.array(
        [
            [1 - 2 * (y * y + z * z), 2 * (x * y - z * w), 2 * (x * z + y * w)],
            [2 * (x * y + z * w), 1 - 2 * (x * x + z * z), 2 * (y * z - x * w)],
            [2 * (x * z - y * w), 2 * (y * z + x * w), 1 - 2 * (x * x + y * y)],
        ]
    )
