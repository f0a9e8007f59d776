"""Bar charts of clicks per approach and per technology, as PNG and SVG (matplotlib, Agg: no display needed)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from .analysis import ApproachTable

MAX_TECHNOLOGIES = 30


def _save(fig, out: Path, stem: str) -> list[Path]:
    paths = []
    for suffix, extra in ((".png", {"dpi": 120}), (".svg", {"metadata": {"Date": None}})):
        path = out / f"{stem}{suffix}"
        fig.savefig(path, bbox_inches="tight", **extra)
        paths.append(path)
    return paths


def _bars(labels: list[str], values: list[int], title: str, out: Path, stem: str) -> list[Path]:
    from matplotlib.figure import Figure  # the object API: no pyplot state, no GUI backend

    height = max(2.5, 0.38 * len(labels) + 1.2)
    fig = Figure(figsize=(8, height))
    ax = fig.add_subplot()
    if labels:
        positions = list(range(len(labels)))
        bars = ax.barh(positions, values, color="#3b75af")
        ax.set_yticks(positions, labels)
        ax.invert_yaxis()
        ax.bar_label(bars, padding=3)
        ax.set_xlabel("clicks on links cited in relevant topics")
    else:
        ax.text(0.5, 0.5, "no cited links", ha="center", va="center", transform=ax.transAxes)
        ax.set_axis_off()
    ax.set_title(title)
    return _save(fig, out, stem)


def write_charts(tables: Sequence[ApproachTable], out: Path) -> list[Path]:
    """``clicks_by_approach.{png,svg}`` and ``clicks_by_technology.{png,svg}`` in ``out``."""
    approaches = [t for t in tables if t.rows]
    paths = _bars(
        [t.title for t in approaches], [t.clicks for t in approaches], "Clicks per approach", out, "clicks_by_approach"
    )
    rows = sorted((r for t in tables for r in t.rows), key=lambda r: (-r.clicks, r.name))[:MAX_TECHNOLOGIES]
    paths += _bars(
        [r.name for r in rows], [r.clicks for r in rows], "Clicks per technology", out, "clicks_by_technology"
    )
    return paths
