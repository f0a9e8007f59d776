"""Hub capacity benchmark: N users spawn at once through ``slicer-cloud hub``, each opens Slicer Web and scrolls.

usage: .venv/bin/python bench/hub_bench.py [--ns 1,2,5,10,20] [--baseline-ns 1,5] [--scroll 15] [--label hub]

* The hub is the real one (``slicer-cloud hub --auth dummy``, configurable-http-proxy, SimpleLocalProcessSpawner, no
  culling) on a free loopback port; every simulated user is a ``requests`` session that logs in through the login
  form and starts its server through the hub's REST API (as the "Start My Server" button does).
* spawn-to-first-frame: from the spawn request to the first rendered slice (JPEG, 512x512) coming back from
  ``/user/NAME/slicer/api/v1/views/red/image``; the first visit starts that user's ``slicer-cloud serve`` through
  jupyter-server-proxy, so this covers the Jupyter server, the session start-up (sample load) and one render.
* scrolling: then all N users at once, for ``--scroll`` seconds, each asks for the next axial slice as soon as the
  previous one arrived (a new offset every time: reslice, render, encode, through hub proxy -> Jupyter -> session);
  frames per second per user, min / p50 over users.
* memory: PSS (proportional set size: shared libraries split between the processes that map them) of each user's
  Jupyter server and of its session, from /proc/PID/smaps_rollup, while all N sessions are running.
* baseline (same run, same machine): N plain ``slicer-cloud serve`` processes, no hub, no proxy: start-to-first-frame
  and the same scrolling, so the table shows what the hub path costs.

Writes bench/results/hub_<label>.json.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import signal
import statistics as st
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import psutil
import requests

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
RESULTS = HERE / "results"
sys.path.insert(0, str(ROOT / "tests"))

from helpers.serve import free_port, start_server  # noqa: E402

FRAME = "api/v1/views/red/image?format=jpeg&size=512&orientation=axial"


def pct(values: list[float], q: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    return round(ordered[min(len(ordered) - 1, int(round(q / 100 * (len(ordered) - 1))))], 3)


def pss_mb(process: psutil.Process) -> float:
    try:
        text = Path(f"/proc/{process.pid}/smaps_rollup").read_text()
    except OSError:
        return 0.0
    match = re.search(r"^Pss:\s+(\d+) kB", text, re.M)
    return int(match.group(1)) / 1024 if match else 0.0


def scroll(get_frame, seconds: float, start_event: threading.Event) -> float:
    """Frames per second while asking for a new slice each time the previous one arrived."""
    start_event.wait()
    frames, n = 0, 0
    deadline = time.monotonic() + seconds
    start = time.monotonic()
    while time.monotonic() < deadline:
        n += 1
        offset = -60 + (n * 7) % 120
        if get_frame(offset):
            frames += 1
    return frames / (time.monotonic() - start)


class HubUser:
    def __init__(self, base: str, name: str) -> None:
        self.base, self.name = base, name
        self.http = requests.Session()

    def login(self) -> None:
        page = self.http.get(self.base + "hub/login", timeout=60)
        xsrf = re.search(r'name="_xsrf" value="([^"]+)"', page.text).group(1)
        reply = self.http.post(self.base + "hub/login", data={"username": self.name, "password": "x", "_xsrf": xsrf},
                               timeout=60, allow_redirects=False)  # fmt: skip
        if reply.status_code != 302:
            raise RuntimeError(f"login of {self.name} failed: {reply.status_code}")

    def spawn_to_first_frame(self) -> float:
        xsrf = self.http.cookies.get("_xsrf", "")
        start = time.monotonic()
        reply = self.http.post(f"{self.base}hub/api/users/{self.name}/server", headers={"X-XSRFToken": xsrf},
                               timeout=300)  # fmt: skip
        if reply.status_code not in (201, 202):
            raise RuntimeError(f"spawn of {self.name} failed: {reply.status_code} {reply.text[:200]}")
        deadline = start + 600
        while time.monotonic() < deadline:
            frame = self.http.get(f"{self.base}user/{self.name}/slicer/{FRAME}", timeout=600)
            if frame.status_code == 200 and frame.content[:2] == b"\xff\xd8":
                return time.monotonic() - start
            time.sleep(0.5)  # the server is still starting (the hub answers with its spawn-pending page)
        raise RuntimeError(f"no first frame for {self.name}")

    def frame(self, offset: float) -> bool:
        reply = self.http.get(f"{self.base}user/{self.name}/slicer/{FRAME}&offset={offset:.1f}", timeout=120)
        return reply.status_code == 200


def run_hub(n: int, seconds: float, work: Path) -> dict:
    port = free_port()
    base = f"http://127.0.0.1:{port}/"
    log = work / f"hub-{n}.log"
    command = [sys.executable, "-m", "slicer_cloud", "hub", "--auth", "dummy", "--port", str(port), "--state",
               str(work / f"state-{n}"), "--idle-timeout", "0", "--log-level", "WARNING"]  # fmt: skip
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    env.pop("SLICER_CLOUD_TOKEN", None)
    with log.open("wb") as out:
        hub = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT, env=env)
    try:
        deadline = time.monotonic() + 120
        while "Open: " not in log.read_text(errors="replace"):
            if hub.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(log.read_text()[-3000:])
            time.sleep(0.5)
        users = [HubUser(base, f"user{i:02d}") for i in range(n)]
        for user in users:
            user.login()
        t0 = time.monotonic()
        with ThreadPoolExecutor(n) as pool:
            spawn = list(pool.map(lambda u: u.spawn_to_first_frame(), users))
        all_ready_s = time.monotonic() - t0
        servers, sessions = [], []
        for child in psutil.Process(hub.pid).children(recursive=True):
            cmd = " ".join(child.cmdline())
            if "jupyterhub.singleuser" in cmd:
                servers.append(child)
            elif "slicer_cloud serve" in cmd:
                sessions.append(child)
        server_pss = [pss_mb(p) for p in servers]
        session_pss = [pss_mb(p) for p in sessions]
        go = threading.Event()
        with ThreadPoolExecutor(n) as pool:
            futures = [pool.submit(scroll, u.frame, seconds, go) for u in users]
            go.set()
            fps = [f.result() for f in futures]
        return {
            "n": n,
            "spawn_to_first_frame_s": {"p50": pct(spawn, 50), "p95": pct(spawn, 95), "max": round(max(spawn), 2)},
            "all_ready_s": round(all_ready_s, 1),
            "pss_mb_per_user": {
                "jupyter_server": round(st.mean(server_pss), 1) if server_pss else None,
                "slicer_session": round(st.mean(session_pss), 1) if session_pss else None,
                "total": round((sum(server_pss) + sum(session_pss)) / n, 1),
            },
            "sessions_found": len(sessions),
            "scroll_fps_per_user": {"min": round(min(fps), 2), "p50": pct(fps, 50), "sum": round(sum(fps), 1)},
            "every_user_at_least_10_fps": min(fps) >= 10,
            "memory_available_gb_while_running": round(psutil.virtual_memory().available / 2**30, 1),
        }
    finally:
        hub.send_signal(signal.SIGTERM)
        try:
            hub.wait(120)
        except subprocess.TimeoutExpired:
            hub.kill()


def run_direct(n: int, seconds: float, work: Path) -> dict:
    """Baseline: N plain sessions, no hub, no proxy."""
    t0 = time.monotonic()

    def start(i: int):
        data = work / f"direct-{n}-{i}"
        data.mkdir(parents=True)
        server = start_server(data, wait=600)
        server.request("GET", "/" + FRAME, timeout=300)
        return server, time.monotonic() - t0

    with ThreadPoolExecutor(n) as pool:
        started = list(pool.map(start, range(n)))
    servers = [s for s, _ in started]
    first = [t for _, t in started]
    try:
        pss = [pss_mb(psutil.Process(s.process.pid)) for s in servers]
        go = threading.Event()

        def frame_of(server):
            return lambda offset: server.request("GET", f"/{FRAME}&offset={offset:.1f}", timeout=120)[0] == 200

        with ThreadPoolExecutor(n) as pool:
            futures = [pool.submit(scroll, frame_of(s), seconds, go) for s in servers]
            go.set()
            fps = [f.result() for f in futures]
    finally:
        for server in servers:
            server.stop()
    return {
        "n": n,
        "start_to_first_frame_s": {"p50": pct(first, 50), "p95": pct(first, 95), "max": round(max(first), 2)},
        "pss_mb_per_session": round(st.mean(pss), 1),
        "scroll_fps_per_user": {"min": round(min(fps), 2), "p50": pct(fps, 50), "sum": round(sum(fps), 1)},
        "every_user_at_least_10_fps": min(fps) >= 10,
    }


def machine() -> dict:
    return {
        "cpus": os.cpu_count(),
        "memory_gb": round(psutil.virtual_memory().total / 2**30, 1),
        "python": platform.python_version(),
        "platform": platform.platform(),
        "rendering": "Mesa llvmpipe (EGL, no GPU)",
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--ns", default="1,2,5,10,20")
    parser.add_argument("--baseline-ns", default="1,5")
    parser.add_argument("--scroll", type=float, default=15.0)
    parser.add_argument("--label", default="hub")
    args = parser.parse_args()
    results: dict = {"machine": machine(), "scroll_seconds": args.scroll, "hub": [], "direct": []}
    with tempfile.TemporaryDirectory(prefix="hub-bench-") as tmp:
        work = Path(tmp)
        for n in [int(x) for x in args.baseline_ns.split(",") if x]:
            print(f"direct sessions, N={n} ...", flush=True)
            results["direct"].append(run_direct(n, args.scroll, work))
            print(json.dumps(results["direct"][-1]), flush=True)
        for n in [int(x) for x in args.ns.split(",") if x]:
            print(f"hub, N={n} ...", flush=True)
            try:
                results["hub"].append(run_hub(n, args.scroll, work))
            except Exception as exc:  # a capacity limit is a result too
                results["hub"].append({"n": n, "error": str(exc)[-500:]})
            print(json.dumps(results["hub"][-1]), flush=True)
    fine = [r["n"] for r in results["hub"] if r.get("every_user_at_least_10_fps")]
    results["largest_n_with_every_user_at_least_10_fps"] = max(fine) if fine else None
    RESULTS.mkdir(exist_ok=True)
    out = RESULTS / f"hub_{args.label}.json" if args.label != "hub" else RESULTS / "hub.json"
    out.write_text(json.dumps(results, indent=2) + "\n")
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
