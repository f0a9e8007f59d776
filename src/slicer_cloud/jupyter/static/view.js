// slicer-cloud view widget (anywidget ESM): shows frames rendered by the kernel, sends mouse/keyboard input back.
// Flow control: one batch of input events in flight; the kernel answers each batch with one frame (JPEG while
// interacting), and a "still" request after a pause gets a lossless PNG frame.

const STILL_DELAY_MS = 200;
const STALL_MS = 5000;

function render({ model, el }) {
  const root = document.createElement("div");
  root.className = "slicer-cloud-view";
  root.tabIndex = 0;
  const img = document.createElement("img");
  img.className = "slicer-cloud-frame";
  img.draggable = false;
  img.alt = model.get("title") || "Slicer view";
  const title = document.createElement("div");
  title.className = "slicer-cloud-title";
  const error = document.createElement("div");
  error.className = "slicer-cloud-error";
  root.append(img, title, error);
  el.append(root);

  // frame log for tests and benchmarks: [arrival time (ms since the epoch), bytes, still, kernel ms]
  const stats = { frames: 0, bytes: 0, latencies: [], stills: 0, sent: 0, log: [] };
  root.slicerCloudStats = stats;
  let pending = [];
  let inFlight = null; // {seq, t}
  let seq = 0;
  let buttons = 0;
  let stillTimer = null;
  let lastUrl = null;

  function size() {
    const w = model.get("width"), h = model.get("height");
    root.style.width = w + "px";
    root.style.height = h + "px";
    img.width = w;
    img.height = h;
    title.textContent = model.get("title") || "";
  }
  size();
  model.on("change:width", size);
  model.on("change:height", size);
  model.on("change:title", size);

  function flush() {
    if (inFlight && performance.now() - inFlight.t < STALL_MS) return;
    if (!pending.length) return;
    seq += 1;
    inFlight = { seq, t: performance.now() };
    stats.sent += 1;
    model.send({ type: "events", seq, events: pending });
    pending = [];
  }

  function scheduleStill() {
    clearTimeout(stillTimer);
    stillTimer = setTimeout(() => {
      if (buttons || inFlight || pending.length) return scheduleStill();
      model.send({ type: "still" });
    }, STILL_DELAY_MS);
  }

  function position(e) {
    const r = img.getBoundingClientRect();
    const sx = model.get("width") / Math.max(1, r.width);
    const sy = model.get("height") / Math.max(1, r.height);
    return { x: Math.round((e.clientX - r.left) * sx), y: Math.round((e.clientY - r.top) * sy),
             shift: e.shiftKey, ctrl: e.ctrlKey || e.metaKey, alt: e.altKey };
  }

  function push(event) {
    const last = pending[pending.length - 1];
    if (event.t === "move" && last && last.t === "move") pending[pending.length - 1] = event;
    else pending.push(event);
    flush();
    scheduleStill();
  }

  root.addEventListener("pointerdown", (e) => {
    root.focus({ preventScroll: true });
    try { root.setPointerCapture(e.pointerId); } catch (err) { /* synthetic or finished pointer */ }
    buttons |= 1 << e.button;
    push({ t: "down", b: e.button, ...position(e) });
    e.preventDefault();
  });
  root.addEventListener("pointermove", (e) => {
    if (!buttons && !e.shiftKey) return;
    push({ t: "move", ...position(e) });
  });
  const up = (e) => {
    if (!(buttons & (1 << e.button))) return;
    buttons &= ~(1 << e.button);
    push({ t: "up", b: e.button, ...position(e) });
  };
  root.addEventListener("pointerup", up);
  root.addEventListener("pointercancel", up);
  root.addEventListener("contextmenu", (e) => e.preventDefault());
  root.addEventListener("wheel", (e) => {
    e.preventDefault();
    const dy = e.deltaMode === 1 ? e.deltaY * 100 / 3 : e.deltaMode === 2 ? e.deltaY * 400 : e.deltaY;
    push({ t: "wheel", dy, ...position(e) });
  }, { passive: false });
  root.addEventListener("keydown", (e) => {
    if (e.ctrlKey || e.metaKey) return;
    e.preventDefault();
    e.stopPropagation(); // keep JupyterLab's command-mode shortcuts out of the view
    push({ t: "key", key: e.key, x: 0, y: 0, shift: e.shiftKey, ctrl: false, alt: e.altKey });
  });

  model.on("msg:custom", (msg, buffers) => {
    if (msg.type === "frame") {
      const data = buffers && buffers[0];
      if (data) {
        const blob = new Blob([data], { type: msg.mime });
        const url = URL.createObjectURL(blob);
        img.src = url;
        if (lastUrl) URL.revokeObjectURL(lastUrl);
        lastUrl = url;
        stats.frames += 1;
        stats.bytes += blob.size;
        stats.log.push([performance.timeOrigin + performance.now(), blob.size, !!msg.still, msg.kernel_ms]);
        if (stats.log.length > 20000) stats.log.shift();
        if (msg.still) stats.stills += 1;
        root.dataset.frames = String(stats.frames);
        root.dataset.format = msg.mime;
        error.textContent = "";
      }
      if (msg.reply && inFlight && msg.seq === inFlight.seq) {
        stats.latencies.push(performance.now() - inFlight.t);
        if (stats.latencies.length > 10000) stats.latencies.shift();
        inFlight = null;
        flush();
      }
    } else if (msg.type === "error") {
      error.textContent = msg.message;
      if (msg.reply) { inFlight = null; flush(); }
    }
  });
  model.send({ type: "ready" });
  return () => {
    clearTimeout(stillTimer);
    if (lastUrl) URL.revokeObjectURL(lastUrl);
  };
}

export default { render };
