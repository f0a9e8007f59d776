"""Desktop stream vs. web viewer: bandwidth and frame rate while slices scroll and the 3D view rotates.

Two targets on the same data (the bundled sample MRI with MR-Default volume rendering), the same 1400x900 browser
viewport (Debian chromium through playwright), the same real browser input (playwright's mouse: trusted events, which
noVNC needs; 60 events/s for 10 s per scenario):

- ``desktop``: ``slicer-cloud desktop`` with the built-in native viewer (a slice window and a 3D window side by side,
  ``--geometry 1400x900``) seen through noVNC (resize=remote: the remote screen is the viewport's size).
- ``serve``: ``slicer-cloud serve``, the trame-slicer web viewer (4-up layout), exactly like bench/bench.py.

Scenarios: ``wheel`` (mouse wheel over the slice view: slice scrolling) and ``rotate3d`` (left-drag circles in the
3D view: rotation with volume rendering). Figures, as seen by the browser: bytes/s of all WebSocket messages,
frames/s (desktop: noVNC canvas updates, i.e. completed FramebufferUpdates; serve: images of the driven view),
bits per pixel (desktop: per updated pixel; serve: per pixel of the driven view), input -> next frame p50/p95,
CPU of the server side (desktop: slicer-cloud + Xtigervnc/x11vnc + openbox + the app) and of the browser, memory
(PSS) of the server side, and cold start (launch -> first picture of the volume in the page).

usage: python bench/desktop_bench.py [--targets desktop,serve] [--reps 3] [--scenario-s 10] [--out bench/results]
Writes OUT/desktop_bench.json (every run of both targets, machine info) and prints a markdown table (medians).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import re
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time

from playwright.sync_api import sync_playwright

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

import bench as web  # noqa: E402  (bench/bench.py: the web viewer harness, reused for the serve target)

ROOT = web.ROOT
PY = web.PY
VIEWPORT = web.VIEWPORT
TOKEN = web.TOKEN
HZ = 60
# The native viewer's two windows on a 1400x900 screen (openbox puts a title bar on top of each).
DESKTOP_SLICE = (350, 470)
DESKTOP_3D = (1050, 470)
DESKTOP_INIT_JS = r"""
(() => {
  window.__frames = []; window.__inputs = []; window.__flips = [];
  const now = () => performance.timeOrigin + performance.now();
  // A plain WebSocket with one more listener (noVNC refuses a subclass: it checks the prototype's own names).
  const Orig = window.WebSocket;
  const Patched = function (...a) {
    const ws = new Orig(...a);
    ws.addEventListener('message', e => { const d = e.data;
      if (typeof d !== 'string') window.__frames.push([now(), d.byteLength !== undefined ? d.byteLength : d.size]); });
    return ws;
  };
  Patched.prototype = Orig.prototype;
  for (const k of ['CONNECTING', 'OPEN', 'CLOSING', 'CLOSED']) Patched[k] = Orig[k];
  window.WebSocket = Patched;
  // noVNC's Display.flip() copies the damaged part of its back buffer onto the visible canvas with one
  // 9-argument drawImage per completed FramebufferUpdate: log [time, damaged pixels].
  const draw = CanvasRenderingContext2D.prototype.drawImage;
  CanvasRenderingContext2D.prototype.drawImage = function (...a) {
    if (a.length === 9 && a[0] instanceof HTMLCanvasElement && this.canvas.closest &&
        this.canvas.closest('#noVNC_container')) window.__flips.push([now(), a[3] * a[4]]);
    return draw.apply(this, a);
  };
})();
""" + open(os.path.join(HERE, "drive.js")).read()


def process_tree(root: int) -> list[int]:
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                ppid = int(open(f"/proc/{entry}/stat").read().rsplit(")", 1)[1].split()[1])
            except OSError:
                continue
            children.setdefault(ppid, []).append(int(entry))
    found, todo = [root], list(children.get(root, []))
    while todo:
        pid = todo.pop()
        found.append(pid)
        todo.extend(children.get(pid, []))
    return found


def tree_cpu(root: int) -> float:
    total = 0.0
    for pid in process_tree(root):
        try:
            total += web.cpu_s(pid)
        except OSError:
            pass
    return total


def tree_mem_mb(root: int) -> dict:
    pss = anon = 0
    names = {}
    for pid in process_tree(root):
        try:
            m = web.mem_kb(pid)
            name = open(f"/proc/{pid}/comm").read().strip()
        except OSError:
            continue
        pss += m["Pss"]
        anon += m.get("Pss_Anon", 0)
        names[name] = round(names.get(name, 0) + m["Pss"] / 1024, 1)
    return dict(pss_mb=round(pss / 1024, 1), pss_anon_mb=round(anon / 1024, 1), by_process_mb=names)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def latency(inputs: list[float], frames: list[float]) -> dict:
    lat, j = [], 0
    for ti in inputs:
        while j < len(frames) and frames[j] <= ti:
            j += 1
        if j < len(frames):
            lat.append(frames[j] - ti)
    return dict(
        lat_p50_ms=1000 * web.pct(lat, 0.5) if lat else None, lat_p95_ms=1000 * web.pct(lat, 0.95) if lat else None
    )


def drive(page, kind: str, params: dict, seconds: float, hz: float = HZ) -> list[float]:
    """Real browser input (playwright mouse: trusted events, which noVNC needs) at ``hz`` for ``seconds``.

    ``wheel``: wheel notches over (cx, cy), direction flipped every ``flip`` events (the slice goes back and forth).
    ``rotate``: left-drag along a circle of radius r around (cx, cy), one turn per ``period`` events.
    Each event is a round trip to the browser: on a busy machine fewer than ``hz`` per second go out.
    Returns the time of each input (s, epoch), taken right before it is sent.
    """
    times: list[float] = []
    n = round(seconds * hz)
    cx, cy = params["cx"], params["cy"]

    def point(i: int) -> tuple[float, float]:
        angle = 2 * math.pi * i / params["period"]
        return cx + params["r"] * math.cos(angle), cy + params["r"] * math.sin(angle)

    if kind == "rotate":
        page.mouse.move(*point(0))
        page.mouse.down()
    else:
        page.mouse.move(cx, cy)
    t0 = time.time()
    for i in range(n):
        wait = t0 + i / hz - time.time()
        if wait > 0:
            time.sleep(wait)
        if time.time() - t0 >= seconds:  # a busy machine sends fewer events, never for longer
            break
        times.append(time.time())
        if kind == "rotate":
            page.mouse.move(*point(i + 1))
        else:
            page.mouse.wheel(0, 100 if (i // params["flip"]) % 2 == 0 else -100)
    if kind == "rotate":
        page.mouse.up()
    return times


class Target:
    """One server + one page; subclasses say how to start it, when it is ready and what a frame is."""

    name = ""
    views: dict[str, tuple[int, int]] = {}

    def __init__(self, page, data_dir: str, log) -> None:
        self.page, self.data_dir, self.log = page, data_dir, log
        self.proc: subprocess.Popen | None = None

    def ws_bytes(self, t0: float, t1: float) -> int:
        return sum(size for t, size in self.page.evaluate("window.__frames") if t0 <= t / 1000 <= t1)

    def frame_count(self) -> int:
        raise NotImplementedError

    def wait_quiet(self, quiet_s: float = 1.0, max_s: float = 120.0) -> None:
        t0, n, t_last = time.time(), self.frame_count(), time.time()
        while time.time() - t0 < max_s:
            self.page.wait_for_timeout(200)
            if self.frame_count() != n:
                n, t_last = self.frame_count(), time.time()
            elif time.time() - t_last >= quiet_s:
                return

    def scenario(self, name: str, view: str, kind: str, params: dict, seconds: float) -> dict:
        self.wait_quiet()
        self.page.mouse.move(*self.views[view])
        self.page.wait_for_timeout(1500)
        server0 = tree_cpu(self.proc.pid)
        browser0 = web.tree_cpu_s(os.getpid()) - server0  # our children: the browser and the server tree
        ta = time.time()
        inputs = drive(self.page, kind, params, seconds)
        tb = time.time()
        server1 = tree_cpu(self.proc.pid)
        browser1 = web.tree_cpu_s(os.getpid()) - server1
        self.page.wait_for_timeout(1000)
        self.wait_quiet()
        result = self.figures(view, ta, tb, inputs)
        total = self.ws_bytes(ta, tb)
        duration = tb - ta
        result.update(
            duration_s=round(duration, 2),
            inputs=len(inputs),
            input_rate=round(len(inputs) / duration, 1),  # below HZ when the machine is too busy to send them
            ws_bytes_per_s=total / duration,
            ws_MB_per_s=round(total / duration / 1e6, 3),
            server_cpu_pct=round(100 * (server1 - server0) / duration, 1),
            browser_cpu_pct=round(100 * (browser1 - browser0) / duration, 1),
        )
        print(self.name, name, json.dumps({k: v for k, v in result.items() if not isinstance(v, dict)}), flush=True)
        return result

    def figures(self, view: str, ta: float, tb: float, inputs: list[float]) -> dict:
        raise NotImplementedError


class Desktop(Target):
    name = "desktop"
    views = {"slice": DESKTOP_SLICE, "3d": DESKTOP_3D}

    def start(self) -> tuple[str, float]:
        exe = os.path.join(os.path.dirname(PY), "slicer-cloud")
        cmd = [exe, "desktop", "--port", "0", "--token", TOKEN, "--data", self.data_dir, "--geometry", "1400x900"]
        self.t0 = time.time()
        self.proc = subprocess.Popen(cmd, stdout=self.log, stderr=subprocess.STDOUT, env={**os.environ})
        deadline = time.time() + 120
        while time.time() < deadline:
            text = open(self.log.name).read()
            found = re.search(r"^Open: (\S+)$", text, re.M)
            if found:
                self.vnc = (re.search(r"on display :\d+ \((\w+)\)", text) or [None, "?"])[1]
                return found.group(1), time.time() - self.t0
            if self.proc.poll() is not None:
                raise RuntimeError(f"desktop exited: {text[-2000:]}")
            time.sleep(0.05)
        raise RuntimeError("desktop printed no URL")

    def cold(self, url: str, url_s: float) -> dict:
        self.page.goto(url)
        self.page.wait_for_function("document.documentElement.classList.contains('noVNC_connected')", timeout=60000)
        connected = time.time() - self.t0
        # First picture of the volume: the window's middle is no longer flat (the brain is drawn), slice then 3D.
        shown = {}
        for name, (x, y) in (("slice", DESKTOP_SLICE), ("3d", DESKTOP_3D)):
            t = self.page.wait_for_function(
                f"""(() => {{ const c = document.querySelector('#noVNC_container canvas');
                     if (!c || c.width < {x + 60}) return false;
                     const d = c.getContext('2d').getImageData({x - 60}, {y - 60}, 120, 120).data;
                     let mn = 255, mx = 0;
                     for (let i = 0; i < d.length; i += 4) {{ mn = Math.min(mn, d[i]); mx = Math.max(mx, d[i]); }}
                     return mx - mn > 60 ? performance.timeOrigin + performance.now() : false; }})()""",
                timeout=240000,
                polling=100,
            ).json_value()
            shown[name] = t / 1000 - self.t0
        return dict(
            url_printed_s=url_s,
            novnc_connected_s=connected,
            first_volume_picture_s=shown["slice"],
            first_3d_picture_s=shown["3d"],
        )

    def frame_count(self) -> int:
        return self.page.evaluate("window.__flips.length")

    def figures(self, view: str, ta: float, tb: float, inputs: list[float]) -> dict:
        flips = [(t / 1000, px) for t, px in self.page.evaluate("window.__flips")]
        during = [(t, px) for t, px in flips if ta <= t <= tb]
        pixels = sum(px for _, px in during)
        total = self.ws_bytes(ta, tb)
        screen = self.page.evaluate("(() => { const c = document.querySelector('#noVNC_container canvas');"
                                    " return [c.width, c.height]; })()")  # fmt: skip
        return dict(
            frames=len(during),
            fps=round(len(during) / (tb - ta), 1),
            KB_per_frame=round(total / len(during) / 1e3, 1) if during else None,
            updated_pixels_per_frame=round(pixels / len(during)) if during else None,
            bits_per_updated_pixel=round(8 * total / pixels, 3) if pixels else None,
            bits_per_screen_pixel_per_frame=round(8 * total / len(during) / (screen[0] * screen[1]), 3)
            if during
            else None,
            screen=screen,
            backlog_s=round(max((t for t, _ in flips if t > tb), default=tb) - tb, 2),
            **latency(inputs, [t for t, _ in flips]),
        )


class Serve(Target):
    name = "serve"
    views = {"slice": web.RED_CENTER, "3d": web.THREED_CENTER}
    view_names = {"slice": "Red", "3d": "ThreeD"}

    def start(self) -> tuple[str, float]:
        port = free_port()
        cmd, url = web.server_command("ours", port, self.data_dir)
        self.t0 = time.time()
        self.proc = subprocess.Popen(cmd, stdout=self.log, stderr=subprocess.STDOUT)
        return url, web.wait_port(self.proc, port) - self.t0

    def attach(self) -> None:
        self.frames = web.FrameLog()
        self.frames.attach(self.page)

    def cold(self, url: str, url_s: float) -> dict:
        self.page.goto(url)
        self.page.wait_for_function("window.__visible !== null", timeout=180000, polling=50)
        visible = self.page.evaluate("window.__visible")
        first_3d = None
        for _ in range(1200):
            frames = [f for f in web.merged_frames(self.page, self.frames) if f["view"] == "ThreeD"]
            if frames:
                first_3d = frames[0]["t"] - self.t0
                break
            self.page.wait_for_timeout(100)
        return dict(port_open_s=url_s, first_volume_picture_s=visible[0] / 1000 - self.t0, first_3d_picture_s=first_3d)

    def frame_count(self) -> int:
        return len(self.frames.frames)

    def figures(self, view: str, ta: float, tb: float, inputs: list[float]) -> dict:
        name = self.view_names[view]
        frames = web.merged_frames(self.page, self.frames)
        size = self.page.evaluate(
            "([x,y]) => {const i=document.elementsFromPoint(x,y).find(e=>e.tagName==='IMG');"
            " const r=i.getBoundingClientRect(); return [Math.round(r.width),Math.round(r.height)]}",
            list(self.views[view]),
        )
        a = web.analyse(frames, [[t * 1000, "gen"] for t in inputs], ta, tb, name, size[0] * size[1])
        total = self.ws_bytes(ta, tb)
        after = [f["t"] for f in frames if f["t"] > tb]
        return dict(
            frames=a["frames"],
            fps=round(a["fps"], 1),
            KB_per_frame=round(a["bytes_mean"] / 1e3, 1),
            bits_per_view_pixel=round(a["bpp_view_mean"], 3) if a["bpp_view_mean"] else None,
            view_size=size,
            other_views_frames={k: v["frames"] for k, v in a["all_views"].items() if k != name},
            KB_per_frame_all_ws=round(total / max(1, sum(v["frames"] for v in a["all_views"].values())) / 1e3, 1),
            backlog_s=round((max(after) - tb) if after else 0.0, 2),
            lat_p50_ms=a["lat_next_frame_p50_ms"],
            lat_p95_ms=a["lat_next_frame_p95_ms"],
        )


def run_target(kind: str, seconds: float, logdir: str) -> dict:
    os.makedirs(logdir, exist_ok=True)
    data_dir = tempfile.mkdtemp(prefix=f"bench-{kind}-")
    log = open(os.path.join(logdir, f"desktop_bench_{kind}.log"), "w")
    result: dict = dict(target=kind, loadavg_start=os.getloadavg())
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=web.CHROMIUM_ARGS)
        context = browser.new_context(viewport=VIEWPORT, device_scale_factor=1)
        page = context.new_page()
        target: Target = Desktop(page, data_dir, log) if kind == "desktop" else Serve(page, data_dir, log)
        page.add_init_script(DESKTOP_INIT_JS if kind == "desktop" else web.INIT_JS)
        if isinstance(target, Serve):
            target.attach()
        page.goto("about:blank")
        try:
            url, url_s = target.start()
            result["cold"] = target.cold(url, url_s)
            if isinstance(target, Desktop):
                result["vnc_server"] = target.vnc
            print(kind, "cold", json.dumps(result["cold"]), flush=True)
            page.wait_for_timeout(4000)
            target.wait_quiet()
            result["memory_idle"] = tree_mem_mb(target.proc.pid)
            if isinstance(target, Desktop):
                # Native viewer: the wheel over the slice window scrolls slices; click it first for focus.
                page.mouse.click(*DESKTOP_SLICE)
            sx, sy = target.views["slice"]
            cx, cy = target.views["3d"]
            result["wheel"] = target.scenario("wheel", "slice", "wheel", dict(cx=sx, cy=sy, flip=60), seconds)
            result["rotate3d"] = target.scenario(
                "rotate3d", "3d", "rotate", dict(cx=cx, cy=cy, r=80, period=120), seconds
            )
            result["memory_after"] = tree_mem_mb(target.proc.pid)
            page.screenshot(path=os.path.join(logdir, f"desktop_bench_{kind}.png"))
        finally:
            context.close()
            browser.close()
            if target.proc is not None:
                web.stop_server(target.proc)
            log.close()
            shutil.rmtree(data_dir, ignore_errors=True)
    result["loadavg_end"] = os.getloadavg()
    return result


def machine() -> dict:
    cpu = next((line.split(":", 1)[1].strip() for line in open("/proc/cpuinfo") if line.startswith("model name")), "?")
    versions = {}
    for tool, args in (("Xtigervnc", ["-version"]), ("chromium", ["--version"])):
        try:
            out = subprocess.run([tool, *args], capture_output=True, text=True, timeout=20)
            versions[tool] = (out.stdout + out.stderr).strip().splitlines()[0]
        except (OSError, subprocess.SubprocessError, IndexError):
            versions[tool] = None
    novnc = subprocess.run(["dpkg-query", "-W", "-f=${Version}", "novnc"], capture_output=True, text=True)
    versions["novnc"] = novnc.stdout.strip() or None
    commit = subprocess.run(["git", "-C", ROOT, "rev-parse", "--short", "HEAD"], capture_output=True, text=True)
    return dict(
        cpu=cpu,
        cores=os.cpu_count(),
        ram_gib=round(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30, 1),
        python=platform.python_version(),
        commit=commit.stdout.strip(),
        date=time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
        **versions,
    )


ROWS = [
    ("cold", "first_volume_picture_s", "Cold start: launch -> first slice picture in the page (s)"),
    ("cold", "first_3d_picture_s", "Cold start: launch -> first 3D picture in the page (s)"),
    ("memory_idle", "pss_mb", "Memory, server side, idle with the volume shown: PSS (MB)"),
    ("memory_after", "pss_mb", "Memory after the interaction: PSS (MB)"),
]
SCENARIO_ROWS = [
    ("input_rate", "input events sent per s"),
    ("ws_MB_per_s", "bandwidth, all WebSocket messages (MB/s)"),
    ("fps", "frames/s"),
    ("KB_per_frame", "KB per frame"),
    ("bits", "bits per pixel"),
    ("lat_p50_ms", "input -> next frame p50 (ms)"),
    ("lat_p95_ms", "input -> next frame p95 (ms)"),
    ("server_cpu_pct", "server-side CPU (% of one core)"),
    ("browser_cpu_pct", "browser CPU (% of one core)"),
    ("backlog_s", "frames still coming after the input stopped (s)"),
]


def _median_cell(values: list) -> str:
    def fmt(value) -> str:
        return f"{value:.0f}" if abs(value) >= 100 else f"{value:.3g}"

    values = [v for v in values if v is not None]
    if not values:
        return "-"
    middle = fmt(statistics.median(values))
    return middle if len(values) == 1 else f"{middle} ({fmt(min(values))}-{fmt(max(values))})"


def table(results: dict) -> str:
    """Markdown table: median over the repetitions, (min-max) when more than one."""
    targets = [t for t in ("desktop", "serve") if t in results]
    head = "| Measure | " + " | ".join(
        {"desktop": "desktop (noVNC, native viewer)", "serve": "serve (web viewer)"}[t] for t in targets
    )
    lines = [head + " |", "|---" * (len(targets) + 1) + "|"]
    for section, key, label in ROWS:
        cells = [_median_cell([run.get(section, {}).get(key) for run in results[t]]) for t in targets]
        lines.append(f"| {label} | " + " | ".join(cells) + " |")
    for scenario, title in (("wheel", "Wheel over the slice view"), ("rotate3d", "3D rotation with VR")):
        for key, label in SCENARIO_ROWS:
            cells = []
            for t in targets:
                values = []
                for run in results[t]:
                    r = run.get(scenario, {})
                    values.append(
                        r.get("bits_per_updated_pixel", r.get("bits_per_view_pixel")) if key == "bits" else r.get(key)
                    )
                cells.append(_median_cell(values))
            first = title + ": " + label if key == SCENARIO_ROWS[0][0] else "  " + label
            lines.append(f"| {first} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--targets", default="desktop,serve")
    parser.add_argument("--scenario-s", type=float, default=10.0)
    parser.add_argument("--reps", type=int, default=3, help="runs per target (the table shows medians)")
    parser.add_argument("--out", default=os.path.join(HERE, "results"))
    parser.add_argument("--logdir", default=os.path.join(HERE, "out"))
    parser.add_argument("--table-only", action="store_true", help="print the table of OUT/desktop_bench.json")
    args = parser.parse_args()
    path = os.path.join(args.out, "desktop_bench.json")
    if args.table_only:
        print(table(json.load(open(path))["results"]))
        return 0
    kinds = args.targets.split(",")
    results: dict[str, list] = {kind: [] for kind in kinds}
    for _ in range(args.reps):  # targets alternate, so both see the same machine load
        for kind in kinds:
            results[kind].append(run_target(kind, args.scenario_s, args.logdir))
    os.makedirs(args.out, exist_ok=True)
    info = dict(machine=machine(), scenario_s=args.scenario_s, input_hz=HZ, reps=args.reps, results=results)
    with open(path, "w") as f:
        json.dump(info, f, indent=1)
    print(table(results))
    return 0


if __name__ == "__main__":
    sys.exit(main())
