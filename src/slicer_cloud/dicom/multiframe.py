"""Enhanced multi-frame images (CT, MR, PET and their legacy-converted forms) as scalar volumes, the frames placed
by highdicom from the per-frame functional groups."""

from __future__ import annotations

import io
from typing import TYPE_CHECKING

import numpy as np
import pydicom
from pydicom.dataset import Dataset

from ..errors import InvalidData, TooLarge

if TYPE_CHECKING:
    from ..core.session import Session


def load_multiframe(session: Session, data: bytes | Dataset, name: str) -> str:
    """Add one enhanced multi-frame instance to the scene as a scalar volume; return its node ID."""
    import highdicom as hd
    import vtk
    from vtk.util import numpy_support

    from .seg import affine_to_ijk_to_ras

    try:
        ds = data if isinstance(data, Dataset) else pydicom.dcmread(io.BytesIO(data))
        voxels = int(ds.Rows) * int(ds.Columns) * int(ds.get("NumberOfFrames", 1) or 1)
        if voxels > session.limits.max_image_voxels or voxels * 4 > session.limits.max_image_bytes:
            raise TooLarge("the multi-frame image declares more voxels than the session accepts (max_image_voxels)")
        volume = hd.Image.from_dataset(ds, copy=False).get_volume()
        array = np.asarray(volume.array)
    except (TooLarge, InvalidData):
        raise
    except RecursionError:
        raise InvalidData("the multi-frame image nests sequences too deeply") from None
    except Exception as exc:  # highdicom refuses frames that do not form a regular volume
        raise InvalidData(f"the multi-frame image's frames do not form a volume ({type(exc).__name__})") from None
    if array.ndim != 3:
        raise InvalidData("only grayscale multi-frame images are built into volumes")
    if np.all(np.mod(array, 1) == 0) and array.min() >= -32768 and array.max() <= 32767:
        array = array.astype(np.int16)
    else:
        array = array.astype(np.float32)
    array = np.ascontiguousarray(array)
    image = vtk.vtkImageData()
    image.SetDimensions(array.shape[2], array.shape[1], array.shape[0])
    image.GetPointData().SetScalars(numpy_support.numpy_to_vtk(array.reshape(-1), deep=True))
    matrix = vtk.vtkMatrix4x4()
    for i, row in enumerate(affine_to_ijk_to_ras(volume.affine)):
        for j, value in enumerate(row):
            matrix.SetElement(i, j, float(value))
    node = session.scene.AddNewNodeByClass("vtkMRMLScalarVolumeNode", name)
    node.SetIJKToRASMatrix(matrix)
    node.SetAndObserveImageData(image)
    node.CreateDefaultDisplayNodes()
    node.SetAttribute("DICOM.instanceUIDs", str(ds.SOPInstanceUID))
    node.SetAttribute("DICOM.seriesInstanceUID", str(ds.SeriesInstanceUID))
    return node.GetID()
