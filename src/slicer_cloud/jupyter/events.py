"""Browser input events as the widgets send them, and what they mean for a Slicer view.

The front end (``static/view.js``) sends batches of small dicts: ``{"t": "down"|"up", "b": 0|1|2, "x", "y",
"shift", "ctrl", "alt"}`` (button 0 left, 1 middle, 2 right), ``{"t": "move", ...}``, ``{"t": "wheel", "dy", ...}``
and ``{"t": "key", "key": "ArrowUp"}``. Positions are in view pixels, origin at the top left.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

BUTTONS = {0: "Left", 1: "Middle", 2: "Right"}
# browser KeyboardEvent.key -> VTK key symbol
KEYSYMS = {
    "ArrowUp": "Up",
    "ArrowDown": "Down",
    "ArrowLeft": "Left",
    "ArrowRight": "Right",
    "PageUp": "Prior",
    "PageDown": "Next",
    "Home": "Home",
    "End": "End",
    "Escape": "Escape",
    " ": "space",
}
MAX_EVENTS = 1000  # per batch; a front end never sends more, a hostile one is cut short


def clean_events(raw: object, width: int, height: int) -> list[dict[str, Any]]:
    """Keep well-formed events only, positions clamped into the view; anything else is dropped."""
    if not isinstance(raw, list):
        return []
    out = []
    for event in raw[:MAX_EVENTS]:
        if not isinstance(event, Mapping) or event.get("t") not in ("down", "up", "move", "wheel", "key"):
            continue
        clean: dict[str, Any] = {"t": event["t"]}
        clean["x"] = _clamp(event.get("x"), width - 1)
        clean["y"] = _clamp(event.get("y"), height - 1)
        for flag in ("shift", "ctrl", "alt"):
            clean[flag] = bool(event.get(flag))
        if event["t"] in ("down", "up"):
            button = event.get("b")
            if button not in BUTTONS:
                continue
            clean["b"] = button
        if event["t"] == "wheel":
            dy = event.get("dy")
            if not isinstance(dy, (int, float)) or dy != dy:
                continue
            clean["dy"] = float(dy)
        if event["t"] == "key":
            key = event.get("key")
            if not isinstance(key, str) or not 0 < len(key) <= 20:
                continue
            clean["key"] = key
        out.append(clean)
    return out


def _clamp(value: object, top: int) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value != value:
        return 0
    return int(min(max(value, 0), max(top, 0)))


def compress_moves(events: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    """Drop a move that is directly followed by another move with the same modifiers (only the last one counts)."""
    events = list(events)
    out = []
    for i, event in enumerate(events):
        following = events[i + 1] if i + 1 < len(events) else None
        if (
            event["t"] == "move"
            and following is not None
            and following["t"] == "move"
            and all(event[k] == following[k] for k in ("shift", "ctrl", "alt"))
        ):
            continue
        out.append(event)
    return out


def wheel_steps(dy: float) -> int:
    """Slices to scroll for a wheel delta: the sign of ``dy`` (down = positive), at least one notch."""
    if dy == 0:
        return 0
    notches = max(1, min(10, round(abs(dy) / 100)))
    return notches if dy > 0 else -notches
