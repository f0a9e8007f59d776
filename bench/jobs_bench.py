"""Processing-jobs benchmark: batch throughput on Dask (1 vs 2 workers) and job overhead in a live session.

usage: .venv/bin/python bench/jobs_bench.py [--volumes 20] [--size 256] [--overhead-runs 10] [--label NAME]
       [--skip-batch] [--skip-overhead]

* Batch: ``--volumes`` synthetic int16 volumes of ``--size``^3 (a ball with noise, raw NRRD) in a temporary folder;
  the Gaussian blur module (sigma 1.5 mm) over all of them with ``slicer_cloud.jobs.batch`` (the code path of
  ``slicer-cloud batch``) on a LocalCluster of 1, then 2 single-threaded workers (each task one child process,
  ITK single-threaded). Timed from the first submit to the last result (cluster start-up excluded, reported apart);
  volumes/min and the speed-up of 2 workers over 1 (target >= 1.7x). Every task writes its compressed output.
* Overhead: a real ``slicer-cloud serve`` (tests/helpers/serve.py, loopback, token) with a 64^3 and a 256^3 volume
  in the scene; ``--overhead-runs`` Gaussian blur jobs on each, one at a time. POST -> start: the client's clock
  before the POST to the server's ``started`` stamp (the input node written to a file, the module process being
  launched; same machine, same clock). End -> in scene: the module process's exit to the output node in the scene
  (``finished`` - ``ended``: output read, new node added, job record final); end -> shown: to the result shown in
  the views (``shown`` - ``ended``: slice views and volume rendering set to the new volume). Target <= 300 ms each.
  Median and 90th percentile. Each job is submitted 2 s after the previous one finished, so the views' rendering of
  the previous result is not counted.

Writes bench/results/jobs_<label>.json (default label: "batch_overhead").
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(ROOT / "tests"))

RESULTS = HERE / "results"
IDLE_S = 2.0


def make_volumes(folder: Path, count: int, size: int) -> list[Path]:
    import nrrd

    z, y, x = np.ogrid[:size, :size, :size]
    c = size / 2
    dist = np.sqrt((z - c) ** 2 + (y - c) ** 2 + (x - c) ** 2)
    paths = []
    for i in range(count):
        rng = np.random.default_rng(i)
        voxels = np.where(dist < size * (0.25 + 0.01 * (i % 5)), 1000, 100).astype(np.int16)
        voxels += rng.integers(0, 60, voxels.shape, dtype=np.int16)
        path = folder / f"vol{i:02d}.nrrd"
        nrrd.write(str(path), voxels, {"space": "left-posterior-superior", "encoding": "raw"})
        paths.append(path)
    return paths


def batch_run(folder: Path, out: Path, workers: int) -> dict:
    from distributed import Client, LocalCluster

    from slicer_cloud.jobs.batch import plan_batch, run_batch
    from slicer_cloud.jobs.process import Limits
    from slicer_cloud.sem.discovery import discover

    entry = discover([]).get("gaussian_blur")
    plan = plan_batch(entry, str(folder / "*.nrrd"), out, {"sigma": "1.5"})
    started = time.perf_counter()
    cluster = LocalCluster(n_workers=workers, threads_per_worker=1, processes=False, dashboard_address=None)
    client = Client(cluster)
    ready = time.perf_counter()
    results = run_batch(plan, client, Limits(), force=True)
    done = time.perf_counter()
    client.close()
    cluster.close()
    seconds = done - ready
    ok = sum(r.status == "succeeded" for r in results)
    return {
        "workers": workers,
        "volumes": len(results),
        "succeeded": ok,
        "seconds": round(seconds, 2),
        "cluster_start_s": round(ready - started, 2),
        "volumes_per_min": round(ok / seconds * 60, 2),
        "task_s_median": round(statistics.median(r.seconds for r in results), 2),
    }


def overhead(runs: int) -> dict:
    import SimpleITK as sitk

    from helpers.serve import start_server
    from slicer_cloud.modules.runtime import write_image  # noqa: F401 - SimpleITK present

    with tempfile.TemporaryDirectory() as tmp:
        data = Path(tmp) / "data"
        data.mkdir()
        for size in (64, 256):
            voxels = (np.random.default_rng(size).random((size, size, size)) * 1000).astype(np.int16)
            sitk.WriteImage(sitk.GetImageFromArray(voxels), str(data / f"vol{size}.nrrd"))
        level = os.environ.get("JOBS_BENCH_LOG_LEVEL", "INFO")
        server = start_server(data, "--autosave-interval", "0", "--max-jobs", "1", "--log-level", level)
        try:
            out = {}
            for size in (64, 256):
                status, body = server.json("POST", "/api/v1/scene/open", {"path": f"vol{size}.nrrd"})
                assert status == 200, body
                node = body["volumes"][0]
                starts, loads, shows, totals = [], [], [], []
                for _ in range(runs + 1):
                    time.sleep(IDLE_S)  # let the views finish rendering the previous result
                    t0 = time.time()
                    status, job = server.json(
                        "POST", "/api/v1/modules/gaussian_blur/jobs", {"parameters": {"inputVolume": node, "sigma": 1}}
                    )
                    assert status == 202, job
                    while job["status"] not in ("succeeded", "failed", "cancelled"):
                        time.sleep(0.01)
                        job = server.request("GET", f"/api/v1/jobs/{job['id']}")[1]
                    assert job["status"] == "succeeded", job
                    starts.append((job["started"] - t0) * 1000)
                    loads.append((job["finished"] - job["ended"]) * 1000)
                    shows.append((job["shown"] - job["ended"]) * 1000)
                    totals.append((job["shown"] - t0) * 1000)
                    for ids in job["outputs"].values():
                        for i in ids:
                            server.request("DELETE", f"/api/v1/nodes/{i}")
                starts, loads, shows, totals = starts[1:], loads[1:], shows[1:], totals[1:]  # the first warms caches
                out[f"{size}^3"] = {
                    "post_to_start_ms": _stats(starts),
                    "end_to_scene_ms": _stats(loads),
                    "end_to_shown_ms": _stats(shows),
                    "post_to_shown_ms": _stats(totals),
                }
            return out
        finally:
            server.stop()
            if os.environ.get("JOBS_BENCH_LOG"):
                Path(os.environ["JOBS_BENCH_LOG"]).write_text(server.log.read_text())


def _stats(values: list[float]) -> dict:
    ordered = sorted(values)
    return {
        "median": round(statistics.median(ordered), 1),
        "p90": round(ordered[min(len(ordered) - 1, int(0.9 * len(ordered)))], 1),
        "max": round(ordered[-1], 1),
        "runs": len(ordered),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--volumes", type=int, default=20)
    parser.add_argument("--size", type=int, default=256)
    parser.add_argument("--overhead-runs", type=int, default=10)
    parser.add_argument("--label", default="batch_overhead")
    parser.add_argument("--skip-batch", action="store_true")
    parser.add_argument("--skip-overhead", action="store_true")
    args = parser.parse_args()
    import logging

    logging.getLogger("distributed").setLevel(logging.WARNING)
    result: dict = {
        "machine": {
            "cores": os.cpu_count(),
            "python": platform.python_version(),
            "date": time.strftime("%F %H:%M"),
            "load_average_at_start": [round(v, 2) for v in os.getloadavg()],
        },
    }
    if not args.skip_batch:
        with tempfile.TemporaryDirectory() as tmp:
            folder = Path(tmp) / "in"
            folder.mkdir()
            make_volumes(folder, args.volumes, args.size)
            runs = [batch_run(folder, Path(tmp) / f"out{w}", w) for w in (1, 2)]
        one, two = runs
        result["batch"] = {
            "module": "gaussian_blur sigma=1.5",
            "volume": f"{args.size}^3 int16 (raw NRRD in, gzip NRRD float32 out)",
            "runs": runs,
            "speedup_2_vs_1": round(two["volumes_per_min"] / one["volumes_per_min"], 2),
            "target_speedup": 1.7,
        }
        print(json.dumps(result["batch"], indent=2), flush=True)
    if not args.skip_overhead:
        result["overhead"] = overhead(args.overhead_runs)
        result["overhead_target_ms"] = 300
        print(json.dumps(result["overhead"], indent=2), flush=True)
    result["machine"]["load_average_at_end"] = [round(v, 2) for v in os.getloadavg()]
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / f"jobs_{args.label}.json").write_text(json.dumps(result, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
