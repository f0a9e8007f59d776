"""``slicer-cloud batch``: run a processing module over many files on Dask (command extension module).

The import stays light: Dask, rich and the module registry are imported when the command runs.
"""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path
from typing import Any

logger = logging.getLogger(__name__)


def add_command(commands: Any, add_setting_flags: Any) -> None:
    """Command extension contract: add the ``batch`` sub-parser with ``handler=run``."""
    parser = commands.add_parser(
        "batch",
        help="run a processing module over many files on Dask (LocalCluster or a scheduler)",
        description="Run MODULE once per file matching --input on Dask workers and write the results into --output, "
        "with a per-input report (batch-report.csv/json). Rerunning skips inputs whose outputs exist and are newer.",
    )
    parser.add_argument("module", metavar="MODULE", help="module name (see GET /api/v1/modules), e.g. gaussian_blur")
    parser.add_argument("--input", required=True, metavar="GLOB", help="input files, e.g. 'scans/*.nii.gz' (quoted)")
    parser.add_argument("--output", required=True, type=Path, metavar="DIR", help="folder for results and report")
    parser.add_argument(
        "--param", action="append", default=[], metavar="NAME=VALUE", help="a module parameter (repeatable)"
    )
    parser.add_argument(
        "--scheduler",
        default=None,
        metavar="ADDRESS",
        help="Dask scheduler, e.g. tcp://10.0.0.5:8786 (default: a "
        "LocalCluster on this machine with --max-jobs workers)",
    )
    parser.add_argument("--force", action="store_true", help="run every input, even those with up-to-date outputs")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar (e.g. in logs)")
    add_setting_flags(parser, "batch", shared={"log_level"})
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace, settings: Any) -> int:
    """Run the batch; 0 when every input succeeded or was up to date, 1 when some failed, 2 on bad arguments."""
    import os

    from ..errors import SlicerCloudError
    from ..sem.discovery import discover
    from .batch import parse_params, plan_batch, write_report
    from .process import Limits

    try:
        entry = discover(settings.module_path).get(args.module)
        plan = plan_batch(entry, args.input, args.output, parse_params(args.param))
    except SlicerCloudError as exc:
        sys.stderr.write(f"slicer-cloud batch: error: {exc.message}\n")
        return 2
    if settings.log_level.upper() != "DEBUG":
        for name in ("distributed", "tornado"):
            logging.getLogger(name).setLevel(logging.WARNING)
    limits = Limits(timeout=settings.job_timeout, memory_mb=settings.job_memory_mb)
    workers = settings.max_jobs or os.cpu_count() or 1
    with _client(args.scheduler, workers) as client:
        results = _run_with_progress(plan, client, limits, args.force, not args.no_progress)
    csv_path, _ = write_report(results, plan.output_dir)
    failed = [r for r in results if r.status == "failed"]
    counts = {s: sum(1 for r in results if r.status == s) for s in ("succeeded", "skipped", "failed")}
    sys.stdout.write(
        f"{counts['succeeded']} succeeded, {counts['skipped']} up to date, {counts['failed']} failed; report: "
        f"{csv_path}\n"
    )
    for r in failed:
        sys.stdout.write(f"  failed: {r.input}: {r.error}\n")
    return 1 if failed else 0


class _client:  # noqa: N801 - used as a context manager like a function
    """A Dask client on a scheduler address, or on a LocalCluster of ``workers`` single-threaded workers."""

    def __init__(self, address: str | None, workers: int) -> None:
        self.address, self.workers = address, workers
        self.cluster = None
        self.client = None

    def __enter__(self):
        from distributed import Client, LocalCluster

        if self.address:
            self.client = Client(self.address, timeout="30s")
        else:
            self.cluster = LocalCluster(
                n_workers=self.workers,
                threads_per_worker=1,
                processes=False,  # workers only watch child processes: threads of this process do (no network)
                dashboard_address=None,
            )
            self.client = Client(self.cluster)
        return self.client

    def __exit__(self, *exc: Any) -> None:
        if self.client is not None:
            self.client.close()
        if self.cluster is not None:
            self.cluster.close()


def _run_with_progress(plan, client, limits, force: bool, show: bool):
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

    from .batch import run_batch

    columns = [TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn()]
    with Progress(*columns, disable=not show, transient=False) as progress:
        task = progress.add_task(plan.entry.name, total=len(plan.inputs))

        def advance(result) -> None:
            progress.advance(task)
            if result.status == "failed":
                progress.console.print(f"[red]failed[/red] {Path(result.input).name}: {result.error}")

        return run_batch(plan, client, limits, force=force, on_result=advance)
