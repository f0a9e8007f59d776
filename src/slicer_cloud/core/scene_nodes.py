"""Plain descriptions of scene nodes for clients."""

from __future__ import annotations

SAVABLE = {
    "vtkMRMLScalarVolumeNode": "volume",
    "vtkMRMLLabelMapVolumeNode": "volume",
    "vtkMRMLSegmentationNode": "segmentation",
    "vtkMRMLModelNode": "model",
}


def list_nodes(scene, *, savable_only: bool = True) -> list[dict[str, str]]:
    """ID, name, class and kind of the data nodes of a scene (volumes, segmentations, models)."""
    found = []
    for i in range(scene.GetNumberOfNodes()):
        node = scene.GetNthNode(i)
        kind = SAVABLE.get(node.GetClassName())
        if kind is None and savable_only:
            continue
        if node.GetHideFromEditors() and savable_only:
            continue
        found.append({"id": node.GetID(), "name": node.GetName() or "", "class": node.GetClassName(), "kind": kind})
    return found
