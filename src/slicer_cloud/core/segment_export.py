"""Export a segmentation for ``GET /slicer/segmentation``: a labelmap NRRD, or a segment's closed surface.

Surfaces are written in RAS as glTF (the original's default format) or legacy VTK, and in LPS as STL (as Slicer
saves STL files).
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Literal

from ..errors import BadRequest, InvalidData, NotFound
from .nrrd_codec import encode_nrrd, volume_to_array

Format = Literal["nrrd", "gltf", "vtk", "stl"]
FORMATS: dict[str, Format] = {"nrrd": "nrrd", "labelmap": "nrrd", "gltf": "gltf", "vtk": "vtk", "stl": "stl"}
MEDIA_TYPES = {
    "nrrd": "application/octet-stream",
    "gltf": "model/gltf+json",
    "vtk": "application/octet-stream",
    "stl": "model/stl",
}


def parse_format(text: str | None) -> Format:
    fmt = FORMATS.get((text or "glTF").strip().lower())
    if fmt is None:
        raise BadRequest("format must be glTF, stl, vtk (closed surface) or nrrd (labelmap)")
    return fmt


def _segment_ids(node, segment_id: str | None) -> list[str]:
    ids = list(node.GetSegmentation().GetSegmentIDs())
    if not ids:
        raise NotFound(f"{node.GetID()} has no segments")
    if segment_id is None:
        return ids
    if segment_id not in ids:
        raise NotFound(f"{node.GetID()} has no segment {segment_id[:80]!r}; list them with GET /slicer/segmentations")
    return [segment_id]


def export_labelmap(scene, segments_logic, node, segment_id: str | None) -> bytes:
    """The chosen segment (default: all) as a labelmap NRRD; label values follow the segment order."""
    from vtkmodules.vtkCommonCore import vtkStringArray

    ids = vtkStringArray()
    for sid in _segment_ids(node, segment_id):
        ids.InsertNextValue(sid)
    labelmap = scene.AddNewNodeByClass("vtkMRMLLabelMapVolumeNode", "__slicer_cloud_export")
    try:
        if not segments_logic.ExportSegmentsToLabelmapNode(node, ids, labelmap, None):
            raise InvalidData(f"{node.GetID()} could not be exported as a labelmap")
        return encode_nrrd(volume_to_array(labelmap), compress=True)
    finally:
        scene.RemoveNode(labelmap)


def export_surface(node, segment_id: str | None, fmt: Format, work_dir: Path) -> bytes:
    """The closed surface of one segment (default: the first) as glTF, VTK or STL bytes."""
    sid = _segment_ids(node, segment_id)[0]
    node.CreateClosedSurfaceRepresentation()
    from vtkmodules.vtkCommonDataModel import vtkPolyData

    surface = vtkPolyData()
    if not node.GetClosedSurfaceRepresentation(sid, surface) or surface.GetNumberOfPoints() == 0:
        raise InvalidData(f"segment {sid!r} has an empty surface")
    if fmt == "gltf":
        return _gltf(surface)
    if fmt == "vtk":
        from vtkmodules.vtkIOLegacy import vtkPolyDataWriter

        writer = vtkPolyDataWriter()
        writer.SetInputData(surface)
        writer.SetFileTypeToBinary()
        writer.WriteToOutputStringOn()
        writer.Write()
        output = writer.GetOutputStdString()
        return output if isinstance(output, bytes) else output.encode("latin-1")
    return _stl_lps(surface, work_dir)


def _gltf(surface) -> bytes:
    """A minimal glTF 2.0 document (one triangle mesh, positions + indices, data inline as base64)."""
    import base64
    import json

    import numpy as np
    from vtkmodules.util.numpy_support import vtk_to_numpy
    from vtkmodules.vtkFiltersCore import vtkTriangleFilter

    triangles = vtkTriangleFilter()
    triangles.SetInputData(surface)
    triangles.PassLinesOff()
    triangles.PassVertsOff()
    triangles.Update()
    mesh = triangles.GetOutput()
    points = vtk_to_numpy(mesh.GetPoints().GetData()).astype("<f4")
    indices = vtk_to_numpy(mesh.GetPolys().GetConnectivityArray()).astype("<u4")
    blobs = [points.tobytes(), indices.tobytes()]
    document = {
        "asset": {"version": "2.0", "generator": "slicer-cloud"},
        "scene": 0,
        "scenes": [{"nodes": [0]}],
        "nodes": [{"mesh": 0}],
        "meshes": [{"primitives": [{"attributes": {"POSITION": 0}, "indices": 1, "mode": 4}]}],
        "buffers": [
            {"byteLength": len(b), "uri": "data:application/octet-stream;base64," + base64.b64encode(b).decode()}
            for b in blobs
        ],
        "bufferViews": [
            {"buffer": 0, "byteLength": len(blobs[0]), "target": 34962},
            {"buffer": 1, "byteLength": len(blobs[1]), "target": 34963},
        ],
        "accessors": [
            {
                "bufferView": 0,
                "componentType": 5126,
                "count": len(points),
                "type": "VEC3",
                "min": np.min(points, axis=0).tolist(),
                "max": np.max(points, axis=0).tolist(),
            },
            {"bufferView": 1, "componentType": 5125, "count": len(indices), "type": "SCALAR"},
        ],
    }
    return json.dumps(document).encode()


def _stl_lps(surface, work_dir: Path) -> bytes:
    from vtkmodules.vtkCommonTransforms import vtkTransform
    from vtkmodules.vtkFiltersGeneral import vtkTransformPolyDataFilter
    from vtkmodules.vtkIOGeometry import vtkSTLWriter

    ras_to_lps = vtkTransform()
    ras_to_lps.Scale(-1, -1, 1)
    flip = vtkTransformPolyDataFilter()
    flip.SetTransform(ras_to_lps)
    flip.SetInputData(surface)
    with tempfile.TemporaryDirectory(dir=work_dir) as tmp:
        path = Path(tmp) / "segment.stl"
        writer = vtkSTLWriter()
        writer.SetInputConnection(flip.GetOutputPort())
        writer.SetFileTypeToBinary()
        writer.SetFileName(path.as_posix())
        if not writer.Write():
            raise InvalidData("the segment surface could not be written as STL")
        return path.read_bytes()
