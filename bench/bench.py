"""Browser benchmark of one viewer server: slicer-cloud ("ours") or trame-slicer's MedicalViewerApp ("baseline").

Adapted from the baseline harness (/work/shared/bench-baseline/bench.py): same page instrumentation (patched
WebSocket for receive times, playwright `framereceived` to decode trame-rca frames), same in-page input generator
(bench/drive.js), same view geometry (1400x900 viewport, 4-up layout).

One run = one server process: cold start (process launch -> first non-blank axial image in the browser), memory
(PSS from /proc/PID/smaps_rollup) idle with the sample + volume rendering shown, then 10 s scenarios at ~60 input
events/s (axial slider drag, wheel over the axial view, 3D rotation, wheel over the axial view while rotating the
3D view), memory after interaction, then isolated single-event latencies.

usage: python bench/bench.py TARGET PORT OUT.json     (TARGET: ours | baseline)
"""

from __future__ import annotations

import json
import math
import os
import shutil
import socket
import statistics as st
import subprocess
import sys
import tempfile
import time

import msgpack
from playwright.sync_api import sync_playwright

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
PY = os.environ.get("BENCH_PY", os.path.join(ROOT, ".venv", "bin", "python"))
VOLUME = os.environ.get("BENCH_VOLUME") or os.path.join(
    ROOT, "src", "slicer_cloud", "data", "mni_icbm152_t1_tal_nlin_sym_09a_converted.nii.gz"
)
BASELINE_SERVER = os.environ.get("BASELINE_SERVER", "/work/shared/bench-baseline/server.py")
LOGDIR = os.environ.get("BENCH_LOGDIR", os.path.join(HERE, "out"))
SCENARIO_S = float(os.environ.get("BENCH_SCENARIO_S", "10"))
CLK = os.sysconf("SC_CLK_TCK")
VIEWPORT = {"width": 1400, "height": 900}
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
RED_CENTER = (380, 470)  # axial slice view (678x814 at x=41,y=65)
RED_SLIDER_Y, RED_SLIDER_X = 863, (60, 700)
THREED_CENTER = (1060, 200)  # 3D view (678x270 at x=721,y=65)
VIEW_POINTS = {"Red": RED_CENTER, "ThreeD": THREED_CENTER, "Green": (1060, 470), "Yellow": (1060, 740)}
TOKEN = "bench-" + os.urandom(9).hex()  # never written to results

INIT_JS = (
    r"""
(() => {
  window.__frames = []; window.__inputs = []; window.__visible = null;
  const now = () => performance.timeOrigin + performance.now();
  const Orig = window.WebSocket;
  window.WebSocket = class extends Orig {
    constructor(...a) { super(...a);
      this.addEventListener('message', e => { const d = e.data;
        if (typeof d !== 'string')
          window.__frames.push([now(), d.byteLength !== undefined ? d.byteLength : d.size]); });
    }
  };
  // cold-start detector: first non-blank decoded <img> in the axial view
  const cv = document.createElement('canvas'); cv.width = 32; cv.height = 32;
  const ctx = cv.getContext('2d', {willReadFrequently: true});
  const poll = () => {
    if (window.__visible) return;
    try {
      const img = document.elementsFromPoint(RED_X, RED_Y).find(el => el.tagName === 'IMG');
      if (img && img.complete && img.naturalWidth > 0) {
        ctx.drawImage(img, 0, 0, 32, 32);
        const d = ctx.getImageData(0, 0, 32, 32).data; let mx = 0;
        for (let i = 0; i < d.length; i += 4) mx = Math.max(mx, d[i], d[i+1], d[i+2]);
        if (mx > 60) { window.__visible = [now(), img.naturalWidth, img.naturalHeight, mx]; return; }
      }
    } catch (e) {}
    requestAnimationFrame(poll);
  };
  requestAnimationFrame(poll);
})();
""".replace("RED_X", str(RED_CENTER[0])).replace("RED_Y", str(RED_CENTER[1]))
    + open(os.path.join(HERE, "drive.js")).read()
)


# -- process helpers --------------------------------------------------------------------------------------------


def cpu_s(pid: int) -> float:
    f = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
    return (int(f[11]) + int(f[12])) / CLK  # utime + stime, all threads


def system_busy() -> tuple[float, float]:
    """(busy, total) CPU seconds of the whole machine so far, from /proc/stat."""
    f = [int(x) for x in open("/proc/stat").readline().split()[1:]]
    idle = f[3] + f[4]
    return (sum(f) - idle) / CLK, sum(f) / CLK


def tree_cpu_s(root: int) -> float:
    """CPU seconds of `root`'s descendants (playwright driver + chromium), excluding `root` itself."""
    children: dict[int, list[int]] = {}
    for d in os.listdir("/proc"):
        if d.isdigit():
            try:
                ppid = int(open(f"/proc/{d}/stat").read().rsplit(")", 1)[1].split()[1])
            except OSError:
                continue
            children.setdefault(ppid, []).append(int(d))
    total, todo = 0.0, list(children.get(root, []))
    while todo:
        pid = todo.pop()
        try:
            total += cpu_s(pid)
        except OSError:
            pass
        todo.extend(children.get(pid, []))
    return total


def mem_kb(pid: int) -> dict:
    d = {}
    for line in open(f"/proc/{pid}/smaps_rollup"):
        p = line.split()
        if p[0] in ("Rss:", "Pss:", "Pss_Anon:", "Pss_File:", "Private_Clean:", "Private_Dirty:"):
            d[p[0][:-1]] = int(p[1])
    d["Uss"] = d.pop("Private_Clean", 0) + d.pop("Private_Dirty", 0)
    d["threads"] = len(os.listdir(f"/proc/{pid}/task"))
    return d


def server_command(target: str, port: int, data_dir: str) -> tuple[list[str], str]:
    if target == "baseline":
        return [PY, BASELINE_SERVER, str(port), VOLUME], f"http://127.0.0.1:{port}/"
    if target == "ours":
        exe = os.path.join(os.path.dirname(PY), "slicer-cloud")
        cmd = [
            exe,
            "serve",
            "--port",
            str(port),
            "--token",
            TOKEN,
            "--data",
            data_dir,
            "--autosave-interval",
            "0",
            "--log-level",
            os.environ.get("BENCH_LOG_LEVEL", "WARNING"),
        ]
        return cmd, f"http://127.0.0.1:{port}/?token={TOKEN}"
    raise SystemExit(f"unknown target {target}")


def wait_port(proc: subprocess.Popen, port: int, timeout: float = 180) -> float:
    end = time.time() + timeout
    while time.time() < end:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return time.time()
        except OSError:
            if proc.poll() is not None:
                raise RuntimeError(f"server exited with {proc.returncode}")
            time.sleep(0.02)
    raise RuntimeError("server port did not open")


def stop_server(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


# -- frame decoding ---------------------------------------------------------------------------------------------


def jpeg_size(b: bytes) -> tuple[int, int] | None:
    """(width, height) from the first SOFn marker of a JPEG."""
    i = 2
    while i + 9 < len(b):
        if b[i] != 0xFF:
            return None
        marker = b[i + 1]
        seglen = int.from_bytes(b[i + 2 : i + 4], "big")
        if marker in (0xC0, 0xC1, 0xC2):
            return int.from_bytes(b[i + 7 : i + 9], "big"), int.from_bytes(b[i + 5 : i + 7], "big")
        i += 2 + seglen
    return None


class FrameLog:
    """Python-side WebSocket instrumentation: wslink chunks -> (view, meta, image bytes, image size)."""

    def __init__(self):
        self.frames = []

    def attach(self, page):
        page.on("websocket", lambda ws: ws.on("framereceived", self.on_frame))

    def on_frame(self, payload):
        if isinstance(payload, str):
            return
        b = bytes(payload)
        off, tot = int.from_bytes(b[4:8], "little"), int.from_bytes(b[8:12], "little")
        name = meta = dims = None
        clen = 0
        if off == 0 and tot == len(b) - 12:
            m = msgpack.unpackb(b[12:], raw=False)
            r = m.get("result") if isinstance(m, dict) else None
            if isinstance(r, dict) and "content" in r and "name" in r:
                name, meta, clen = r["name"], r["meta"], len(r["content"])
                dims = jpeg_size(r["content"])
        self.frames.append(dict(wsbytes=len(b), view=name, meta=meta, bytes=clen, dims=dims))


def merged_frames(page, fl: FrameLog) -> list[dict]:
    """Merge in-page receive timestamps (precise) with the python-side decoded frames, by order."""
    js = page.evaluate("window.__frames")
    out = []
    for (t, size), f in zip(js, fl.frames):
        if size != f["wsbytes"]:
            print("WARN frame order mismatch", file=sys.stderr)
            break
        if f["view"]:
            out.append(dict(f, t=t / 1000.0))
    return out


def pct(v, q):
    v = sorted(v)
    if not v:
        return None
    k = (len(v) - 1) * q
    lo, hi = math.floor(k), math.ceil(k)
    return v[lo] + (v[hi] - v[lo]) * (k - lo)


def analyse(frames, inputs, t0, t1, view, view_px):
    """Figures of `view` between t0 and t1 (s): fps, input->next-frame latency, bytes, bits per pixel."""
    fr = [f for f in frames if t0 <= f["t"] <= t1]
    vf = [f for f in fr if f["view"] == view]
    inp = [i[0] / 1000.0 for i in inputs if t0 <= i[0] / 1000.0 <= t1]
    ft = [f["t"] for f in vf]
    lat, j = [], 0
    for ti in inp:
        while j < len(ft) and ft[j] <= ti:
            j += 1
        if j < len(ft):
            lat.append(ft[j] - ti)
    dur = t1 - t0
    by_view = {}
    for f in fr:
        by_view.setdefault(f["view"], []).append(f["bytes"])
    bpp_img = [8 * f["bytes"] / (f["dims"][0] * f["dims"][1]) for f in vf if f["dims"]]
    bpp_view = [8 * f["bytes"] / view_px for f in vf] if view_px else []
    dims = {}
    for f in vf:
        key = "x".join(map(str, f["dims"])) if f["dims"] else "?"
        dims[key] = dims.get(key, 0) + 1
    return dict(
        duration_s=dur,
        n_inputs=len(inp),
        input_rate=len(inp) / dur if dur else 0,
        view=view,
        frames=len(vf),
        fps=len(vf) / dur if dur else 0,
        bytes_mean=st.mean(f["bytes"] for f in vf) if vf else 0,
        bytes_median=st.median(f["bytes"] for f in vf) if vf else 0,
        bpp_image_mean=st.mean(bpp_img) if bpp_img else None,
        bpp_view_mean=st.mean(bpp_view) if bpp_view else None,
        image_sizes=dims,
        quality_counts={
            str(q): sum(1 for f in vf if f["meta"].get("quality") == q) for q in {f["meta"].get("quality") for f in vf}
        },
        all_views={
            k: dict(frames=len(v), fps=len(v) / dur, bytes_mean=st.mean(v), MBps=sum(v) / dur / 1e6)
            for k, v in by_view.items()
        },
        total_MBps=sum(f["bytes"] for f in fr) / dur / 1e6 if dur else 0,
        lat_next_frame_p50_ms=1000 * pct(lat, 0.5) if lat else None,
        lat_next_frame_p95_ms=1000 * pct(lat, 0.95) if lat else None,
    )


def settle(frames, t_last_input, view, full_dims):
    """After the last input: time to the first frame of `view` at full size and at the highest quality seen."""
    after = [f for f in frames if f["view"] == view and f["t"] > t_last_input]
    if not after:
        return dict(settle_ms=None)
    qmax = max(f["meta"].get("quality", 0) for f in frames if f["view"] == view)
    ok = [f for f in after if f["meta"].get("quality") == qmax and (not full_dims or f["dims"] == tuple(full_dims))]
    return dict(
        settle_ms=1000 * (ok[0]["t"] - t_last_input) if ok else None,
        settle_quality=qmax,
        last_frame_ms=1000 * (after[-1]["t"] - t_last_input),
    )


def isolated_latency(page, frames_fn, view, do_event, n=8, gap=0.6):
    """Single input events `gap` s apart: latency to the first frame of `view` after each."""
    marks = []
    page.evaluate("window.__inputs.length = 0")
    for i in range(n):
        page.wait_for_timeout(int(gap * 1000))
        t = page.evaluate("performance.timeOrigin + performance.now()") / 1000.0
        do_event(i)
        marks.append(t)
    page.wait_for_timeout(int(gap * 1000))
    frames = frames_fn()
    lat = []
    for ti in marks:
        nxt = [f["t"] for f in frames if f["view"] == view and f["t"] > ti]
        if nxt:
            lat.append(min(nxt) - ti)
    if not lat:
        return dict(n=0)
    return dict(
        n=len(lat),
        p50_ms=1000 * pct(lat, 0.5),
        p95_ms=1000 * pct(lat, 0.95),
        min_ms=1000 * min(lat),
        max_ms=1000 * max(lat),
    )


# -- one run ----------------------------------------------------------------------------------------------------


def run(target: str, port: int, out: str) -> dict:
    os.makedirs(LOGDIR, exist_ok=True)
    R: dict = dict(target=target, port=port, started=time.strftime("%Y-%m-%d %H:%M:%S"), loadavg_start=os.getloadavg())
    data_dir = tempfile.mkdtemp(prefix=f"bench-{target}-")
    log = open(os.path.join(LOGDIR, f"{target}_{port}.log"), "w")
    with sync_playwright() as p:
        br = p.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)
        ctx = br.new_context(viewport=VIEWPORT, device_scale_factor=1)
        page = ctx.new_page()
        page.add_init_script(INIT_JS)
        fl = FrameLog()
        fl.attach(page)
        page.goto("about:blank")
        cmd, url = server_command(target, port, data_dir)
        proc = None
        try:
            t0 = time.time()
            proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT)
            pid = proc.pid
            t_port = wait_port(proc, port)
            page.goto(url)
            t_goto = time.time()
            page.wait_for_function("window.__visible !== null", timeout=180000, polling=50)
            vis = page.evaluate("window.__visible")
            frames_fn = lambda: merged_frames(page, fl)  # noqa: E731
            for _ in range(300):
                if any(f["view"] == "ThreeD" for f in frames_fn()):
                    break
                page.wait_for_timeout(100)
            frames = frames_fn()
            red = [f for f in frames if f["view"] == "Red"]
            td = [f for f in frames if f["view"] == "ThreeD"]
            R["cold"] = dict(
                port_open_s=t_port - t0,
                goto_done_s=t_goto - t0,
                first_any_frame_s=(frames[0]["t"] - t0) if frames else None,
                first_red_frame_s=(red[0]["t"] - t0) if red else None,
                visible_s=vis[0] / 1000.0 - t0,
                visible_img=vis[1:],
                first_3d_frame_s=(td[0]["t"] - t0) if td else None,
            )
            print(target, "cold", json.dumps(R["cold"]), flush=True)
            page.wait_for_timeout(6000)
            R["mem_idle_loaded"] = mem_kb(pid)
            R["view_sizes"] = {
                v: page.evaluate(
                    "([x,y]) => {const i=document.elementsFromPoint(x,y).find(e=>e.tagName==='IMG');"
                    " if (!i) return null; const r=i.getBoundingClientRect();"
                    " return [Math.round(r.width),Math.round(r.height)]}",
                    list(c),
                )
                for v, c in VIEW_POINTS.items()
            }
            R["encoder_meta"] = {f["view"]: {k: f["meta"].get(k) for k in ("type", "quality")} for f in frames_fn()}

            def wait_quiet(quiet_s=1.0, max_s=30.0):
                """Wait until no frame arrived for `quiet_s` (the server drained queued input); return the wait."""
                t0, n, t_last = time.time(), len(fl.frames), time.time()
                while time.time() - t0 < max_s:
                    page.wait_for_timeout(200)
                    if len(fl.frames) != n:
                        n, t_last = len(fl.frames), time.time()
                    elif time.time() - t_last >= quiet_s:
                        break
                return t_last - t0

            def scenario(name, view, kind, params, hover, tag="gen", extra_view=None):
                drained = wait_quiet()
                page.mouse.move(*hover)
                page.wait_for_timeout(1500)  # real hover -> mouseenter -> focus fps
                c0, b0, s0 = cpu_s(pid), tree_cpu_s(os.getpid()) - cpu_s(pid), system_busy()
                ta = time.time()
                g = page.evaluate(
                    "([k,p,d,hz]) => window.__drive(k,p,d,hz)", [kind, params, int(SCENARIO_S * 1000), 60]
                )
                tb = time.time()
                c1, b1, s1 = cpu_s(pid), tree_cpu_s(os.getpid()) - cpu_s(pid), system_busy()
                page.wait_for_timeout(1000)
                wait_quiet()
                all_inputs = page.evaluate("window.__inputs")
                inputs = [i for i in all_inputs if i[1] == tag]
                frames = frames_fn()
                size = R["view_sizes"].get(view)
                a = analyse(frames, inputs, ta, tb, view, size[0] * size[1] if size else None)
                last_in = max(i[0] for i in inputs) / 1000.0 if inputs else tb
                a.update(settle(frames, last_in, view, size))
                if extra_view:
                    size3 = R["view_sizes"].get(extra_view)
                    ins3 = [i for i in all_inputs if i[1] == "gen3d"]
                    a["other"] = analyse(frames, ins3, ta, tb, extra_view, size3[0] * size3[1] if size3 else None)
                a["generator"] = g
                a["t_start"], a["t_end"] = ta, tb
                a["previous_drain_s"] = drained
                after = [f["t"] for f in frames if f["t"] > tb]
                a["backlog_s"] = (max(after) - tb) if after else 0.0  # frames kept coming after the input stopped
                a["server_cpu_s"] = c1 - c0
                a["server_cpu_pct"] = 100 * (c1 - c0) / (tb - ta)
                a["browser_cpu_pct"] = 100 * (b1 - b0) / (tb - ta)  # chromium + playwright driver
                busy = s1[0] - s0[0]
                a["machine_busy_pct"] = 100 * busy / (s1[1] - s0[1]) if s1[1] > s0[1] else None
                a["other_cpu_pct"] = 100 * (busy - (c1 - c0) - (b1 - b0)) / (tb - ta)  # everything else on the machine
                R[name] = a
                print(
                    target,
                    name,
                    json.dumps(
                        {
                            k: a[k]
                            for k in (
                                "fps",
                                "lat_next_frame_p50_ms",
                                "lat_next_frame_p95_ms",
                                "bytes_mean",
                                "bpp_view_mean",
                                "settle_ms",
                                "backlog_s",
                                "server_cpu_pct",
                                "browser_cpu_pct",
                                "other_cpu_pct",
                            )
                        }
                    ),
                    flush=True,
                )

            x0, x1 = RED_SLIDER_X
            thumb = page.evaluate(
                "() => {const s=document.querySelectorAll('.v-slider-thumb');"
                " const r=[...s].map(e=>e.getBoundingClientRect()).find(r=>r.x<720);"
                " return r?[r.x+r.width/2,r.y+r.height/2]:null}"
            )
            cx, cy = THREED_CENTER
            scenario(
                "slider",
                "Red",
                "slider",
                dict(x0=x0, x1=x1, y=RED_SLIDER_Y, tx=thumb[0], ty=thumb[1], period=120),
                thumb,
            )
            # put the axial slice back in the middle of its range (the slider drag ends at one end)
            page.mouse.click((x0 + x1) / 2, RED_SLIDER_Y)
            page.wait_for_timeout(500)
            scenario("wheel", "Red", "wheel", dict(cx=RED_CENTER[0], cy=RED_CENTER[1], flip=60), RED_CENTER)
            scenario("rotate3d", "ThreeD", "rotate", dict(cx=cx, cy=cy, r=80, period=120), THREED_CENTER)
            page.mouse.click((x0 + x1) / 2, RED_SLIDER_Y)
            page.wait_for_timeout(500)
            scenario(
                "wheel_during_3d",
                "Red",
                "mixed",
                dict(cx=cx, cy=cy, r=80, period=120, wx=RED_CENTER[0], wy=RED_CENTER[1], flip=60),
                RED_CENTER,
                extra_view="ThreeD",
            )
            R["drain_after_last_scenario_s"] = wait_quiet()
            R["mem_after_interaction"] = mem_kb(pid)
            page.mouse.click((x0 + x1) / 2, RED_SLIDER_Y)
            wait_quiet()
            page.mouse.move(*RED_CENTER)
            R["iso_wheel"] = isolated_latency(
                page, frames_fn, "Red", lambda i: page.mouse.wheel(0, 100 if i % 2 == 0 else -100)
            )
            wait_quiet()
            page.mouse.move(cx, cy)
            page.mouse.down()
            R["iso_rotate3d"] = isolated_latency(
                page, frames_fn, "ThreeD", lambda i: page.mouse.move(cx + (20 if i % 2 == 0 else 0), cy), n=5, gap=1.5
            )
            page.mouse.up()
            print(target, "iso", json.dumps({k: R[k] for k in ("iso_wheel", "iso_rotate3d")}), flush=True)
            R["mem_end"] = mem_kb(pid)
            page.screenshot(path=os.path.join(LOGDIR, f"{target}_{port}.png"))
        finally:
            ctx.close()
            br.close()
            if proc is not None:
                stop_server(proc)
            log.close()
            shutil.rmtree(data_dir, ignore_errors=True)
    R["loadavg_end"] = os.getloadavg()
    with open(out, "w") as f:
        json.dump(R, f, indent=1)
    return R


if __name__ == "__main__":
    run(sys.argv[1], int(sys.argv[2]), sys.argv[3])
