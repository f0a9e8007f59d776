"""REST benchmark: rendered slices (/slicer/slice, /api/v1/views/red/image) and NRRD downloads of a live
``slicer-cloud serve``, side by side with the physical-limit baseline (numpy reslice + the same encoder), same run.

usage: .venv/bin/python bench/rest_bench.py [--label after] [--duration 5] [--conc 1,4,16] [--src DIR] [--no-readme]

* The server is a real ``slicer-cloud serve`` (tests/helpers/serve.py: free loopback port, token, empty data root so
  it loads the bundled MNI sample) started from this checkout, or from ``--src DIR`` (a ``src`` folder put first on
  PYTHONPATH, e.g. an export of another commit, to measure "before").
* Load comes from a separate process: ``wrk`` (Debian package; one thread, Lua script in bench/out/) at each
  concurrency, for PNG and JPEG on both endpoints, 512x512, in two modes:
  - ``warm``: the same URL again and again (nothing changed: the server may serve its last frame);
  - ``moving``: every request asks another slice offset (each one is a new slice: reslice, render, read, encode).
  Cold figures: the first request of each kind after the server answered /healthz, timed by this driver (another
  process than the server).
* Baseline (a subprocess, while the server is idle): the same MNI volume (downloaded from the server as NRRD), an
  axial slice taken by indexing, resized to 512x512 bilinearly (two float32 matrix products: the separable
  interpolation matrices are precomputed), window/level to uint8, gray -> RGB, then the same encoder as the
  server (PyTurboJPEG quality 90 4:2:0 / unfiltered zlib-1 PNG), in a tight loop over slices, 1 and 2 threads.
* NRRD: a generated 256^3 int16 volume is pushed with POST /slicer/volume, then downloaded (raw) with curl
  (another process) from ``/slicer/volume?id=`` and ``/api/v1/volumes/{id}``; MB/s = 1e6 bytes/s.

Writes bench/results/rest_<label>.json and, unless --no-readme, the table between the rest markers in
bench/README.md (from every bench/results/rest_*.json present).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(ROOT / "tests"))

from helpers.serve import start_server  # noqa: E402

SIZE = 512
RESULTS = HERE / "results"
OUT = HERE / "out"
README = HERE / "README.md"
START, END = "<!-- bench:rest:results:start -->", "<!-- bench:rest:results:end -->"

WRK_LUA = r"""
local path_base = "%(path)s"
local moving = %(moving)s
local n = 0
local thread_id = 0
setup = function(thread) thread:set("thread_id", thread_id); thread_id = thread_id + 1 end
request = function()
  local path = path_base
  if moving then
    n = n + 1
    path = path .. "&offset=" .. string.format("%%.1f", -60 + ((n * 7 + thread_id * 3) %% 120))
  end
  return wrk.format("GET", path, {["Authorization"] = "Bearer %(token)s"})
end
done = function(summary, latency, requests)
  io.write(string.format("RESULT {\"requests\": %%d, \"duration_us\": %%d, \"bytes\": %%d, \"p50_us\": %%d, " ..
    "\"p95_us\": %%d, \"p99_us\": %%d, \"max_us\": %%d, \"errors_status\": %%d, \"errors_other\": %%d}\n",
    summary.requests, summary.duration, summary.bytes, latency:percentile(50), latency:percentile(95),
    latency:percentile(99), latency.max, summary.errors.status,
    summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout))
end
"""


# -- machine -----------------------------------------------------------------------------------------------------


def machine() -> dict:
    cpu = next(
        (
            line.split(":", 1)[1].strip()
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if "model name" in line
        ),
        platform.processor(),
    )
    mem = int(re.search(r"MemTotal:\s+(\d+)", Path("/proc/meminfo").read_text()).group(1)) * 1024
    versions = {}
    for name in ("aiohttp", "vtk", "numpy", "PyTurboJPEG", "Pillow", "scipy"):
        try:
            from importlib.metadata import version

            versions[name] = version(name)
        except Exception:  # noqa: BLE001
            pass
    wrk = subprocess.run(["wrk", "--version"], capture_output=True, text=True)
    return {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "ram_gib": round(mem / 2**30, 1),
        "load_avg_at_start": os.getloadavg()[0],
        "python": platform.python_version(),
        "versions": versions,
        "wrk": (wrk.stdout + wrk.stderr).splitlines()[0] if (wrk.stdout + wrk.stderr) else "",
    }


def git_commit() -> str:
    out = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True)
    dirty = subprocess.run(["git", "status", "--porcelain", "src"], cwd=ROOT, capture_output=True, text=True)
    return out.stdout.strip() + ("+changes" if dirty.stdout.strip() else "")


# -- load generation ---------------------------------------------------------------------------------------------


def run_wrk(server, path: str, conc: int, duration: float, moving: bool) -> dict:
    OUT.mkdir(exist_ok=True)
    script = OUT / f"rest_wrk_{os.getpid()}.lua"
    script.write_text(WRK_LUA % {"path": path, "moving": "true" if moving else "false", "token": server.token})
    cmd = ["wrk", "-t1", f"-c{conc}", f"-d{int(duration)}s", "--timeout", "10s", "-s", str(script), server.base]
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=duration + 60)
    line = next((x for x in done.stdout.splitlines() if x.startswith("RESULT ")), None)
    if line is None:
        raise RuntimeError(f"wrk gave no result: {done.stdout}\n{done.stderr}")
    raw = json.loads(line[len("RESULT ") :])
    seconds = raw["duration_us"] / 1e6
    return {
        "rps": round(raw["requests"] / seconds, 1),
        "p50_ms": round(raw["p50_us"] / 1e3, 2),
        "p95_ms": round(raw["p95_us"] / 1e3, 2),
        "p99_ms": round(raw["p99_us"] / 1e3, 2),
        "max_ms": round(raw["max_us"] / 1e3, 2),
        "requests": raw["requests"],
        "kb_per_response": round(raw["bytes"] / max(1, raw["requests"]) / 1024, 1),
        "errors": raw["errors_status"] + raw["errors_other"],
    }


def timed_get(server, path: str) -> tuple[float, int, int]:
    start = time.perf_counter()
    status, body = server.request("GET", path, timeout=120)
    return (time.perf_counter() - start) * 1000, status, len(body) if isinstance(body, bytes) else 0


def machine_busy_seconds() -> float:
    fields = [int(x) for x in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    idle = fields[3] + fields[4]
    return (sum(fields[:8]) - idle) / os.sysconf("SC_CLK_TCK")


def children_cpu_seconds() -> float:
    import resource

    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


# -- baseline (subprocess) ---------------------------------------------------------------------------------------

BASELINE_CODE = r"""
import json, sys, time, zlib, struct, threading
import numpy as np, nrrd
from turbojpeg import TurboJPEG, TJPF_RGB, TJSAMP_420

voxels, header = nrrd.read(sys.argv[1], index_order="C")  # [k, j, i]
seconds = float(sys.argv[2])
window, level = float(sys.argv[3]), float(sys.argv[4])
size = 512
tj = TurboJPEG()
lo = level - window / 2
nk, ny, nx = voxels.shape
scale = max(ny, nx) / size  # fit the larger side in the view, as FitSliceToBackground does


def interpolation(n_in):
    # dense bilinear resampling matrix (size x n_in): out = A @ in, the view's pixel centres on the volume
    pos = (np.arange(size) + 0.5 - size / 2) * scale + n_in / 2 - 0.5
    low = np.floor(pos).astype(int)
    frac = (pos - low).astype(np.float32)
    matrix = np.zeros((size, n_in), np.float32)
    rows = np.arange(size)
    for index, weight in ((low, 1 - frac), (low + 1, frac)):
        ok = (index >= 0) & (index < n_in)
        matrix[rows[ok], index[ok]] += weight[ok]
    return matrix


a_y, a_x_t = interpolation(ny), interpolation(nx).T.copy()
gain = np.float32(255 / window)


def chunk(kind, data):
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(data, zlib.crc32(kind)))

def png(rgb):
    rows = np.empty((size, size * 3 + 1), np.uint8); rows[:, 0] = 0; rows[:, 1:] = rgb.reshape(size, -1)
    ihdr = struct.pack(">IIBBBBB", size, size, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(rows, 1)) + chunk(b"IEND", b"")

def one(k, fmt):
    plane = a_y @ voxels[k].astype(np.float32) @ a_x_t  # reslice: axial plane, bilinear, 512 x 512
    gray = np.clip((plane - lo) * gain, 0, 255).astype(np.uint8)  # window/level
    rgb = np.repeat(gray[:, :, None], 3, axis=2)  # RGB, as the render window gives
    if fmt == "jpeg":
        return tj.encode(rgb, quality=90, pixel_format=TJPF_RGB, jpeg_subsample=TJSAMP_420)
    return png(rgb)

def loop(fmt, deadline, counts, lat, idx):
    n = 0; k0 = voxels.shape[0] // 4; span = voxels.shape[0] // 2
    while time.perf_counter() < deadline:
        t = time.perf_counter(); data = one(k0 + (n * 7 + idx) % span, fmt); lat.append(time.perf_counter() - t)
        n += 1; counts[idx] += len(data)
    counts[idx + 2] = n

out = {}
for fmt in ("jpeg", "png"):
    for threads in (1, 2):
        one(100, fmt)
        counts, lat = [0, 0, 0, 0], []
        start = time.perf_counter(); deadline = start + seconds
        workers = [threading.Thread(target=loop, args=(fmt, deadline, counts, lat, i)) for i in range(threads)]
        [w.start() for w in workers]; [w.join() for w in workers]
        elapsed = time.perf_counter() - start
        n = counts[2] + counts[3]
        out[f"{fmt}_t{threads}"] = {"images_per_s": round(n / elapsed, 1),
            "p50_ms": round(float(np.percentile(lat, 50)) * 1000, 2),
            "p95_ms": round(float(np.percentile(lat, 95)) * 1000, 2),
            "kb_per_image": round((counts[0] + counts[1]) / n / 1024, 1)}
print(json.dumps(out))
"""


def baseline(volume_path: Path, seconds: float, window: float, level: float) -> dict:
    args = [sys.executable, "-c", BASELINE_CODE, str(volume_path), str(seconds), str(window), str(level)]
    env = {**os.environ, "OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1"}  # our threads, not BLAS's
    done = subprocess.run(args, capture_output=True, text=True, timeout=600, env=env)
    if done.returncode:
        raise RuntimeError(done.stderr)
    return json.loads(done.stdout.strip().splitlines()[-1])


# -- NRRD --------------------------------------------------------------------------------------------------------


def nrrd_bytes_256() -> bytes:
    rng = np.random.default_rng(3)
    voxels = (rng.standard_normal((256, 256, 256), dtype=np.float32) * 300).astype("<i2")
    header = (
        "NRRD0004\ntype: short\ndimension: 3\nspace: left-posterior-superior\nsizes: 256 256 256\n"
        "space directions: (1,0,0) (0,1,0) (0,0,1)\nkinds: domain domain domain\nendian: little\n"
        "encoding: raw\nspace origin: (0,0,0)\n\n"
    )
    return header.encode() + voxels.tobytes()


def curl_download(server, path: str, repeats: int) -> dict:
    speeds, sizes, times = [], [], []
    for i in range(repeats + 1):  # the first one warms up (not counted)
        done = subprocess.run(
            [
                "curl",
                "-s",
                "-o",
                "/dev/null",
                "-H",
                f"Authorization: Bearer {server.token}",
                "-w",
                "%{http_code} %{size_download} %{time_total}",
                server.base + path,
            ],
            capture_output=True,
            text=True,
            timeout=120,
        )
        code, size, total = done.stdout.split()
        if code != "200":
            raise RuntimeError(f"GET {path}: HTTP {code}")
        if i == 0:
            first = float(total)
            continue
        sizes.append(int(size))
        times.append(float(total))
        speeds.append(int(size) / float(total) / 1e6)
    return {
        "mb_per_s_median": round(float(np.median(speeds)), 1),
        "mb_per_s_best": round(max(speeds), 1),
        "seconds_median": round(float(np.median(times)), 4),
        "bytes": sizes[0],
        "repeats": repeats,
        "first_s": round(first, 4),
    }


# -- run ---------------------------------------------------------------------------------------------------------


def run(args) -> dict:
    conc = [int(c) for c in args.conc.split(",")]
    work = Path(tempfile.mkdtemp(prefix="rest-bench-"))
    data = work / "data"
    data.mkdir()
    if args.src:
        os.environ["PYTHONPATH"] = str(Path(args.src).resolve()) + os.pathsep + os.environ.get("PYTHONPATH", "")
    result: dict = {
        "label": args.label,
        "date": time.strftime("%Y-%m-%d %H:%M"),
        "commit": git_commit() if not args.src else f"src={args.src}",
        "machine": machine(),
        "duration_s": args.duration,
        "size": SIZE,
    }
    t0 = time.perf_counter()
    server = start_server(data, "--autosave-interval", "0", log=work / "serve.log")
    try:
        result["server_start_s"] = round(time.perf_counter() - t0, 2)
        endpoints = {
            "slicer": f"/slicer/slice?view=red&size={SIZE}&format=%s",
            "v1": f"/api/v1/views/red/image?size={SIZE}&format=%s",
        }
        cold = {}
        for name, template in endpoints.items():
            for fmt in ("jpeg", "png"):
                ms, status, size = timed_get(server, template % fmt)
                cold[f"{name}_{fmt}_first_ms"] = round(ms, 1)
                assert status == 200 and size > 1000, (name, fmt, status)
        ms, _, _ = timed_get(server, endpoints["slicer"] % "jpeg" + "&offset=12.5")
        cold["slicer_jpeg_after_offset_change_ms"] = round(ms, 1)
        result["cold"] = cold
        print("cold", cold, flush=True)

        loads = []
        for name, template in endpoints.items():
            for fmt in ("jpeg", "png"):
                for moving in (False, True):
                    for c in conc:
                        cpu0, busy0, wrk0 = (
                            cpu_seconds(server.process.pid),
                            machine_busy_seconds(),
                            children_cpu_seconds(),
                        )
                        figures = run_wrk(server, template % fmt, c, args.duration, moving)
                        server_s = cpu_seconds(server.process.pid) - cpu0
                        wrk_s = children_cpu_seconds() - wrk0
                        other_s = machine_busy_seconds() - busy0 - server_s - wrk_s
                        figures["server_cpu_pct"] = round(100 * server_s / args.duration)
                        figures["wrk_cpu_pct"] = round(100 * wrk_s / args.duration)
                        figures["other_cpu_pct"] = max(0, round(100 * other_s / args.duration))
                        row = {"endpoint": name, "format": fmt, "mode": "moving" if moving else "warm", "c": c}
                        row.update(figures)
                        loads.append(row)
                        print(row, flush=True)
        result["load"] = loads

        # the same volume the slices show, for the baseline; its window/level from the display node
        status, volumes = server.request("GET", "/api/v1/volumes")
        mni = volumes["volumes"][0]["id"]
        status, wl = server.request("GET", f"/api/v1/volumes/{mni}/display")
        window, level = float(wl.get("window", 100)), float(wl.get("level", 50))
        status, body = server.request("GET", f"/slicer/volume?id={mni}", timeout=120)
        mni_path = work / "mni.nrrd"
        mni_path.write_bytes(body)
        result["baseline"] = baseline(mni_path, args.duration, window, level)
        result["baseline"]["window_level"] = [window, level]
        print("baseline", result["baseline"], flush=True)

        status, pushed = server.request("POST", "/slicer/volume?id=bench256", body=nrrd_bytes_256(), timeout=120)
        assert status == 200, pushed
        vid = pushed["id"]
        time.sleep(args.settle)  # the viewer shows the pushed volume (its 3D view renders it once)
        result["nrrd"] = {
            "slicer": curl_download(server, f"/slicer/volume?id={vid}", args.nrrd_repeats),
            "v1": curl_download(server, f"/api/v1/volumes/{vid}", args.nrrd_repeats),
        }
        print("nrrd", result["nrrd"], flush=True)
        result["server_rss_mb_end"] = round(server.rss_mb(), 0)
    finally:
        server.stop()
        shutil.copy(work / "serve.log", OUT / f"rest_serve_{args.label}.log") if (work / "serve.log").exists() else None
        shutil.rmtree(work, ignore_errors=True)
    return result


# -- report ------------------------------------------------------------------------------------------------------


def table(results: list[dict]) -> str:
    lines = []
    for res in results:
        m = res["machine"]
        base = res["baseline"]
        lines.append(
            f"**{res['label']}** - run of {res['date']} ({res['commit']}), {res['duration_s']} s per cell, "
            f"wrk 1 thread: {m['cpu']}, {m['cores']} cores, {m['ram_gib']} GiB RAM, "
            f"load average at start {m['load_avg_at_start']:.1f}."
        )
        lines.append("")
        c = res["cold"]
        lines.append(
            f"Cold: server start {res['server_start_s']} s; first /slicer/slice JPEG {c['slicer_jpeg_first_ms']} ms, "
            f"PNG {c['slicer_png_first_ms']} ms; first v1 JPEG {c['v1_jpeg_first_ms']} ms, "
            f"PNG {c['v1_png_first_ms']} ms; "
            f"first JPEG after an offset change {c['slicer_jpeg_after_offset_change_ms']} ms."
        )
        lines.append("")
        lines.append(
            "| endpoint | format | mode | c | req/s | p50 ms | p95 ms | p99 ms | KB | server CPU % | "
            "other load CPU % | vs baseline (2 threads) |"
        )
        lines.append("|---|---|---|---|---|---|---|---|---|---|---|---|")
        for row in res["load"]:
            ref = base[f"{row['format']}_t2"]["images_per_s"]
            lines.append(
                f"| {row['endpoint']} | {row['format']} | {row['mode']} | {row['c']} | {row['rps']} | "
                f"{row['p50_ms']} | {row['p95_ms']} | {row['p99_ms']} | {row['kb_per_response']} | "
                f"{row['server_cpu_pct']:.0f} | {row.get('other_cpu_pct', '')} | {100 * row['rps'] / ref:.0f} % |"
                + (f" errors {row['errors']}" if row["errors"] else "")
            )
        for fmt in ("jpeg", "png"):
            for t in (1, 2):
                b = base[f"{fmt}_t{t}"]
                lines.append(
                    f"| baseline: numpy reslice + encoder, {t} thread{'s' if t > 1 else ''} | {fmt} | moving | - | "
                    f"{b['images_per_s']} | {b['p50_ms']} | {b['p95_ms']} | | {b['kb_per_image']} | | | |"
                )
        lines.append("")
        n = res["nrrd"]
        lines.append(
            f"NRRD download, 256^3 int16 ({n['slicer']['bytes'] / 1e6:.1f} MB, raw, curl, median of "
            f"{n['slicer']['repeats']}): `/slicer/volume?id=` {n['slicer']['mb_per_s_median']} MB/s "
            f"(best {n['slicer']['mb_per_s_best']}), `/api/v1/volumes/{{id}}` {n['v1']['mb_per_s_median']} MB/s "
            f"(best {n['v1']['mb_per_s_best']}); target >= 200 MB/s."
        )
        lines.append("")
    return "\n".join(lines).rstrip() + "\n"


def write_readme() -> None:
    files = sorted(RESULTS.glob("rest_*.json"), key=lambda p: (p.stem != "rest_before", p.stem))
    results = [json.loads(p.read_text()) for p in files]
    text = README.read_text()
    if START not in text:
        return
    head, rest = text.split(START, 1)
    _, tail = rest.split(END, 1)
    README.write_text(head + START + "\n" + table(results) + END + tail)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--label", default="after")
    parser.add_argument("--duration", type=float, default=5.0, help="seconds per load cell and per baseline loop")
    parser.add_argument("--conc", default="1,4,16")
    parser.add_argument("--nrrd-repeats", type=int, default=7)
    parser.add_argument("--settle", type=float, default=3.0, help="seconds to wait after pushing the 256^3 volume")
    parser.add_argument("--src", help="a src folder to run the server from (PYTHONPATH), e.g. an older commit's")
    parser.add_argument("--no-readme", action="store_true")
    parser.add_argument("--readme-only", action="store_true", help="rebuild the README table from results/")
    args = parser.parse_args()
    if not args.readme_only:
        if shutil.which("wrk") is None:
            sys.exit("wrk not found: apt-get install -y wrk")
        OUT.mkdir(exist_ok=True)
        RESULTS.mkdir(exist_ok=True)
        result = run(args)
        (RESULTS / f"rest_{args.label}.json").write_text(json.dumps(result, indent=1) + "\n")
    if not args.no_readme:
        write_readme()


if __name__ == "__main__":
    main()
