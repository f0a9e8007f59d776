"""``slicer-cloud desktop --check``: what the desktop needs, what is installed, which package brings the rest."""

from __future__ import annotations

import ctypes.util
import shutil
from dataclasses import dataclass
from pathlib import Path

from .bridge import NOVNC_DIR
from .stack import slicer_executable


@dataclass(frozen=True)
class Requirement:
    what: str
    package: str
    found: str | None
    required: bool = True

    @property
    def ok(self) -> bool:
        return self.found is not None


def _library(name: str) -> str | None:
    return ctypes.util.find_library(name)


def requirements() -> list[Requirement]:
    novnc = NOVNC_DIR / "vnc.html"
    tigervnc = shutil.which("Xtigervnc")
    return [
        # Xtigervnc when there (remote resize); otherwise Xvfb + x11vnc are required.
        Requirement(
            "Xtigervnc (X + VNC server: remote resize, clipboard)",
            "tigervnc-standalone-server",
            tigervnc,
            required=False,
        ),
        Requirement("Xvfb (virtual X server, without Xtigervnc)", "xvfb", shutil.which("Xvfb"), not tigervnc),
        Requirement("x11vnc (VNC server, without Xtigervnc)", "x11vnc", shutil.which("x11vnc"), not tigervnc),
        Requirement("noVNC (browser VNC client)", "novnc", str(novnc) if novnc.is_file() else None),
        Requirement("libGL (GLX for the app's OpenGL)", "libgl1 libglx-mesa0 libgl1-mesa-dri", _library("GL")),
        Requirement("openbox (window manager)", "openbox", shutil.which("openbox"), required=False),
        Requirement(
            "3D Slicer (else the built-in native viewer)",
            "official tarball; set SLICER_EXECUTABLE",
            slicer_executable(),
            required=False,
        ),
        Requirement("VirtualGL (GPU OpenGL, NVIDIA)", "virtualgl (VirtualGL's .deb)", shutil.which("vglrun"), False),
        Requirement(
            "NVIDIA GPU",
            "NVIDIA driver",
            "/dev/nvidia0" if Path("/dev/nvidia0").exists() else None,
            required=False,
        ),
    ]


def report(found: list[Requirement]) -> tuple[str, bool]:
    """The --check text and whether every required piece is there."""
    lines = []
    for item in found:
        state = "ok     " if item.ok else ("MISSING" if item.required else "absent ")
        where = item.found if item.ok else f"install: {item.package}"
        lines.append(f"{state} {item.what}: {where}")
    missing = sorted({p for item in found if item.required and not item.ok for p in item.package.split()})
    ready = not missing
    if missing:
        lines.append(f"Install the missing packages: apt-get install {' '.join(missing)}")
    else:
        lines.append("The desktop can start.")
    return "\n".join(lines), ready
