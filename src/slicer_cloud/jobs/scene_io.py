"""Moving job data between the scene and files: inputs written for the child process (scene nodes saved with the
session's loader, data-root files resolved inside the root), outputs loaded back as new nodes and optionally saved
into the data root. Every function here runs on the session's event-loop thread."""

from __future__ import annotations

import csv
import shutil
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..core.image_headers import check_image_file
from ..core.nrrd_codec import decode_nrrd, stream_parts, volume_to_array
from ..core.paths import split_client_path
from ..core.volume_files import check_geometry
from ..errors import SlicerCloudError
from ..sem.model import ModuleDescription, Parameter

if TYPE_CHECKING:
    from ..core.session import Session

MAX_TABLE_ROWS = 10000
NODE_SUFFIX = {"image": ".nrrd", "geometry": ".vtk"}
NODE_CLASSES = {"image": "vtkMRMLVolumeNode", "geometry": "vtkMRMLModelNode"}


def output_file_name(param: Parameter) -> str:
    """The file a module writes an output to, in the job folder (labelmaps as .seg.nrrd: they load as
    segmentations, which every view shows over the background volume)."""
    if param.tag == "image":
        return f"{param.name}.seg.nrrd" if param.type == "label" else f"{param.name}.nrrd"
    if param.tag == "geometry":
        return f"{param.name}.vtk"
    if param.tag == "table":
        return f"{param.name}.csv"
    if param.tag == "transform":
        return f"{param.name}.h5"
    if param.tag == "pointfile":
        return f"{param.name}.fcsv"
    if param.tag == "directory":
        return param.name
    suffix = param.file_extensions[0] if param.file_extensions else ".dat"
    return f"{param.name}{suffix if suffix.startswith('.') else '.' + suffix}"


def input_reference(value: Any) -> tuple[str, str]:
    """``("node", id)`` or ``("path", data-root path)`` from what a client sent for an input."""
    if isinstance(value, dict):
        if isinstance(value.get("node"), str):
            return "node", value["node"]
        if isinstance(value.get("path"), str):
            return "path", value["path"]
        raise ValueError('give {"node": "<node ID>"} or {"path": "<file in the data folder>"}')
    if isinstance(value, str):
        return ("node", value) if value.startswith("vtkMRML") else ("path", value)
    raise ValueError("give a scene node ID or a path in the data folder")


def check_inputs(session: Session, description: ModuleDescription, values: dict[str, Any]) -> list[str]:
    """Problems with the inputs a client named: missing nodes, wrong node classes, unsafe or missing files."""
    problems = []
    for param in description.inputs:
        if values.get(param.name) is None:
            continue
        try:
            kind, ref = input_reference(values[param.name])
        except ValueError as exc:
            problems.append(f"{param.name}: {exc}")
            continue
        if kind == "node":
            node = session.scene.GetNodeByID(ref)
            wanted = NODE_CLASSES.get(param.tag)
            if node is None:
                problems.append(f"{param.name}: no node {ref!r} in the scene")
            elif wanted is None:
                problems.append(f"{param.name}: a <{param.tag}> input must be a file in the data folder")
            elif not (node.IsA(wanted) or (param.tag == "image" and node.IsA("vtkMRMLSegmentationNode"))):
                problems.append(f"{param.name}: {ref} is a {node.GetClassName()}, expected a {wanted}")
            continue
        if any(part.startswith(".") and part not in (".", "..") for part in ref.split("/")):
            problems.append(f"{param.name}: files in hidden folders cannot be inputs; use a path without '.' parts")
            continue
        try:
            path = session.data_root.resolve(ref, must_exist=True)
            if param.tag == "image" and path.is_file():
                limits = session.limits
                check_image_file(path, max_voxels=limits.max_image_voxels, max_bytes=limits.max_image_bytes)
        except SlicerCloudError as exc:
            problems.append(f"{param.name}: {exc.message}")
    return problems


def check_outputs(description: ModuleDescription, values: dict[str, Any]) -> list[str]:
    """Problems with output options: ``{"name": ..., "save": "folder/file.nrrd"}``, a save path, or false."""
    problems = []
    for param in description.outputs:
        value = values.get(param.name)
        if value is None or isinstance(value, bool):
            continue
        save = value.get("save") if isinstance(value, dict) else value
        if isinstance(value, dict) and not set(value) <= {"name", "save"}:
            problems.append(f"{param.name}: output options are name and save")
        name = value.get("name") if isinstance(value, dict) else None
        if name is not None and not (isinstance(name, str) and 0 < len(name) <= 128):
            problems.append(f"{param.name}: name must be text of 1-128 characters")
        if save is None:
            continue
        if not isinstance(save, str):
            problems.append(f"{param.name}: save must be a path in the data folder")
            continue
        try:
            parts = split_client_path(save)
            if not parts or any(p.startswith(".") for p in parts):
                problems.append(f"{param.name}: save to a file name not starting with '.'")
        except SlicerCloudError as exc:
            problems.append(f"{param.name}: {exc.message}")
    return problems


def write_inputs(session: Session, description: ModuleDescription, values: dict[str, Any], folder: Path) -> dict:
    """Module arguments for the inputs: scene nodes saved into ``folder``, data-root files by their server path."""
    arguments: dict[str, str] = {}
    for param in description.inputs:
        if values.get(param.name) is None:
            continue
        kind, ref = input_reference(values[param.name])
        if kind == "node":
            dest = folder / f"{param.name}{NODE_SUFFIX[param.tag]}"
            node = session.scene.GetNodeByID(ref)
            if _is_plain_scalar_volume(node):
                write_raw_nrrd(node, dest)
            else:
                session.loader.save_node(ref, dest)
            arguments[param.name] = str(dest)
        else:
            arguments[param.name] = str(session.data_root.resolve(ref, must_exist=True))
    return arguments


def _is_plain_scalar_volume(node: Any) -> bool:
    image = node.GetImageData() if node is not None and node.IsA("vtkMRMLScalarVolumeNode") else None
    return image is not None and image.GetNumberOfScalarComponents() == 1 and node.GetParentTransformNode() is None


def write_raw_nrrd(node: Any, dest: Path) -> None:
    """A scalar volume node as an uncompressed NRRD, straight from its voxel buffer: on the scene thread, so no
    compression (the storage node's default gzip costs seconds for a 256^3 volume)."""
    header, voxels = stream_parts(volume_to_array(node, copy=False))
    with dest.open("wb") as out:
        out.write(header)
        out.write(voxels)


def new_volume_node(scene: Any, volume: Any, name: str) -> Any:
    """A new scalar volume node holding ``volume``, its window/level set from percentiles of a subsample: Slicer's
    automatic window/level scans every voxel on the scene thread (over a second for a 256^3 float volume)."""
    import numpy as np

    voxels = volume.voxels
    step = max(1, round((voxels.size / 2e5) ** (1 / 3)))
    low, high = (float(v) for v in np.percentile(voxels[::step, ::step, ::step], [0.5, 99.5]))
    from vtkmodules.util.numpy_support import get_vtk_array_type, numpy_to_vtk
    from vtkmodules.vtkCommonDataModel import vtkImageData
    from vtkmodules.vtkCommonMath import vtkMatrix4x4

    voxels = np.ascontiguousarray(voxels)
    image = vtkImageData()
    image.SetDimensions(voxels.shape[2], voxels.shape[1], voxels.shape[0])
    scalars = numpy_to_vtk(voxels.reshape(-1), deep=True, array_type=get_vtk_array_type(voxels.dtype))
    scalars.SetName("ImageScalars")
    image.GetPointData().SetScalars(scalars)
    node = scene.AddNewNodeByClass("vtkMRMLScalarVolumeNode", name)
    node.CreateDefaultDisplayNodes()
    display = node.GetDisplayNode()
    display.SetAutoWindowLevel(False)
    display.SetWindowLevelMinMax(low, high if high > low else low + 1)
    matrix = vtkMatrix4x4()
    for r in range(4):
        for c in range(4):
            matrix.SetElement(r, c, float(volume.ijk_to_ras[r, c]))
    node.SetIJKToRASMatrix(matrix)
    node.SetAndObserveImageData(image)
    return node


def output_options(value: Any) -> tuple[bool, str | None, str | None]:
    """(wanted, node name, save path) of an output option."""
    if value is False:
        return False, None, None
    if isinstance(value, dict):
        return True, value.get("name"), value.get("save")
    if isinstance(value, str):
        return True, None, value
    return True, None, None


def read_table(path: Path) -> dict[str, Any]:
    with path.open(newline="", encoding="utf-8", errors="replace") as f:
        rows = list(csv.reader(f))
    if not rows:
        return {"columns": [], "rows": []}
    return {"columns": rows[0], "rows": rows[1 : MAX_TABLE_ROWS + 1]}


def read_return_values(path: Path) -> dict[str, str]:
    values = {}
    if path.is_file():
        for line in path.read_text(encoding="utf-8", errors="replace").splitlines():
            name, sep, value = line.partition("=")
            if sep:
                values[name.strip()] = value.strip()
    return values


def load_outputs(
    session: Session, description: ModuleDescription, options: dict[str, Any], files: dict[str, Path], prefix: str
) -> tuple[dict[str, list[str]], dict[str, str], dict[str, Any]]:
    """Load produced outputs into the scene as new nodes; save requested ones into the data root.

    Returns (node IDs by parameter, saved data-root paths by parameter, tables by parameter)."""
    nodes: dict[str, list[str]] = {}
    saved: dict[str, str] = {}
    tables: dict[str, Any] = {}
    for param in description.outputs:
        path = files.get(param.name)
        if path is None or not path.exists():
            continue
        _, name, save = output_options(options.get(param.name))
        if save:
            dest = session.data_root.new_file_path(save, overwrite=True)
            if path.is_dir():
                shutil.copytree(path, dest, dirs_exist_ok=True)
            else:
                shutil.copyfile(path, dest)
            saved[param.name] = session.data_root.relative(dest)
        if param.tag == "table" and path.suffix == ".csv":
            tables[param.name] = read_table(path)
        if param.tag not in ("image", "geometry"):
            continue
        node_name = name or f"{prefix} {param.label}".strip()
        if param.tag == "image" and param.type != "label" and path.name.endswith(".nrrd"):
            # The codec of NRRD uploads: header checked against the limits, voxels straight into a new node.
            volume = check_geometry(decode_nrrd(path.read_bytes(), session.limits))
            nodes[param.name] = [new_volume_node(session.scene, volume, node_name).GetID()]
            continue
        result = session.load(path, show=False)
        # The data nodes (volume, segmentation, model); their storage and display nodes come along.
        ids = [i for i in result.node_ids if _is_data_node(session, i)]
        for node_id in ids:
            session.scene.GetNodeByID(node_id).SetName(node_name)
        nodes[param.name] = ids
    return nodes, saved, tables


def _is_data_node(session: Session, node_id: str) -> bool:
    node = session.scene.GetNodeByID(node_id)
    return node is not None and node.IsA("vtkMRMLDisplayableNode")
