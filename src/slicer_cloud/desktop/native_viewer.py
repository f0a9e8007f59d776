"""The built-in desktop app: a native VTK window (on ``$DISPLAY``) with a slicer-core slice view and a 3D view.

Run as ``python -m slicer_cloud.desktop.native_viewer [FILE]`` (default: the bundled sample). Used by
``slicer-cloud desktop`` when no Slicer executable is found, so the desktop way works without Slicer.

Keys (slice window): Up/Down or PageUp/PageDown scroll slices, ``a``/``s``/``c`` axial/sagittal/coronal.
Keys (3D window): Left/Right rotate, ``r`` resets the camera. Mouse: the usual Slicer interaction in both.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path

from ..core.sample import sample_path

logger = logging.getLogger(__name__)

ORIENTATIONS = {"a": "Axial", "s": "Sagittal", "c": "Coronal"}
# Volume rendering methods (slicer-core display node classes).
VR_METHODS = {
    "cpu": "vtkMRMLCPURayCastVolumeRenderingDisplayNode",
    "gpu": "vtkMRMLGPURayCastVolumeRenderingDisplayNode",
}
VOLUME_SUFFIXES = (".nii.gz", ".nii", ".nrrd", ".nhdr", ".mha", ".mhd")


def volume_to_show(path: Path | None) -> Path:
    """The file itself; in a folder, its first volume by name (top level only); else the bundled sample."""
    if path is not None and path.is_file():
        return path
    if path is not None and path.is_dir():
        found = sorted(p for p in path.iterdir() if p.is_file() and p.name.lower().endswith(VOLUME_SUFFIXES))
        if found:
            return found[0]
    return sample_path()


def volume_rendering_method(choice: str | None, environ: Mapping[str, str] | None = None) -> str:
    """``cpu`` or ``gpu`` ray casting: as chosen, else ``gpu`` under VirtualGL (``vglrun`` sets ``VGL_ISACTIVE=1``)."""
    environ = os.environ if environ is None else environ
    return choice or ("gpu" if environ.get("VGL_ISACTIVE") == "1" else "cpu")


def _use_x11_windows() -> None:
    """A real on-screen GLX window (Mesa llvmpipe on a CPU), never the offscreen EGL one ``serve`` uses."""
    os.environ["VTK_DEFAULT_OPENGL_WINDOW"] = "vtkXOpenGLRenderWindow"


class NativeViewer:
    """A slice window and a 3D window side by side, showing one volume of a slicer-core scene."""

    def __init__(self, volume_file: Path, width: int, height: int, volume_rendering: str = "cpu") -> None:
        from trame_slicer.core import SlicerApp
        from trame_slicer.views import DirectViewFactory, ViewLayoutDefinition

        self.app = SlicerApp()
        # CPU ray casting renders the sample in ~0.1-0.2 s on Mesa llvmpipe, the emulated GPU ray caster in seconds
        # (and adapts its sampling while the camera moves); the GPU one when a GPU does the OpenGL (VirtualGL).
        self.app.volume_rendering._logic.SetDefaultRenderingMethod(VR_METHODS[volume_rendering])  # noqa: SLF001
        self.app.view_manager.register_factory(DirectViewFactory(do_render_offscreen=False))
        self.slice_view = self.app.view_manager.create_view(ViewLayoutDefinition.axial_view())
        self.threed_view = self.app.view_manager.create_view(ViewLayoutDefinition.threed_view())
        half = max(width // 2, 64)
        for index, (view, title) in enumerate(
            ((self.slice_view, "slicer-cloud: slice"), (self.threed_view, "slicer-cloud: 3D"))
        ):
            window = view.render_window()
            window.SetOffScreenRendering(False)
            window.SetMultiSamples(0)  # 8x MSAA on llvmpipe costs seconds per frame for volume rendering
            window.SetWindowName(title)
            window.SetSize(half, height)
            window.SetPosition(index * half, 0)
            window.ShowWindowOn()
        # Every scene change renders at once (DirectRendering): hold the views until the volume is set up.
        with self.slice_view.render_blocked(), self.threed_view.render_blocked():
            volumes = self.app.io_manager.load_volumes(str(volume_file))
            if not volumes:
                raise SystemExit(f"native_viewer: could not load {volume_file}")
            self.app.display_manager.show_volume(volumes[0], vr_preset="MR-Default", do_reset_views=True)
        self.slice_view.interactor().AddObserver("KeyPressEvent", self._on_slice_key, 1.0)
        self.threed_view.interactor().AddObserver("KeyPressEvent", self._on_threed_key, 1.0)

    def _on_slice_key(self, interactor, _event: str) -> None:
        key = interactor.GetKeySym() or ""
        step = self.slice_view.get_slice_step()
        if key in ("Up", "Prior"):
            self.slice_view.set_slice_value(self.slice_view.get_slice_value() + step * (1 if key == "Up" else 10))
        elif key in ("Down", "Next"):
            self.slice_view.set_slice_value(self.slice_view.get_slice_value() - step * (1 if key == "Down" else 10))
        elif key.lower() in ORIENTATIONS:
            self.slice_view.set_orientation(ORIENTATIONS[key.lower()])
            self.slice_view.fit_view_to_content()
        else:
            return
        self.slice_view.render()

    def _on_threed_key(self, interactor, _event: str) -> None:
        key = interactor.GetKeySym() or ""
        camera = self.threed_view.renderer().GetActiveCamera()
        if key in ("Left", "Right"):
            camera.Azimuth(-15 if key == "Left" else 15)
            camera.OrthogonalizeViewUp()
        elif key.lower() == "r":
            self.threed_view.reset_camera()
        else:
            return
        self.threed_view.render()

    def run(self) -> None:
        """Render once, then run the X event loop (it serves both windows) until the windows close."""
        # The X window exists only after the first render: size the slice node to it, then fit the volume.
        # The slice window first: it is quick, the first volume rendering on a CPU is not.
        self.slice_view.render()
        self.slice_view.fit_view_to_content()
        self.slice_view.render()
        self.threed_view.render()
        self.threed_view.reset_camera()
        self.threed_view.render()
        self.slice_view.interactor().Start()


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m slicer_cloud.desktop.native_viewer", description=__doc__)
    parser.add_argument(
        "file", nargs="?", type=Path, help="volume, or folder with volumes, to show (default: the sample brain MRI)"
    )
    parser.add_argument("--geometry", default="1600x1000", help="WIDTHxHEIGHT of the two windows together")
    parser.add_argument(
        "--volume-rendering",
        choices=sorted(VR_METHODS),
        default=None,
        help="ray casting on the CPU or the GPU (default: gpu when run through VirtualGL, else cpu)",
    )
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    if not os.environ.get("DISPLAY"):
        logger.error("no DISPLAY: run the native viewer inside an X session (e.g. slicer-cloud desktop)")
        return 2
    volume = volume_to_show(args.file)
    width, _, height = args.geometry.partition("x")
    _use_x11_windows()
    viewer = NativeViewer(volume, int(width), int(height), volume_rendering_method(args.volume_rendering))
    viewer.run()
    return 0


if __name__ == "__main__":
    sys.exit(main())
