"""Built-in processing modules. Each is a real Slicer command-line module: ``python -m slicer_cloud.modules.NAME``
prints its SEM XML on ``--xml``, runs with SEM arguments and reports ``<filter-progress>`` on stdout.

Module files stay light at import (the XML and a ``run`` function; SimpleITK/VTK are imported inside ``run``) so the
registry can read every description without starting a process.
"""

from __future__ import annotations

BUILTIN = (
    "gaussian_blur",
    "median_filter",
    "threshold",
    "resample",
    "crop",
    "n4_bias_correction",
    "otsu_segmentation",
    "label_statistics",
    "labelmap_to_model",
    "model_to_labelmap",
)
