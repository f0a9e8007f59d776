"""The bundled sample: the MNI ICBM152 2009a T1 template (copyright notice in ``data/NOTICE-mni_icbm152.txt``)."""

from __future__ import annotations

from importlib.resources import files
from pathlib import Path

SAMPLE_NAME = "mni_icbm152_t1_tal_nlin_sym_09a_converted.nii.gz"


def sample_path() -> Path:
    """Path of the bundled sample brain MRI (a real file inside the installed package)."""
    return Path(str(files("slicer_cloud") / "data" / SAMPLE_NAME))
