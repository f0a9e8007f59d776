"""Run the viewer benchmark for slicer-cloud and the trame-slicer baseline, side by side, and report.

usage: .venv/bin/python bench/run_all.py [--reps N] [--targets ours,baseline] [--scenario-s S] [--summary-only]

Each repetition runs one fresh server per target (alternating targets, so both see the same machine conditions),
writes bench/results/<target>_<rep>.json, then bench/results/summary.json and the table in bench/README.md.
Ports 8300-8399. Logs and screenshots go to bench/out/ (ignored by git).
"""

from __future__ import annotations

import argparse
import glob
import json
import os
import platform
import statistics as st
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
RESULTS = os.path.join(HERE, "results")
README = os.path.join(HERE, "README.md")
PY = os.environ.get("BENCH_PY", os.path.join(ROOT, ".venv", "bin", "python"))
START, END = "<!-- bench:results:start -->", "<!-- bench:results:end -->"

GLINFO = r"""
import vtk
rw = vtk.vtkRenderWindow(); rw.SetOffScreenRendering(1)
ren = vtk.vtkRenderer(); rw.AddRenderer(ren); rw.SetSize(64, 64); rw.Render()
caps = rw.ReportCapabilities().splitlines()
print(type(rw).__name__ + "|" + next((l.split(":", 1)[1].strip() for l in caps if "renderer string" in l), "?"))
"""


def machine() -> dict:
    cpu = next((ln.split(":", 1)[1].strip() for ln in open("/proc/cpuinfo") if ln.startswith("model name")), "?")
    mem = next((int(ln.split()[1]) for ln in open("/proc/meminfo") if ln.startswith("MemTotal")), 0)
    try:
        out = subprocess.run([PY, "-c", GLINFO], capture_output=True, text=True, timeout=120).stdout.strip()
        window, renderer = out.splitlines()[-1].split("|", 1)
    except Exception:  # noqa: BLE001
        window, renderer = "?", "?"
    try:
        chromium = subprocess.run(["/usr/bin/chromium", "--version"], capture_output=True, text=True).stdout.strip()
    except OSError:
        chromium = "?"
    versions = subprocess.run(
        [
            PY,
            "-c",
            "import importlib.metadata as m; print(' '.join(f'{p}={m.version(p)}' for p in "
            "('trame-slicer','trame-rca','vtk','slicer-core','PyTurboJPEG')))",
        ],
        capture_output=True,
        text=True,
    ).stdout.strip()
    commit = subprocess.run(
        ["git", "-C", ROOT, "rev-parse", "--short", "HEAD"], capture_output=True, text=True
    ).stdout.strip()
    return dict(
        cpu=cpu,
        cores=os.cpu_count(),
        ram_gib=round(mem / 1024 / 1024, 1),
        gl_window=window,
        gl_renderer=renderer,
        chromium=chromium,
        os=platform.platform(),
        python=platform.python_version(),
        versions=versions,
        commit=commit,
    )


def run(reps: int, targets: list[str], scenario_s: float) -> None:
    os.makedirs(RESULTS, exist_ok=True)
    for old in glob.glob(os.path.join(RESULTS, "*_[0-9]*.json")):
        os.remove(old)
    json.dump(
        dict(machine(), date=time.strftime("%Y-%m-%d %H:%M"), reps=reps, scenario_s=scenario_s),
        open(os.path.join(RESULTS, "machine.json"), "w"),
        indent=1,
    )
    env = dict(os.environ, BENCH_SCENARIO_S=str(scenario_s))
    for rep in range(reps):
        for i, target in enumerate(targets):
            port = 8300 + 10 * rep + i
            out = os.path.join(RESULTS, f"{target}_{rep + 1}.json")
            print(f"== {target} rep {rep + 1}/{reps} (port {port})", flush=True)
            for attempt in range(2):  # one retry: the browser or server may die under a shared machine's load
                r = subprocess.run([PY, os.path.join(HERE, "bench.py"), target, str(port + 5 * attempt), out], env=env)
                if r.returncode == 0:
                    break
                print(f"!! {target} rep {rep + 1} attempt {attempt + 1} failed ({r.returncode})", flush=True)
                time.sleep(2)
            time.sleep(2)


# -- summary ------------------------------------------------------------------------------------------------------


def get(d: dict, path: str):
    for k in path.split("."):
        if not isinstance(d, dict) or k not in d:
            return None
        d = d[k]
    return d


def med(runs: list[dict], path: str, scale: float = 1.0):
    v = [get(r, path) for r in runs]
    v = [x * scale for x in v if isinstance(x, (int, float))]
    if not v:
        return None
    return dict(median=st.median(v), min=min(v), max=max(v), n=len(v))


# (label, json path, scale, format, target: (op, value) or None)
ROWS = [
    ("Cold start: launch -> first slice image (s)", "cold.visible_s", 1, "{:.1f}", None),
    ("Cold start: first 3D frame (s)", "cold.first_3d_frame_s", 1, "{:.1f}", None),
    (
        "Memory idle, sample + VR shown, browser connected: PSS (MB)",
        "mem_idle_loaded.Pss",
        1 / 1024,
        "{:.0f}",
        ("<=", 350),
    ),
    ("  same, anonymous memory only (Pss_Anon, MB)", "mem_idle_loaded.Pss_Anon", 1 / 1024, "{:.0f}", None),
    ("Memory after 40 s of interaction: PSS (MB)", "mem_after_interaction.Pss", 1 / 1024, "{:.0f}", None),
    ("Slider drag (axial): fps", "slider.fps", 1, "{:.1f}", (">=", 25)),
    ("  input -> frame p50 (ms)", "slider.lat_next_frame_p50_ms", 1, "{:.0f}", None),
    ("  input -> frame p95 (ms)", "slider.lat_next_frame_p95_ms", 1, "{:.0f}", ("<=", 60)),
    ("  KB per frame", "slider.bytes_mean", 1 / 1000, "{:.1f}", None),
    ("  bits per view pixel", "slider.bpp_view_mean", 1, "{:.2f}", None),
    ("  server CPU (% of one core)", "slider.server_cpu_pct", 1, "{:.0f}", None),
    ("  frames still coming after the input stopped (s)", "slider.backlog_s", 1, "{:.1f}", None),
    ("Wheel over axial view: fps", "wheel.fps", 1, "{:.1f}", (">=", 25)),
    ("  input -> frame p50 (ms)", "wheel.lat_next_frame_p50_ms", 1, "{:.0f}", None),
    ("  input -> frame p95 (ms)", "wheel.lat_next_frame_p95_ms", 1, "{:.0f}", ("<=", 60)),
    ("  KB per frame", "wheel.bytes_mean", 1 / 1000, "{:.1f}", None),
    ("  bits per view pixel", "wheel.bpp_view_mean", 1, "{:.2f}", None),
    ("  server CPU (% of one core)", "wheel.server_cpu_pct", 1, "{:.0f}", None),
    ("  frames still coming after the input stopped (s)", "wheel.backlog_s", 1, "{:.1f}", None),
    ("3D rotation with VR: fps", "rotate3d.fps", 1, "{:.1f}", (">=", 6)),
    ("  input -> frame p50 (ms)", "rotate3d.lat_next_frame_p50_ms", 1, "{:.0f}", None),
    ("  input -> frame p95 (ms)", "rotate3d.lat_next_frame_p95_ms", 1, "{:.0f}", ("<=", 300)),
    ("  KB per frame", "rotate3d.bytes_mean", 1 / 1000, "{:.1f}", None),
    ("  bits per view pixel while rotating", "rotate3d.bpp_view_mean", 1, "{:.2f}", ("<=", 0.5)),
    ("  full-quality frame after the last input (ms)", "rotate3d.settle_ms", 1, "{:.0f}", ("<=", 500)),
    ("  server CPU (% of one core)", "rotate3d.server_cpu_pct", 1, "{:.0f}", None),
    ("  frames still coming after the input stopped (s)", "rotate3d.backlog_s", 1, "{:.1f}", None),
    ("Wheel over axial view while rotating 3D: axial fps", "wheel_during_3d.fps", 1, "{:.1f}", None),
    ("  axial input -> frame p50 (ms)", "wheel_during_3d.lat_next_frame_p50_ms", 1, "{:.0f}", None),
    ("  axial input -> frame p95 (ms)", "wheel_during_3d.lat_next_frame_p95_ms", 1, "{:.0f}", None),
    ("  3D fps meanwhile", "wheel_during_3d.other.fps", 1, "{:.1f}", None),
    ("Isolated wheel event -> axial frame p50 (ms)", "iso_wheel.p50_ms", 1, "{:.0f}", None),
    ("Isolated 3D drag event -> 3D frame p50 (ms)", "iso_rotate3d.p50_ms", 1, "{:.0f}", None),
    ("Other load on the machine during scenarios (% of one core)", "rotate3d.other_cpu_pct", 1, "{:.0f}", None),
    ("Browser CPU during slider drag (% of one core)", "slider.browser_cpu_pct", 1, "{:.0f}", None),
]


def fmt(m, f):
    if m is None:
        return "n/a"
    s = f.format(m["median"])
    if m["n"] > 1:
        s += f" ({f.format(m['min'])}-{f.format(m['max'])})"
    return s


def met(m, target):
    if target is None or m is None:
        return ""
    op, v = target
    ok = m["median"] <= v if op == "<=" else m["median"] >= v
    return f"{op} {v}: {'met' if ok else 'MISSED'}"


def summarize() -> str:
    runs = {}
    for f in sorted(glob.glob(os.path.join(RESULTS, "*_[0-9]*.json"))):
        r = json.load(open(f))
        runs.setdefault(r["target"], []).append(r)
    mach = json.load(open(os.path.join(RESULTS, "machine.json")))
    summary = {t: {path: med(rs, path, scale) for _, path, scale, _, _ in ROWS} for t, rs in runs.items()}
    summary["machine"] = mach
    json.dump(summary, open(os.path.join(RESULTS, "summary.json"), "w"), indent=1)
    base, ours = runs.get("baseline", []), runs.get("ours", [])
    lines = [
        f"Run of {mach['date']} (commit {mach['commit']}, {len(base)} baseline / {len(ours)} slicer-cloud "
        f"repetition(s), {mach['scenario_s']:.0f} s "
        f"per scenario): {mach['cpu']}, {mach['cores']} cores, {mach['ram_gib']} GiB RAM, {mach['gl_window']} on "
        f"{mach['gl_renderer']}; {mach['chromium']}; {mach['versions']}.",
        "",
        "Median over repetitions, (min-max) when more than one. Load averages at the start of each run: "
        + ", ".join(f"{r['target']} {r['loadavg_start'][0]:.1f}" for r in base + ours)
        + ".",
        "",
        "| Measure | baseline (trame-slicer MedicalViewerApp) | slicer-cloud | target (slicer-cloud) |",
        "|---|---|---|---|",
    ]
    for label, path, scale, f, target in ROWS:
        mb, mo = med(base, path, scale), med(ours, path, scale)
        lines.append(f"| {label} | {fmt(mb, f)} | {fmt(mo, f)} | {met(mo, target)} |")
    return "\n".join(lines)


def write_readme(table: str) -> None:
    text = open(README).read() if os.path.exists(README) else f"# Benchmarks\n\n{START}\n{END}\n"
    if START not in text:
        text += f"\n{START}\n{END}\n"
    head, rest = text.split(START, 1)
    _, tail = rest.split(END, 1)
    open(README, "w").write(f"{head}{START}\n{table}\n{END}{tail}")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--reps", type=int, default=int(os.environ.get("BENCH_REPS", "2")))
    ap.add_argument("--targets", default="ours,baseline")
    ap.add_argument("--scenario-s", type=float, default=10.0)
    ap.add_argument("--summary-only", action="store_true")
    a = ap.parse_args()
    if not a.summary_only:
        run(a.reps, [t.strip() for t in a.targets.split(",") if t.strip()], a.scenario_s)
    table = summarize()
    write_readme(table)
    print(table)
    return 0


if __name__ == "__main__":
    sys.exit(main())
