"""Finding, describing, removing and reloading scene nodes, as Slicer's WebServer ``/slicer/mrml`` does.

Filters follow the original: ``id`` alone selects one node; otherwise ``class`` (default ``vtkMRMLNode``, by IsA)
and then ``name`` (exact). Views, layouts and other singleton nodes are never removed: they belong to the viewers.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping
from pathlib import Path

from ..errors import BadRequest, NotFound
from .image_headers import check_image_file
from .limits import Limits
from .paths import DataRoot

logger = logging.getLogger(__name__)

MAX_FILTER_CHARS = 1024


def _filter_value(query: Mapping[str, str], key: str) -> str | None:
    value = query.get(key)
    if value is None:
        return None
    value = value.strip()
    if len(value) > MAX_FILTER_CHARS or "\x00" in value:
        raise BadRequest(f"the '{key}' filter is too long or holds a NUL character")
    return value


def filter_nodes(scene, query: Mapping[str, str]) -> list:
    """Nodes selected by ``id``, or by ``class`` and ``name`` (the original's getNodesFilteredByQuery)."""
    node_id = _filter_value(query, "id")
    if node_id is not None:
        node = scene.GetNodeByID(node_id) if node_id else None
        return [node] if node is not None else []
    class_name = _filter_value(query, "class") or "vtkMRMLNode"
    collection = scene.GetNodesByClass(class_name)
    nodes = [collection.GetItemAsObject(i) for i in range(collection.GetNumberOfItems())]
    name = _filter_value(query, "name")
    if name is not None:
        nodes = [node for node in nodes if node.GetName() == name]
    return nodes


def has_filter(query: Mapping[str, str]) -> bool:
    return any(key in query for key in ("id", "class", "name"))


def require_nodes(scene, query: Mapping[str, str]) -> list:
    nodes = filter_nodes(scene, query)
    if not nodes:
        raise NotFound("no nodes matched the filter criteria; list them with GET /slicer/mrml/ids")
    return nodes


def node_properties(node) -> dict:
    """Properties of a node as a nested dict, parsed from its PrintSelf text like the original."""
    from .node_properties import parse_print_self

    return parse_print_self(str(node))


def remove_nodes(scene, nodes: list) -> list[str]:
    """Remove the given nodes except singletons (views, layouts, crosshair); return the removed IDs."""
    removed = []
    for node in nodes:
        if node.GetSingletonTag() or node.GetScene() is None:
            continue
        removed.append(node.GetID())
        scene.RemoveNode(node)
    return removed


def clear_data(scene) -> list[str]:
    """Remove every data node (volumes, models, segmentations, markups, transforms, tables...)."""
    collection = scene.GetNodesByClass("vtkMRMLStorableNode")
    nodes = [collection.GetItemAsObject(i) for i in range(collection.GetNumberOfItems())]
    return remove_nodes(scene, nodes)


def reload_nodes(nodes: list, root: DataRoot, limits: Limits) -> list[str]:
    """Re-read nodes from their files, only files inside the data root and after the same header checks."""
    reloaded = []
    for node in nodes:
        storage = node.GetStorageNode() if hasattr(node, "GetStorageNode") else None
        file_name = storage.GetFileName() if storage is not None else None
        if not file_name:
            continue
        try:
            path = root.resolve(root.relative(Path(file_name)), must_exist=True)
        except Exception:  # outside the root, vanished, or an unsafe name: skip as the original skips
            logger.info("not reloading %s: its file is not inside the data root", node.GetID())
            continue
        check_image_file(path, max_voxels=limits.max_image_voxels, max_bytes=limits.max_image_bytes)
        if storage.ReadData(node):
            reloaded.append(node.GetID())
    return reloaded


def data_node_ids(scene, node_ids: list[str]) -> list[str]:
    """The data nodes (volumes, models, segmentations, markups...) among ``node_ids``, without display/storage
    helpers - what the original's loadNodeFromFile returns."""
    nodes = [scene.GetNodeByID(i) for i in node_ids]
    return [n.GetID() for n in nodes if n is not None and n.IsA("vtkMRMLStorableNode") and not n.GetHideFromEditors()]


def names_and_ids(scene, class_names: list[str]) -> list[dict[str, str]]:
    """``[{"name", "id"}]`` of the nodes of the given classes (exact class, as the original's getNodes)."""
    found = []
    for class_name in class_names:
        collection = scene.GetNodesByClass(class_name)
        for i in range(collection.GetNumberOfItems()):
            node = collection.GetItemAsObject(i)
            if node.GetClassName() == class_name:
                found.append({"name": node.GetName(), "id": node.GetID()})
    return found


def list_volumes(scene) -> list[dict[str, str]]:
    return names_and_ids(scene, ["vtkMRMLScalarVolumeNode", "vtkMRMLLabelMapVolumeNode"])


def first_node(scene, class_name: str, node_id: str | None):
    """The node with ``node_id``, or the first node of ``class_name`` when no ID is given."""
    if node_id:
        node = scene.GetNodeByID(node_id)
        if node is None or not node.IsA(class_name):
            raise NotFound(f"no {class_name.removeprefix('vtkMRML')} with ID {node_id[:80]!r}")
        return node
    collection = scene.GetNodesByClass(class_name)
    if collection.GetNumberOfItems() == 0:
        raise NotFound(f"the scene has no {class_name.removeprefix('vtkMRML')}; load or send one first")
    return collection.GetItemAsObject(0)


def fiducials(scene) -> dict[str, dict]:
    """Point lists with name, color, glyph scale and control points, as the original's ``/fiducials``."""
    result = {}
    collection = scene.GetNodesByClass("vtkMRMLMarkupsFiducialNode")
    for i in range(collection.GetNumberOfItems()):
        node = collection.GetItemAsObject(i)
        display = node.GetDisplayNode()
        markups = []
        for index in range(node.GetNumberOfControlPoints()):
            position = [0.0, 0.0, 0.0]
            node.GetNthControlPointPosition(index, position)
            markups.append({"label": node.GetNthControlPointLabel(index), "position": position})
        result[node.GetID()] = {
            "name": node.GetName(),
            "color": list(display.GetSelectedColor()) if display else None,
            "scale": display.GetGlyphScale() if display else None,
            "markups": markups,
        }
    return result


def set_fiducial(scene, node_id: str | None, index: int, ras: tuple[float, float, float]) -> None:
    """Move control point ``index`` of a point list (the first one when no ID is given)."""
    node = first_node(scene, "vtkMRMLMarkupsFiducialNode", node_id)
    if not 0 <= index < node.GetNumberOfControlPoints():
        raise NotFound(f"{node.GetID()} has no control point {index} (it has {node.GetNumberOfControlPoints()})")
    node.SetNthControlPointPosition(index, *ras)


def segmentations(scene) -> dict[str, dict]:
    """Segmentation nodes with their names and segment IDs."""
    result = {}
    collection = scene.GetNodesByClass("vtkMRMLSegmentationNode")
    for i in range(collection.GetNumberOfItems()):
        node = collection.GetItemAsObject(i)
        ids = node.GetSegmentation().GetSegmentIDs()
        result[node.GetID()] = {"name": node.GetName(), "segmentIDs": list(ids)}
    return result


def safe_name(text: str) -> str:
    """A node name from client text: printable, at most 128 characters."""
    return re.sub(r"[\x00-\x1f\x7f]", "", text)[:128] or "Volume"
