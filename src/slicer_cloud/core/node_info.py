"""Scene nodes for the versioned API: find by ID, list with filters, describe, remove data nodes only."""

from __future__ import annotations

from collections.abc import Mapping

from ..errors import BadRequest, NotFound
from .scene_nodes import SAVABLE
from .scene_query import filter_nodes, remove_nodes

DATA_CLASS = "vtkMRMLStorableNode"
VIEW_CLASSES = ("vtkMRMLCameraNode",)  # storable, but they belong to the views


def describe(node) -> dict[str, str | None]:
    """ID, name, MRML class and kind (volume, segmentation, model or None) of a node."""
    return {
        "id": node.GetID(),
        "name": node.GetName() or "",
        "class": node.GetClassName(),
        "kind": SAVABLE.get(node.GetClassName()),
    }


def is_data_node(node) -> bool:
    """Volumes, models, segmentations, markups, transforms... - not views, displays or hidden helpers."""
    if not node.IsA(DATA_CLASS) or node.GetHideFromEditors() or node.GetSingletonTag():
        return False
    return not any(node.IsA(name) for name in VIEW_CLASSES)


def get_node(scene, node_id: str, class_name: str = "vtkMRMLNode"):
    """The node with ``node_id`` that IsA ``class_name``, or :class:`NotFound`."""
    if not node_id or len(node_id) > 200 or "\x00" in node_id:
        raise BadRequest("give a node ID such as vtkMRMLScalarVolumeNode1")
    node = scene.GetNodeByID(node_id)
    if node is None or not node.IsA(class_name):
        kind = class_name.removeprefix("vtkMRML").removesuffix("Node") or "node"
        raise NotFound(f"no {kind} with ID {node_id[:80]!r}; list them with GET /api/v1/nodes")
    return node


def find_nodes(scene, query: Mapping[str, str]) -> list:
    """Nodes by ``class`` (IsA) and exact ``name``; without ``class`` only data nodes."""
    wanted = {key: query[key] for key in ("class", "name") if query.get(key, "").strip()}
    nodes = filter_nodes(scene, wanted)
    if "class" not in wanted:
        nodes = [node for node in nodes if is_data_node(node)]
    return nodes


def delete_data_node(scene, node_id: str) -> list[str]:
    """Remove one data node (and nothing the viewers depend on); return the removed IDs."""
    node = get_node(scene, node_id)
    if not is_data_node(node):
        raise BadRequest(
            f"{node_id[:80]!r} is not a data node; only volumes, models, segmentations, markups, "
            "transforms and tables can be removed"
        )
    return remove_nodes(scene, [node])
