"""Batch runs: one module over many input files on Dask (a LocalCluster, or any ``distributed`` scheduler).

Each input becomes one Dask task that runs the module in a child process on a worker (the same runner as jobs, with
the same timeout and memory limit). A failing input is reported and the others go on. Outputs that exist and are
newer than their input are skipped, so an interrupted batch resumes where it stopped.
"""

from __future__ import annotations

import csv
import glob
import json
import logging
import os
import sys
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from ..errors import BadRequest
from ..sem.command import build_arguments
from ..sem.discovery import ModuleEntry
from ..sem.model import Parameter
from ..sem.validate import validate_values
from .process import Limits, ModuleProcess

logger = logging.getLogger(__name__)

VOLUME_SUFFIXES = (".nii.gz", ".nii", ".nrrd", ".nhdr", ".mha", ".mhd")
# One task per core: the modules' own threads would fight over the cores the other tasks use.
SINGLE_THREADED = {
    "ITK_GLOBAL_DEFAULT_NUMBER_OF_THREADS": "1",
    "OMP_NUM_THREADS": "1",
    "OPENBLAS_NUM_THREADS": "1",
    "MKL_NUM_THREADS": "1",
}


@dataclass
class BatchResult:
    """What happened to one input."""

    input: str
    status: str  # succeeded, failed, skipped
    seconds: float = 0.0
    outputs: dict[str, str] = field(default_factory=dict)
    error: str = ""


@dataclass
class BatchPlan:
    """The validated work of a batch: module command, per-input arguments and outputs."""

    entry: ModuleEntry
    primary: Parameter
    values: dict[str, Any]
    inputs: list[Path]
    output_dir: Path

    def outputs_for(self, source: Path) -> dict[str, Path]:
        data_outputs = [p for p in self.entry.description.outputs if p.is_data]
        stem, suffix = split_suffix(source)
        found = {}
        for param in data_outputs:
            ext = output_suffix(param, suffix)
            name = f"{stem}{ext}" if len(data_outputs) == 1 else f"{stem}_{param.name}{ext}"
            found[param.name] = self.output_dir / name
        return found

    def is_done(self, source: Path) -> bool:
        outputs = self.outputs_for(source)
        mtime = source.stat().st_mtime
        return bool(outputs) and all(p.exists() and p.stat().st_mtime >= mtime for p in outputs.values())


def split_suffix(path: Path) -> tuple[str, str]:
    name = path.name
    for suffix in VOLUME_SUFFIXES:
        if name.lower().endswith(suffix):
            return name[: -len(suffix)], suffix
    return path.stem, path.suffix


def output_suffix(param: Parameter, input_suffix: str) -> str:
    if param.tag == "image":
        return input_suffix if input_suffix in VOLUME_SUFFIXES and input_suffix != ".nhdr" else ".nrrd"
    if param.tag == "geometry":
        return ".vtk"
    if param.tag == "table":
        return ".csv"
    if param.tag == "transform":
        return ".h5"
    if param.file_extensions:
        ext = param.file_extensions[0]
        return ext if ext.startswith(".") else "." + ext
    return ".dat" if param.tag != "directory" else ""


def parse_params(pairs: list[str]) -> dict[str, str]:
    values = {}
    for pair in pairs:
        name, sep, value = pair.partition("=")
        if not sep or not name.strip():
            raise BadRequest(f"--param {pair!r}: write NAME=VALUE")
        values[name.strip()] = value
    return values


def plan_batch(entry: ModuleEntry, pattern: str, output_dir: Path, params: dict[str, str]) -> BatchPlan:
    """Validate everything before anything runs; raise :class:`BadRequest` listing every problem."""
    description = entry.description
    primary = next((p for p in sorted(description.inputs, key=lambda p: (p.index is None, p.index or 0))), None)
    if primary is None:
        raise BadRequest(f"{entry.name} has no input file parameter to run over")
    inputs = sorted(Path(p) for p in glob.glob(os.path.expanduser(pattern), recursive=True) if Path(p).is_file())
    problems = []
    if not inputs:
        problems.append(f"--input {pattern!r} matches no files")
    if primary.name in params:
        problems.append(f"{primary.name} comes from --input; do not give it as --param")
    values, found = validate_values(description, {**params, primary.name: "input"})
    problems += found
    for param in description.inputs:
        if param is not primary and param.name in params and not Path(params[param.name]).exists():
            problems.append(f"{param.name}: {params[param.name]} does not exist")
    if problems:
        raise BadRequest("; ".join(problems))
    values.pop(primary.name, None)
    for param in description.inputs:
        if param.name in values:
            values[param.name] = str(Path(values[param.name]).resolve())
    return BatchPlan(entry=entry, primary=primary, values=values, inputs=inputs, output_dir=output_dir.resolve())


def module_command(entry: ModuleEntry) -> list[str]:
    """The command as a worker runs it: built-ins with the worker's own Python."""
    if entry.source == "builtin":
        return ["{python}", "-m", f"slicer_cloud.modules.{entry.name}"]
    return list(entry.command)


def run_one(command: list[str], arguments: list[str], outputs: dict[str, str], limits: Limits) -> dict[str, Any]:
    """A Dask task: run the module on one input in a child process (on whichever worker runs the task)."""
    command = [sys.executable if part == "{python}" else part for part in command]
    for path in outputs.values():
        Path(path).parent.mkdir(parents=True, exist_ok=True)
    partial = {name: f"{path}.partial{split_suffix(Path(path))[1]}" for name, path in outputs.items()}
    args = [partial.get(a.removeprefix("@out:"), a) if a.startswith("@out:") else a for a in arguments]
    workdir = Path(next(iter(outputs.values()), ".")).parent
    started = time.monotonic()
    process = ModuleProcess([*command, *args], cwd=workdir, limits=limits, env=SINGLE_THREADED)
    outcome = process.run()
    seconds = round(time.monotonic() - started, 3)
    if outcome.status == "succeeded":
        missing = [n for n, p in partial.items() if not Path(p).exists()]
        if missing:
            outcome.status, outcome.reason = "failed", f"the module did not write {', '.join(missing)}"
    if outcome.status != "succeeded":
        for p in partial.values():
            Path(p).unlink(missing_ok=True)
        return {"status": "failed", "seconds": seconds, "error": outcome.reason}
    for name, p in partial.items():
        os.replace(p, outputs[name])  # only complete outputs carry the final name (resume relies on it)
    return {"status": "succeeded", "seconds": seconds, "error": ""}


def task_arguments(plan: BatchPlan, source: Path) -> tuple[list[str], dict[str, str]]:
    outputs = {name: str(path) for name, path in plan.outputs_for(source).items()}
    values = dict(plan.values)
    values[plan.primary.name] = str(source.resolve())
    for name in outputs:
        values[name] = f"@out:{name}"
    return build_arguments(plan.entry.description, values), outputs


def run_batch(
    plan: BatchPlan,
    client: Any,
    limits: Limits,
    *,
    force: bool = False,
    on_result: Callable[[BatchResult], None] | None = None,
) -> list[BatchResult]:
    """Submit every input that is not done yet; return one result per input (in input order)."""
    from distributed import as_completed

    results: dict[Path, BatchResult] = {}
    futures = {}
    command = module_command(plan.entry)
    for source in plan.inputs:
        outputs = {n: str(p) for n, p in plan.outputs_for(source).items()}
        if not force and plan.is_done(source):
            results[source] = BatchResult(str(source), "skipped", outputs=outputs)
            if on_result:
                on_result(results[source])
            continue
        arguments, outputs = task_arguments(plan, source)
        future = client.submit(
            run_one, command, arguments, outputs, limits, pure=False, key=f"{source.name}-{time.time_ns()}"
        )
        futures[future] = (source, outputs)
    for future in as_completed(futures):
        source, outputs = futures[future]
        try:
            answer = future.result()
        except Exception as exc:  # a worker lost, a task error: this input fails, the batch goes on
            answer = {"status": "failed", "seconds": 0.0, "error": f"the task failed on its worker ({exc})"}
        result = BatchResult(str(source), answer["status"], answer["seconds"], error=answer["error"])
        if result.status == "succeeded":
            result.outputs = outputs
        results[source] = result
        if on_result:
            on_result(result)
    return [results[s] for s in plan.inputs]


def write_report(results: list[BatchResult], folder: Path) -> tuple[Path, Path]:
    """``batch-report.csv`` and ``batch-report.json`` in ``folder``: one row per input, failures with reasons."""
    folder.mkdir(parents=True, exist_ok=True)
    csv_path, json_path = folder / "batch-report.csv", folder / "batch-report.json"
    with csv_path.open("w", newline="", encoding="utf-8") as out:
        writer = csv.writer(out)
        writer.writerow(["input", "status", "seconds", "outputs", "error"])
        for r in results:
            writer.writerow([r.input, r.status, r.seconds, ";".join(r.outputs.values()), r.error])
    summary = {s: sum(1 for r in results if r.status == s) for s in ("succeeded", "failed", "skipped")}
    json_path.write_text(
        json.dumps({"summary": summary, "results": [asdict(r) for r in results]}, indent=2), encoding="utf-8"
    )
    return csv_path, json_path
