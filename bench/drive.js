// In-page input generator (adapted from the baseline harness, /work/shared/bench-baseline/drive.js):
// dispatches synthetic pointer/mouse/wheel events at `hz` for `dur` ms.
// kind: 'slider' (drag along [x0,x1] at y), 'rotate' (circle radius r around cx,cy), 'wheel' (at cx,cy),
//       'mixed' (left-drag circles in the 3D view at (cx,cy) AND wheel over the slice view at (wx,wy), both at hz).
// Every generated input is logged in window.__inputs as [t_ms, tag, x, y]; tag 'gen' for the measured input
// ('gen3d' for the 3D drag of 'mixed').
window.__drive = (kind, p, dur, hz) => new Promise(resolve => {
  const now = () => performance.timeOrigin + performance.now();
  const fire = (type, x, y, extra = {}) => {
    const tgt = (type.startsWith('pointerup') || type === 'mouseup') ? (window.__dragTgt || document) : (document.elementFromPoint(x, y) || document);
    const init = {bubbles: true, cancelable: true, composed: true, clientX: x, clientY: y, screenX: x, screenY: y, view: window,
                  button: 0, buttons: (type.endsWith('up') ? 0 : 1), pointerId: 1, pointerType: 'mouse', isPrimary: true, ...extra};
    let ev;
    if (type === 'wheel') ev = new WheelEvent('wheel', {...init, buttons: 0, deltaY: extra.deltaY, deltaMode: 0});
    else if (type.startsWith('pointer')) ev = new PointerEvent(type, init);
    else ev = new MouseEvent(type, init);
    tgt.dispatchEvent(ev);
    return tgt;
  };
  const move = (x, y) => { fire('pointermove', x, y); fire('mousemove', x, y); };
  let i = 0; const t0 = now(); const n = Math.round(dur * hz / 1000);
  const pos = (i) => {
    if (kind === 'slider') { const ph = (i % p.period) / p.period; const f = ph < .5 ? 2 * ph : 2 - 2 * ph; return [p.x0 + (p.x1 - p.x0) * f, p.y]; }
    if (kind === 'rotate' || kind === 'mixed') { const a = 2 * Math.PI * i / p.period; return [p.cx + p.r * Math.cos(a), p.cy + p.r * Math.sin(a)]; }
    return [p.cx, p.cy];
  };
  const dragging = kind !== 'wheel';
  if (dragging) {
    const [sx, sy] = kind === 'slider' ? [p.tx, p.ty] : pos(0);
    window.__dragTgt = fire('pointerdown', sx, sy); fire('mousedown', sx, sy);
  }
  const tick = () => {
    // catch up on the schedule so the rate stays ~hz even if timers slip
    const due = Math.min(n, Math.floor((now() - t0) * hz / 1000) + 1);
    if (i < due) {
      i = due - 1;
      const [x, y] = pos(i);
      if (kind === 'wheel') { fire('wheel', x, y, {deltaY: (Math.floor(i / p.flip) % 2 === 0) ? 100 : -100}); window.__inputs.push([now(), 'gen', x, y]); }
      else if (kind === 'mixed') {
        move(x, y); window.__inputs.push([now(), 'gen3d', x, y]);
        fire('wheel', p.wx, p.wy, {deltaY: (Math.floor(i / p.flip) % 2 === 0) ? 100 : -100}); window.__inputs.push([now(), 'gen', p.wx, p.wy]);
      }
      else { move(x, y); window.__inputs.push([now(), 'gen', x, y]); }
      i++;
    }
    if (i >= n || now() - t0 > dur + 500) {
      if (dragging) { const [x, y] = pos(i - 1); fire('pointerup', x, y); fire('mouseup', x, y); }
      resolve({n: i, elapsed: now() - t0});
    } else setTimeout(tick, Math.max(0, t0 + (i) * 1000 / hz - now()));
  };
  tick();
});
