"""Segments of segmentation nodes for the versioned API."""

from __future__ import annotations

from .node_info import get_node

SEGMENTATION = "vtkMRMLSegmentationNode"


def describe_segmentation(node) -> dict:
    """ID, name and segments (ID, name, colour) of a segmentation node."""
    segmentation = node.GetSegmentation()
    segments = []
    for index in range(segmentation.GetNumberOfSegments()):
        segment = segmentation.GetNthSegment(index)
        segments.append(
            {
                "id": segmentation.GetNthSegmentID(index),
                "name": segment.GetName() or "",
                "color": list(segment.GetColor()),
            }
        )
    return {"id": node.GetID(), "name": node.GetName() or "", "segments": segments}


def list_segmentations(scene) -> list[dict]:
    collection = scene.GetNodesByClass(SEGMENTATION)
    return [describe_segmentation(collection.GetItemAsObject(i)) for i in range(collection.GetNumberOfItems())]


def segmentation_node(scene, node_id: str):
    return get_node(scene, node_id, SEGMENTATION)
