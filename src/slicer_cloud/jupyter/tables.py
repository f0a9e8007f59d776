"""Scene contents as pandas DataFrames: nodes, markups control points, segment statistics, table nodes."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from ..core.nrrd_codec import volume_to_array
from ..core.scene_nodes import list_nodes

if TYPE_CHECKING:
    import pandas as pd


def nodes_frame(scene) -> pd.DataFrame:
    import pandas as pd

    return pd.DataFrame(list_nodes(scene), columns=["id", "name", "class", "kind"])


def point_rows(name: str, points: list[dict]) -> list[dict]:
    return [
        {"list": name, "label": p["label"], "r": p["position"][0], "a": p["position"][1], "s": p["position"][2]}
        for p in points
    ]


def markups_frame(scene, node=None) -> pd.DataFrame:
    import pandas as pd

    from ..core.markups import describe_point_list, list_point_lists

    lists = [describe_point_list(node)] if node is not None else list_point_lists(scene)
    rows = [row for described in lists for row in point_rows(described["name"], described["points"])]
    return pd.DataFrame(rows, columns=["list", "label", "r", "a", "s"])


def segment_statistics(app, segmentation, volume=None) -> pd.DataFrame:
    """Voxel counts, volumes and (with ``volume``) intensity statistics per segment."""
    import pandas as pd
    from vtkmodules.vtkCommonCore import vtkStringArray

    scene = app.scene
    seg = segmentation.GetSegmentation()
    rows = []
    for index in range(seg.GetNumberOfSegments()):
        segment_id = seg.GetNthSegmentID(index)
        ids = vtkStringArray()
        ids.InsertNextValue(segment_id)
        labelmap = scene.AddNewNodeByClass("vtkMRMLLabelMapVolumeNode", "__statistics")
        try:
            if not app.segmentations_logic.ExportSegmentsToLabelmapNode(segmentation, ids, labelmap, volume):
                raise RuntimeError(f"segment {segment_id} could not be exported")
            mask_volume = volume_to_array(labelmap)
        finally:
            scene.RemoveNode(labelmap)
        mask = mask_volume.voxels > 0
        voxel_mm3 = abs(float(np.linalg.det(mask_volume.ijk_to_ras[:3, :3])))
        count = int(mask.sum())
        row = {
            "segment": seg.GetNthSegment(index).GetName(),
            "voxels": count,
            "volume_mm3": count * voxel_mm3,
            "volume_ml": count * voxel_mm3 / 1000.0,
        }
        if volume is not None:
            values = volume_to_array(volume, copy=False).voxels
            inside = values[mask] if values.shape == mask.shape else np.array([])
            row.update(
                mean=float(inside.mean()) if inside.size else np.nan,
                std=float(inside.std()) if inside.size else np.nan,
                min=float(inside.min()) if inside.size else np.nan,
                max=float(inside.max()) if inside.size else np.nan,
            )
        rows.append(row)
    return pd.DataFrame(rows)


def table_frame(node) -> pd.DataFrame:
    """A ``vtkMRMLTableNode``'s columns as a DataFrame."""
    import pandas as pd
    from vtkmodules.util.numpy_support import vtk_to_numpy

    table = node.GetTable()
    data = {}
    for c in range(table.GetNumberOfColumns()):
        column = table.GetColumn(c)
        if hasattr(column, "GetNumberOfComponents") and column.IsNumeric():
            data[column.GetName() or f"column{c}"] = vtk_to_numpy(column).copy()
        else:
            data[column.GetName() or f"column{c}"] = [column.GetValue(r) for r in range(column.GetNumberOfTuples())]
    return pd.DataFrame(data)
