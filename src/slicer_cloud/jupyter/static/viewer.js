// Embeds the kernel-served web viewer once its server answers (it starts when the cell has finished).
function render({ model, el }) {
  const box = document.createElement("div");
  box.className = "slicer-cloud-viewer";
  box.textContent = "starting the viewer...";
  el.append(box);
  let stopped = false;
  async function waitAndShow(tries) {
    if (stopped) return;
    try {
      await fetch(model.get("health"), { mode: "no-cors", cache: "no-store" });
    } catch (e) {
      if (tries > 0) return setTimeout(() => waitAndShow(tries - 1), 500);
      box.textContent = "the viewer did not start: see the kernel log";
      return;
    }
    const frame = document.createElement("iframe");
    frame.src = model.get("url");
    frame.style.width = "100%";
    frame.style.height = model.get("height") + "px";
    frame.style.border = "0";
    frame.allow = "fullscreen";
    box.textContent = "";
    box.append(frame);
  }
  waitAndShow(120);
  return () => { stopped = true; };
}
export default { render };
