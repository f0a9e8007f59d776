"""slicer-cloud: 3D Slicer over the internet - web viewer, API node, notebook and desktop from one install."""

from __future__ import annotations

__version__ = "0.1.0"
