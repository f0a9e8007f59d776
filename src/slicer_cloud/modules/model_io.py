"""Surface model files for the built-in modules: VTK/VTP/STL/PLY/OBJ read and write with Slicer's coordinate
system convention (a ``SPACE=LPS`` or ``SPACE=RAS`` note in the file header; LPS when absent, as Slicer assumes)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np


def _flip_xy(polydata: Any) -> Any:
    from vtkmodules.vtkCommonTransforms import vtkTransform
    from vtkmodules.vtkFiltersGeneral import vtkTransformPolyDataFilter

    flip = vtkTransform()
    flip.Scale(-1, -1, 1)
    transformer = vtkTransformPolyDataFilter()
    transformer.SetTransform(flip)
    transformer.SetInputData(polydata)
    transformer.Update()
    return transformer.GetOutput()


def read_model_lps(path: str) -> Any:
    """A ``vtkPolyData`` in LPS millimetres."""
    from vtkmodules.vtkIOGeometry import vtkOBJReader, vtkSTLReader
    from vtkmodules.vtkIOLegacy import vtkPolyDataReader
    from vtkmodules.vtkIOPLY import vtkPLYReader
    from vtkmodules.vtkIOXML import vtkXMLPolyDataReader

    name = Path(path).name.lower()
    readers = {".vtk": vtkPolyDataReader, ".vtp": vtkXMLPolyDataReader, ".stl": vtkSTLReader}
    readers.update({".ply": vtkPLYReader, ".obj": vtkOBJReader})
    suffix = Path(name).suffix
    if suffix not in readers:
        raise ValueError(f"{Path(path).name}: models must be .vtk, .vtp, .stl, .ply or .obj")
    reader = readers[suffix]()
    reader.SetFileName(str(path))
    reader.Update()
    polydata = reader.GetOutput()
    if polydata is None or polydata.GetNumberOfPoints() == 0:
        raise ValueError(f"{Path(path).name} could not be read as a surface model (no points)")
    header = reader.GetHeader() if suffix == ".vtk" else ""
    if header and "SPACE=RAS" in header.upper():
        polydata = _flip_xy(polydata)
    return polydata


def write_model_lps(polydata: Any, path: str) -> None:
    """Write a ``vtkPolyData`` given in LPS (legacy .vtk with a ``SPACE=LPS`` header, or .vtp/.stl)."""
    from vtkmodules.vtkIOGeometry import vtkSTLWriter
    from vtkmodules.vtkIOLegacy import vtkPolyDataWriter
    from vtkmodules.vtkIOXML import vtkXMLPolyDataWriter

    Path(path).parent.mkdir(parents=True, exist_ok=True)
    suffix = Path(path).suffix.lower()
    if suffix == ".vtk":
        writer = vtkPolyDataWriter()
        writer.SetHeader("3D Slicer output. SPACE=LPS")
        writer.SetFileVersion(42)
    elif suffix == ".vtp":
        writer = vtkXMLPolyDataWriter()
    elif suffix == ".stl":
        writer = vtkSTLWriter()
    else:
        raise ValueError("write models as .vtk, .vtp or .stl")
    writer.SetInputData(polydata)
    writer.SetFileName(str(path))
    if not writer.Write():
        raise OSError(f"{Path(path).name} could not be written")


def index_to_lps_matrix(image: Any) -> np.ndarray:
    """4x4 matrix from (i, j, k) voxel indices to LPS millimetres for a SimpleITK image."""
    direction = np.array(image.GetDirection()).reshape(3, 3)
    matrix = np.eye(4)
    matrix[:3, :3] = direction @ np.diag(image.GetSpacing())
    matrix[:3, 3] = image.GetOrigin()
    return matrix


def vtk_matrix(matrix: np.ndarray) -> Any:
    from vtkmodules.vtkCommonMath import vtkMatrix4x4

    out = vtkMatrix4x4()
    for r in range(4):
        for c in range(4):
            out.SetElement(r, c, float(matrix[r, c]))
    return out
