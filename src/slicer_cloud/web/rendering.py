"""Rendering and frame streaming of the viewer's views (performance levers live here)."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from trame_server import Server
    from trame_slicer.app.logic import MedicalViewerLogic

    from ..settings import Settings


def install_rendering(logic: MedicalViewerLogic, server: Server, settings: Settings) -> None:
    """Configure how views render and stream frames; called once, right after the viewer logic is built."""
