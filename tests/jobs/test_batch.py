"""``slicer-cloud batch`` on Dask: 20 synthetic volumes with one corrupt input, on a LocalCluster and on a real
``dask scheduler`` with two ``dask worker`` processes on loopback; reruns skip finished inputs."""

from __future__ import annotations

import csv
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from helpers.serve import free_port
from slicer_cloud.cli import main

from .conftest import ball, read_volume, write_volume

pytestmark = pytest.mark.slow

COUNT = 20


@pytest.fixture
def cohort(tmp_path) -> Path:
    folder = tmp_path / "cohort"
    folder.mkdir()
    for i in range(COUNT - 1):
        write_volume(folder / f"case{i:02d}.nii.gz", ball((32, 32, 32), radius=6 + i % 5).astype(np.float32))
    (folder / "case99.nii.gz").write_bytes(b"\x1f\x8b\x08 this is not a volume")
    return folder


def report(folder: Path) -> dict[str, dict]:
    rows = list(csv.DictReader((folder / "batch-report.csv").open()))
    return {Path(r["input"]).name: r for r in rows}


def run_batch(*args: str) -> int:
    return main(["batch", *args, "--no-progress", "--log-level", "WARNING"])


def check_first_run(cohort: Path, out: Path, code: int) -> None:
    assert code == 1  # one input failed
    rows = report(out)
    assert len(rows) == COUNT
    assert rows["case99.nii.gz"]["status"] == "failed"
    assert "could not be read as an image" in rows["case99.nii.gz"]["error"]
    done = [name for name, r in rows.items() if r["status"] == "succeeded"]
    assert len(done) == COUNT - 1
    summary = json.loads((out / "batch-report.json").read_text())["summary"]
    assert summary == {"succeeded": COUNT - 1, "failed": 1, "skipped": 0}
    image, voxels = read_volume(out / "case03.nii.gz")
    _, source = read_volume(cohort / "case03.nii.gz")
    assert voxels.sum() == pytest.approx(source.sum(), rel=0.02)
    assert np.abs(voxels - source).max() > 100  # edges are blurred
    assert not list(out.glob("*.partial*"))


def test_a_batch_on_a_local_cluster_reports_the_corrupt_input_and_resumes(cohort, tmp_path):
    out = tmp_path / "out"
    code = run_batch("gaussian_blur", "--input", str(cohort / "*.nii.gz"), "--output", str(out), "--param", "sigma=1")
    check_first_run(cohort, out, code)
    stamp = (out / "case00.nii.gz").stat().st_mtime_ns

    os.utime(cohort / "case05.nii.gz")  # a changed input is redone
    time.sleep(0.01)
    code = run_batch("gaussian_blur", "--input", str(cohort / "*.nii.gz"), "--output", str(out), "--param", "sigma=1")
    assert code == 1
    rows = report(out)
    assert [n for n, r in rows.items() if r["status"] == "succeeded"] == ["case05.nii.gz"]
    assert rows["case99.nii.gz"]["status"] == "failed"
    assert sum(r["status"] == "skipped" for r in rows.values()) == COUNT - 2
    assert (out / "case00.nii.gz").stat().st_mtime_ns == stamp


def test_bad_arguments_are_refused_before_anything_runs(cohort, tmp_path, capsys):
    out = tmp_path / "out"
    code = run_batch(
        "gaussian_blur",
        "--input",
        str(cohort / "*.nii.gz"),
        "--output",
        str(out),
        "--param",
        "sigma=-1",
        "--param",
        "radius=2",
    )
    assert code == 2
    err = capsys.readouterr().err
    assert "sigma: -1.0 is below the minimum 0.01" in err and "radius: no such parameter" in err
    assert run_batch("gaussian_blur", "--input", str(tmp_path / "none/*.nrrd"), "--output", str(out)) == 2
    assert run_batch("no_such_module", "--input", str(cohort / "*"), "--output", str(out)) == 2
    assert not out.exists()


@pytest.fixture
def dask_cluster(tmp_path):
    """A real scheduler and two single-threaded workers, as separate processes on loopback."""
    port = free_port()
    address = f"tcp://127.0.0.1:{port}"
    dask = [sys.executable, "-m", "distributed.cli.dask_scheduler"]
    logs = [(tmp_path / f"dask-{n}.log").open("wb") for n in ("scheduler", "worker1", "worker2")]
    procs = [
        subprocess.Popen(
            [*dask, "--host", "127.0.0.1", "--port", str(port), "--no-dashboard"], stdout=logs[0], stderr=logs[0]
        )
    ]
    worker = [sys.executable, "-m", "distributed.cli.dask_worker", address, "--nthreads", "1", "--no-dashboard"]
    worker += ["--host", "127.0.0.1", "--local-directory", str(tmp_path / "dask-workers")]
    for log in logs[1:]:
        procs.append(subprocess.Popen([*worker, "--name", log.name], stdout=log, stderr=log))
    try:
        from distributed import Client

        with Client(address, timeout="30s") as client:
            client.wait_for_workers(2, timeout=60)
        yield address
    finally:
        for proc in reversed(procs):
            proc.terminate()
        for proc in procs:
            try:
                proc.wait(20)
            except subprocess.TimeoutExpired:
                proc.kill()
        for log in logs:
            log.close()


def test_a_batch_on_a_real_scheduler_with_two_workers_uses_both(cohort, tmp_path, dask_cluster):
    out = tmp_path / "out"
    code = run_batch(
        "gaussian_blur",
        "--input",
        str(cohort / "*.nii.gz"),
        "--output",
        str(out),
        "--param",
        "sigma=1",
        "--scheduler",
        dask_cluster,
    )
    check_first_run(cohort, out, code)
    from distributed import Client

    with Client(dask_cluster) as client:
        ran = client.run(lambda dask_worker: len(dask_worker.data) + dask_worker.state.executed_count)
    assert len(ran) == 2 and all(count > 0 for count in ran.values()), ran
    code = run_batch(
        "gaussian_blur",
        "--input",
        str(cohort / "*.nii.gz"),
        "--output",
        str(out),
        "--param",
        "sigma=1",
        "--scheduler",
        dask_cluster,
    )
    assert code == 1
    assert sum(r["status"] == "skipped" for r in report(out).values()) == COUNT - 1
