"""slicer-cloud: 3D Slicer over the internet - web viewer, API node, notebook and desktop from one install."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"
__all__ = ["Client", "ClientError", "__version__"]

if TYPE_CHECKING:
    from .client import Client, ClientError


def __getattr__(name: str) -> Any:
    """``slicer_cloud.Client`` without importing numpy and friends for every ``import slicer_cloud``."""
    if name in ("Client", "ClientError", "Geometry"):
        from . import client

        return getattr(client, name)
    raise AttributeError(f"module 'slicer_cloud' has no attribute {name!r}")
