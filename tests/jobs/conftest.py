"""Shared pieces of the job tests: synthetic volumes with known answers, and running a module as a CLI."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

HERE = Path(__file__).parent


def ball(shape=(48, 48, 48), radius=10.0, center=None, inside=1000, outside=0) -> np.ndarray:
    """A [k, j, i] volume with a ball of ``inside`` on ``outside``."""
    center = np.array(shape) / 2 if center is None else np.array(center)
    k, j, i = np.indices(shape)
    dist = np.sqrt((k - center[0]) ** 2 + (j - center[1]) ** 2 + (i - center[2]) ** 2)
    return np.where(dist < radius, inside, outside).astype(np.int16)


def write_volume(path: Path, voxels: np.ndarray, spacing=(1.0, 1.0, 1.0), origin=(0.0, 0.0, 0.0)) -> Path:
    import SimpleITK as sitk

    image = sitk.GetImageFromArray(voxels)
    image.SetSpacing(spacing)
    image.SetOrigin(origin)
    sitk.WriteImage(image, str(path))
    return path


def read_volume(path: Path):
    import SimpleITK as sitk

    image = sitk.ReadImage(str(path))
    return image, sitk.GetArrayFromImage(image)


def run_module(name: str, *args: str, check: bool = True) -> subprocess.CompletedProcess:
    result = subprocess.run(
        [sys.executable, "-m", f"slicer_cloud.modules.{name}", *map(str, args)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    if check and result.returncode != 0:
        raise AssertionError(f"{name} exited with {result.returncode}:\n{result.stderr}")
    return result


@pytest.fixture
def ball_file(tmp_path) -> Path:
    return write_volume(tmp_path / "ball.nrrd", ball())
