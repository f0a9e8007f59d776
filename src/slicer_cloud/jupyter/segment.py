"""Segmentation by a processing module, run from the kernel's scene with a progress bar in the cell.

``scene.segment(vol, "threshold", lower=100)`` runs the built-in module of that name (``threshold``,
``otsu_segmentation``: every built-in that turns one volume into a labelmap) as a child process, exactly as the
server's jobs run it: the volume is written to a temporary NRRD, the keyword arguments are checked against the
module's SEM description and become its command line, the module's ``<filter-progress>`` reports drive the progress
bar, and the labelmap it writes comes back as a segmentation node (binary labelmap plus a closed surface for 3D
views). The temporary files are removed whatever happens; interrupting the cell stops the module.
"""

from __future__ import annotations

import functools
import queue
import tempfile
import threading
from pathlib import Path
from typing import Any

import numpy as np

from ..core.limits import Limits
from ..core.nrrd_codec import VolumeArray, array_to_volume, decode_nrrd, volume_to_array
from ..jobs.manager import JOB_ENV
from ..jobs.process import Limits as ProcessLimits
from ..jobs.process import ModuleProcess, Outcome
from ..jobs.scene_io import output_file_name, write_raw_nrrd
from ..sem.command import build_arguments
from ..sem.discovery import ModuleEntry, builtin_entries
from ..sem.model import Parameter
from ..sem.validate import validate_values
from .progress import Progress

COLOR = (0.95, 0.84, 0.57)
POLL_S = 0.05
# Share of the progress bar the module's own reports fill; the rest is writing the input and importing the result.
MODULE_SPAN = (0.05, 0.75)


@functools.lru_cache(maxsize=1)
def _builtins() -> dict[str, ModuleEntry]:
    return {entry.name: entry for entry in builtin_entries()}


def _volume_and_label(entry: ModuleEntry) -> tuple[Parameter, Parameter] | None:
    """The volume input and labelmap output of a module that turns one volume into a labelmap, else None."""
    description = entry.description
    required = [p for p in description.inputs if p.index is not None]
    labels = [p for p in description.outputs if p.tag == "image" and p.type == "label"]
    if len(required) != 1 or required[0].tag != "image" or required[0].type == "label" or len(labels) != 1:
        return None
    return required[0], labels[0]


def segmentation_methods() -> list[str]:
    """Names of the processing modules ``scene.segment`` can run."""
    return sorted(name for name, entry in _builtins().items() if _volume_and_label(entry) is not None)


def method_parameters(method: str) -> list[Parameter]:
    """The parameters of ``method`` that are given as keyword arguments (not its input and output files)."""
    return [p for p in _entry(method)[0].description.parameters if not p.is_data and not p.is_output and not p.hidden]


def _entry(method: str) -> tuple[ModuleEntry, Parameter, Parameter]:
    entry = _builtins().get(method)
    io = _volume_and_label(entry) if entry is not None else None
    if entry is None or io is None:
        what = f"{method!r} is not a module" if entry is None else f"{method!r} does not produce a labelmap"
        raise ValueError(f"{what}; segmentation methods: {', '.join(segmentation_methods())}")
    return entry, *io


def module_values(method: str, volume: Any, parameters: dict[str, Any]) -> dict[str, Any]:
    """The module's parsed values from keyword arguments; a ``ValueError`` names each bad keyword or value and
    lists the valid keywords. ``None`` means "not given" (the module's default)."""
    entry, source, _ = _entry(method)
    given = {k: v for k, v in parameters.items() if v is not None}
    valid = [p.name for p in method_parameters(method)]
    unknown = sorted(set(given) - set(valid))
    if unknown:
        names = ", ".join(repr(k) for k in unknown)
        raise ValueError(f"{method} has no parameter {names}; valid keywords: {', '.join(sorted(valid)) or 'none'}")
    if method == "threshold":
        given = _threshold_bounds(volume, given)
    values, problems = validate_values(entry.description, {**given, source.name: "input"})
    if problems:
        raise ValueError(f"{method}: " + "; ".join(problems))
    values.pop(source.name, None)
    return values


def _threshold_bounds(volume: Any, given: dict[str, Any]) -> dict[str, Any]:
    """``lower``/``upper`` where one is left out: the volume's own minimum/maximum (the module's defaults would
    leave out everything below 1)."""
    if "lower" not in given and "upper" not in given:
        raise ValueError("threshold needs lower and/or upper")
    if "lower" not in given or "upper" not in given:
        voxels = volume_to_array(volume, copy=False).voxels
        given = {"lower": float(voxels.min()), "upper": float(voxels.max()), **given}
    try:
        wrong_way = float(given["lower"]) > float(given["upper"])
    except (TypeError, ValueError):
        return given  # validate_values says what is wrong with the value
    if wrong_way:
        raise ValueError("lower must not be greater than upper")
    return given


def run_module(
    entry: ModuleEntry, arguments: list[str], folder: Path, bar: Progress, interval: float = POLL_S
) -> Outcome:
    """Run the module in a child process, its progress shown on ``bar`` from this thread (widgets are updated
    from the thread that runs the cell): every stage the module names, and its latest value at each poll.
    Interrupting the cell stops the process tree."""
    reports: queue.SimpleQueue[tuple[float, str]] = queue.SimpleQueue()
    process = ModuleProcess(
        [*entry.command, *arguments],
        cwd=folder,
        limits=ProcessLimits(),
        env=JOB_ENV,
        on_progress=lambda value, stage: reports.put((value, stage)),
    )
    result: list[Outcome] = []
    worker = threading.Thread(target=lambda: result.append(process.run()), name=f"segment-{entry.name}", daemon=True)
    worker.start()
    low, high = MODULE_SPAN
    stage: str | None = None

    def show(value: float, message: str) -> None:
        bar.update(low + (high - low) * value, message or entry.description.title)

    try:
        while True:
            worker.join(interval)
            done = not worker.is_alive()
            latest = None
            while not reports.empty():
                latest = reports.get()
                if latest[1] != stage:
                    stage = latest[1]
                    show(*latest)
                    latest = None
            if latest is not None:
                show(*latest)
            if done:
                break
    except BaseException:  # KeyboardInterrupt from "interrupt the kernel": stop the module too
        process.cancel()
        worker.join()
        raise
    return result[0] if result else Outcome("failed", None, "the module could not run")


def module_segmentation(
    app,
    volume,
    method: str = "threshold",
    *,
    parameters: dict[str, Any] | None = None,
    name: str | None = None,
    progress: bool = True,
    segmentation=None,
):
    """Run the processing module ``method`` on ``volume``; return the (new or refilled) segmentation node."""
    entry, source, label = _entry(method)
    values = module_values(method, volume, parameters or {})
    title = entry.description.title or method
    with Progress(title, enabled=progress) as bar, tempfile.TemporaryDirectory(prefix="slicer-cloud-segment-") as tmp:
        folder = Path(tmp)
        bar.update(0.01, "writing the volume")
        input_path = folder / "input.nrrd"
        write_raw_nrrd(volume, input_path)
        output_path = folder / output_file_name(label)
        values.update({source.name: str(input_path), label.name: str(output_path)})
        outcome = run_module(entry, build_arguments(entry.description, values), folder, bar)
        if outcome.status != "succeeded":
            raise RuntimeError(f"{title} failed: {outcome.reason}")
        if not output_path.is_file():
            raise RuntimeError(f"{title} wrote no labelmap")
        bar.update(MODULE_SPAN[1], "importing the segment")
        result = decode_nrrd(output_path.read_bytes(), Limits())
        segmentation = _import_labelmap(app, volume, result, method, name, segmentation)
        bar.update(0.85, "building the 3D surface")
        segmentation.CreateClosedSurfaceRepresentation()
    return segmentation


def _import_labelmap(app, volume, labels: VolumeArray, method: str, name: str | None, segmentation):
    scene = app.scene
    labelmap = scene.AddNewNodeByClass("vtkMRMLLabelMapVolumeNode", f"__{method}")
    try:
        voxels = labels.voxels.astype(np.uint8, copy=False)
        array_to_volume(scene, VolumeArray(voxels, labels.ijk_to_ras), node=labelmap)
        if segmentation is None:
            segmentation = scene.AddNewNodeByClass("vtkMRMLSegmentationNode", name or f"{volume.GetName()} {method}")
            segmentation.CreateDefaultDisplayNodes()
            segmentation.SetReferenceImageGeometryParameterFromVolumeNode(volume)
        else:
            segmentation.GetSegmentation().RemoveAllSegments()
        if not app.segmentations_logic.ImportLabelmapToSegmentationNode(labelmap, segmentation):
            raise RuntimeError("the labelmap could not be imported into the segmentation")
    finally:
        scene.RemoveNode(labelmap)
    seg = segmentation.GetSegmentation()
    count = seg.GetNumberOfSegments()
    base = name or method
    for index in range(count):
        segment = seg.GetNthSegment(index)
        segment.SetName(base if count == 1 else f"{base} {index + 1}")
        if count == 1:
            segment.SetColor(*COLOR)
    display = segmentation.GetDisplayNode()
    if display is not None:
        display.SetVisibility(True)
        display.SetVisibility3D(True)
        display.SetOpacity2DFill(0.4)
    return segmentation
