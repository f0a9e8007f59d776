"""Notebook widgets in JupyterLab vs. the foundation web viewer: the same input, the same view sizes, one run.

Web viewer: ``bench/bench.py``'s run of ``slicer-cloud serve`` (its wheel and 3D-rotation scenarios and isolated
wheel latency). Notebook: a real JupyterLab (token, loopback) with a notebook showing a slice view (678x814, the
web viewer's axial view size) and a 3D view with volume rendering (678x270, its 3D view size), driven by the same
in-page input generator (``bench/drive.js``: 60 events/s for 10 s) in Debian's chromium. Frame arrival times and
sizes come from the widget's own frame log (``slicerCloudStats``). Writes ``bench/results/notebook.json``.

    .venv/bin/python bench/notebook_bench.py [--skip-web] [--scenario-s 10]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics as st
import sys
import tempfile
import time
from pathlib import Path

import nbformat
from nbformat.v4 import new_code_cell, new_notebook

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path[:0] = [str(HERE), str(ROOT / "tests"), str(ROOT / "tests" / "jupyter")]

from jupyter_servers import start_jupyter_lab  # noqa: E402
from playwright.sync_api import sync_playwright  # noqa: E402

from helpers.browser import launch  # noqa: E402

SLICE_SIZE = (678, 814)
THREED_SIZE = (678, 270)
VIEW = ".slicer-cloud-view"
TARGET_RATIO = 1.5
TARGET_FPS = 20.0

CELLS = [
    "import slicer_cloud.jupyter as sj\nscene = sj.Scene()\nvol = scene.load(sj.sample_data())",
    f"sj.SliceView(scene, 'axial', width={SLICE_SIZE[0]}, height={SLICE_SIZE[1]})",
    "scene.volume_rendering(vol, preset='MR-Default')\n"
    f"sj.View3D(scene, width={THREED_SIZE[0]}, height={THREED_SIZE[1]})",
]


def pct(values, q):
    values = sorted(values)
    if not values:
        return None
    k = (len(values) - 1) * q
    lo, hi = int(k), min(int(k) + 1, len(values) - 1)
    return values[lo] + (values[hi] - values[lo]) * (k - lo)


def analyse(log, inputs, t0, t1):
    """fps, input -> next frame p50/p95 and bytes/frame of the frames logged between t0 and t1 (ms)."""
    frames = [f for f in log if t0 <= f[0] <= t1 + 1]
    times = [f[0] for f in frames]
    lat, j = [], 0
    for ti in sorted(i for i in inputs if t0 <= i <= t1):
        while j < len(times) and times[j] <= ti:
            j += 1
        if j < len(times):
            lat.append(times[j] - ti)
    duration = (t1 - t0) / 1000
    return {
        "duration_s": duration,
        "n_inputs": len([i for i in inputs if t0 <= i <= t1]),
        "frames": len(frames),
        "fps": len(frames) / duration if duration else 0,
        "lat_next_frame_p50_ms": pct(lat, 0.5),
        "lat_next_frame_p95_ms": pct(lat, 0.95),
        "bytes_mean": st.mean(f[1] for f in frames) if frames else 0,
        "jpeg_frames": sum(1 for f in frames if not f[2]),
        "png_frames": sum(1 for f in frames if f[2]),
        "kernel_ms_p50": pct([f[3] for f in frames if len(f) > 3 and f[3] is not None], 0.5),
    }


def stats(page, index):
    return page.evaluate(f"() => document.querySelectorAll('{VIEW}')[{index}].slicerCloudStats")


def wait_quiet(page, index, quiet_ms=1000, max_s=30):
    deadline = time.time() + max_s
    last, since = -1, time.time()
    while time.time() < deadline:
        n = stats(page, index)["frames"]
        if n != last:
            last, since = n, time.time()
        elif (time.time() - since) * 1000 > quiet_ms:
            return
        page.wait_for_timeout(100)


def centre(page, index):
    element = page.locator(VIEW).nth(index)
    element.scroll_into_view_if_needed()
    box = element.bounding_box()
    return box["x"] + box["width"] / 2, box["y"] + box["height"] / 2


def scenario(page, index, kind, params, seconds):
    wait_quiet(page, index)
    page.evaluate("() => { window.__inputs = []; }")
    t0 = page.evaluate("() => performance.timeOrigin + performance.now()")
    page.evaluate(f"(p) => window.__drive('{kind}', p, {int(seconds * 1000)}, 60)", params)
    t1 = page.evaluate("() => performance.timeOrigin + performance.now()")
    wait_quiet(page, index)
    inputs = [i[0] for i in page.evaluate("() => window.__inputs") if i[1] == "gen"]
    return analyse(stats(page, index)["log"], inputs, t0, t1)


def isolated_wheel(page, index, n=8, gap_ms=600):
    x, y = centre(page, index)
    page.mouse.move(x, y)
    lat = []
    for i in range(n):
        wait_quiet(page, index, quiet_ms=400)
        before = stats(page, index)["frames"]
        t = page.evaluate("() => performance.timeOrigin + performance.now()")
        page.mouse.wheel(0, 100 if i % 2 == 0 else -100)
        page.wait_for_function(
            f"(n) => document.querySelectorAll('{VIEW}')[{index}].slicerCloudStats.frames > n",
            arg=before,
            timeout=10_000,
        )
        first = min(f[0] for f in stats(page, index)["log"] if f[0] > t)
        lat.append(first - t)
        page.wait_for_timeout(gap_ms)
    return {"n": n, "p50_ms": pct(lat, 0.5), "p95_ms": pct(lat, 0.95)}


def run_notebook(seconds: float) -> dict:
    base = Path(tempfile.mkdtemp(prefix="notebook-bench-"))
    root = base / "root"
    root.mkdir()
    notebook = new_notebook(cells=[new_code_cell(c) for c in CELLS])
    notebook.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nbformat.write(notebook, root / "bench.ipynb")
    lab = start_jupyter_lab(root, base / "lab.log")
    result: dict = {"view_sizes": {"slice": SLICE_SIZE, "3d": THREED_SIZE}}
    try:
        with sync_playwright() as playwright:
            browser = launch(playwright)
            page = browser.new_page(viewport={"width": 1400, "height": 1000})
            page.goto(f"{lab.base}/lab/tree/bench.ipynb?token={lab.token}")
            page.wait_for_selector(".jp-Notebook-ExecutionIndicator[data-status='idle']", timeout=120_000)
            for _ in range(3):
                page.locator(".lm-MenuBar-itemLabel", has_text="Run").first.click()
                page.locator(".lm-Menu-itemLabel", has_text="Run All Cells").first.click()
                try:
                    page.wait_for_function(
                        f"() => document.querySelectorAll('{VIEW}[data-frames]').length >= 2", timeout=120_000
                    )
                    break
                except Exception:
                    page.keyboard.press("Escape")
            page.add_script_tag(path=str(HERE / "drive.js"))
            page.evaluate("() => { window.__inputs = []; }")
            sx, sy = centre(page, 0)
            result["wheel"] = scenario(page, 0, "wheel", {"cx": sx, "cy": sy, "flip": 60}, seconds)
            print("notebook wheel", json.dumps(result["wheel"]), flush=True)
            cx, cy = centre(page, 1)
            result["rotate3d"] = scenario(page, 1, "rotate", {"cx": cx, "cy": cy, "r": 80, "period": 120}, seconds)
            print("notebook rotate3d", json.dumps(result["rotate3d"]), flush=True)
            result["iso_wheel"] = isolated_wheel(page, 0)
            print("notebook iso_wheel", json.dumps(result["iso_wheel"]), flush=True)
            browser.close()
    finally:
        lab.stop()
    return result


def run_web(port: int = 8391) -> dict:
    import bench as web_bench

    out = Path(tempfile.mkdtemp(prefix="web-bench-")) / "ours.json"
    full = web_bench.run("ours", port, str(out))
    return {k: full.get(k) for k in ("wheel", "rotate3d", "iso_wheel", "loadavg_start", "loadavg_end")}


def compare(web: dict | None, notebook: dict) -> dict:
    if not web:
        return {}
    out = {}
    for scenario_name in ("wheel", "rotate3d"):
        for q in ("p50", "p95"):
            key = f"lat_next_frame_{q}_ms"
            w, n = web[scenario_name].get(key), notebook[scenario_name].get(key)
            out[f"{scenario_name}_{q}_ratio"] = n / w if w and n else None
    w, n = web["iso_wheel"]["p50_ms"], notebook["iso_wheel"]["p50_ms"]
    out["iso_wheel_p50_ratio"] = n / w if w and n else None
    out["targets"] = {
        "latency_ratio_max": TARGET_RATIO,
        "slice_fps_min": TARGET_FPS,
        "slice_fps_met": notebook["wheel"]["fps"] >= TARGET_FPS,
        "wheel_p50_met": (out["wheel_p50_ratio"] or 99) <= TARGET_RATIO,
        "rotate_p50_met": (out["rotate3d_p50_ratio"] or 99) <= TARGET_RATIO,
    }
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--skip-web", action="store_true", help="measure the notebook only")
    parser.add_argument("--scenario-s", type=float, default=10.0, help="seconds of input per scenario")
    parser.add_argument("--out", default=str(HERE / "results" / "notebook.json"))
    args = parser.parse_args()
    result = {
        "started": time.strftime("%Y-%m-%d %H:%M:%S"),
        "machine": {"cpus": os.cpu_count(), "platform": platform.platform(), "loadavg_start": os.getloadavg()},
    }
    result["notebook"] = run_notebook(args.scenario_s)
    result["web_viewer"] = None if args.skip_web else run_web()
    result["comparison"] = compare(result["web_viewer"], result["notebook"])
    result["machine"]["loadavg_end"] = os.getloadavg()
    Path(args.out).write_text(json.dumps(result, indent=1))
    print(json.dumps(result["comparison"], indent=1))


if __name__ == "__main__":
    main()
