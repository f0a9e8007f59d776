"""Slicer views and controls inside Jupyter: ``import slicer_cloud.jupyter as sj``.

* :class:`Scene` - a Slicer scene in this kernel (headless, offscreen rendering);
* :func:`connect` - a running ``slicer-cloud serve`` session driven over its REST API, with the same widgets;
* :class:`SliceView`, :class:`View3D`, :class:`Lightbox`, :class:`Layout` - live views (anywidget): mouse and keys
  go to the Slicer interactor, frames come back as JPEG while interacting and PNG when still;
* :func:`snapshot` - a static PNG of any view or layout (kept by ``nbconvert``);
* :class:`Viewer` - the full web viewer of the scene embedded in the cell.

VTK picks its offscreen window class when it loads: importing this package asks for EGL (no X server needed)
unless ``VTK_DEFAULT_OPENGL_WINDOW`` is set already.
"""

from __future__ import annotations

import os

os.environ.setdefault("VTK_DEFAULT_OPENGL_WINDOW", "vtkEGLRenderWindow")

from ..core.sample import sample_path as sample_data  # noqa: E402
from .remote import RemoteScene, connect  # noqa: E402
from .scene import Scene  # noqa: E402
from .static import snapshot  # noqa: E402
from .viewer import Viewer  # noqa: E402
from .widgets import Layout, Lightbox, SliceView, View3D  # noqa: E402

__all__ = [
    "Layout",
    "Lightbox",
    "RemoteScene",
    "Scene",
    "SliceView",
    "View3D",
    "Viewer",
    "connect",
    "sample_data",
    "snapshot",
]
