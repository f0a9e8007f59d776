"""What ``GET /slicer/system/version`` reports: the keys of Slicer's answer, filled with slicer-cloud's values."""

from __future__ import annotations

import platform
from importlib import metadata

from .. import __version__

REPOSITORY_URL = "https://github.com/Slicer/Slicer"


def _package_version(name: str) -> str:
    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return ""


def system_version() -> dict[str, object]:
    """Application name/version (slicer-cloud) and the slicer-core (Slicer libraries) version it runs on."""
    core = _package_version("slicer-core") or _package_version("slicer_core")
    parts = [int(p) if p.isdigit() else 0 for p in (core.split(".") + ["0", "0", "0"])[:3]]
    return {
        "applicationName": "slicer-cloud",
        "applicationDisplayName": "slicer-cloud",
        "applicationVersion": __version__,
        "releaseType": "Stable",
        "repositoryUrl": REPOSITORY_URL,
        "repositoryBranch": "",
        "revision": core,
        "majorVersion": parts[0],
        "minorVersion": parts[1],
        "arch": platform.machine(),
        "os": platform.system().lower(),
        "isCustomMainApplication": True,
        "mainApplicationName": "Slicer",
        "mainApplicationRepositoryUrl": REPOSITORY_URL,
        "mainApplicationRepositoryRevision": core,
        "mainApplicationRevision": core,
        "mainApplicationMajorVersion": parts[0],
        "mainApplicationMinorVersion": parts[1],
        "mainApplicationPatchVersion": parts[2],
        "slicerCoreVersion": core,
    }
