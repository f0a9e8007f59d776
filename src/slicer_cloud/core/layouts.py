"""Slicer layout names (``vtkMRMLLayoutNode.SlicerLayout*View``) for ``PUT /slicer/gui``, their trame-slicer
equivalents, and the layout a session was asked for.

``core`` cannot reach the web viewer's layout manager; a front end that can subscribes to
:attr:`LayoutState.listeners` (called with the trame-slicer layout ID) to follow requests.
"""

from __future__ import annotations

import weakref
from collections.abc import Callable
from dataclasses import dataclass, field

from ..errors import BadRequest

# trame-slicer layout IDs (LayoutManager.default_grid_configuration) for the Slicer layouts that have one.
TRAME_LAYOUTS = {
    "fourup": "Quad View",
    "oneup3d": "3D Only",
    "oneupredslice": "Axial Only",
    "conventional": "3D Primary",
    "conventionalwidescreen": "3D Primary",
    "default": "3D Primary",
    "initial": "3D Primary",
}
# How a screenshot arranges the offscreen views: rows of views, each row split evenly.
SCREENSHOT_ROWS = {
    "fourup": [["red", "3d"], ["yellow", "green"]],
    "oneup3d": [["3d"]],
    "oneupredslice": [["red"]],
    "oneupyellowslice": [["yellow"]],
    "oneupgreenslice": [["green"]],
    "conventional": [["3d"], ["red", "yellow", "green"]],
    "conventionalwidescreen": [["3d", "red"], ["3d", "yellow"]],
    "default": [["3d"], ["red", "yellow", "green"]],
    "initial": [["3d"], ["red", "yellow", "green"]],
    "sidebyside": [["red", "yellow"]],
    "dual3d": [["3d", "3d"]],
}
DEFAULT_LAYOUT = "fourup"


def slicer_layout_names() -> dict[str, str]:
    """Lower-case -> proper Slicer layout name, e.g. ``{"fourup": "FourUp"}``."""
    from slicer import vtkMRMLLayoutNode

    attrs = [a for a in dir(vtkMRMLLayoutNode) if a.startswith("SlicerLayout") and a.endswith("View")]
    names = [a[len("SlicerLayout") : -len("View")] for a in attrs]
    return {name.lower(): name for name in names if name}


@dataclass
class LayoutState:
    """The Slicer layout last requested through the REST API, and who wants to know."""

    name: str = DEFAULT_LAYOUT
    listeners: list[Callable[[str], None]] = field(default_factory=list)

    def request(self, layout_name: str) -> str:
        """Validate a Slicer layout name (case-insensitive), remember it, notify listeners; return its name."""
        known = slicer_layout_names()
        key = layout_name.strip().lower()
        if key not in known:
            choices = ", ".join(sorted(known.values()))
            raise BadRequest(f"unknown layout name {layout_name[:60]!r}; use one of: {choices}")
        self.name = key
        for listener in list(self.listeners):
            listener(self.trame_layout)
        return known[key]

    @property
    def trame_layout(self) -> str:
        return TRAME_LAYOUTS.get(self.name, "Quad View")

    @property
    def screenshot_rows(self) -> list[list[str]]:
        return SCREENSHOT_ROWS.get(self.name, SCREENSHOT_ROWS[DEFAULT_LAYOUT])


_STATES: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def layout_state(owner: object) -> LayoutState:
    """The layout state of a session (created on first use)."""
    state = _STATES.get(owner)
    if state is None:
        state = _STATES[owner] = LayoutState()
    return state
