"""Labelmap -> surface model (VTK discrete flying edges, windowed-sinc smoothing, decimation) as a Slicer CLI."""

from __future__ import annotations

from typing import Any

from .runtime import Progress, main, read_image

XML = """<?xml version="1.0" encoding="utf-8"?>
<executable>
  <category>Surface Models</category>
  <title>Labelmap to Model</title>
  <description>Build a smooth surface model of one label (or every non-zero voxel) of a labelmap.</description>
  <version>1.0</version>
  <license>Apache 2.0</license>
  <contributor>slicer-cloud</contributor>
  <acknowledgements>Uses VTK's vtkDiscreteFlyingEdges3D, vtkWindowedSincPolyDataFilter
  and vtkQuadricDecimation.</acknowledgements>
  <parameters>
    <label>Surface</label>
    <description>Surface extraction</description>
    <integer>
      <name>labelValue</name>
      <longflag>label</longflag>
      <label>Label</label>
      <description>Label to model; 0 models every non-zero voxel.</description>
      <default>0</default>
      <constraints><minimum>0</minimum><maximum>65535</maximum><step>1</step></constraints>
    </integer>
    <integer>
      <name>smoothing</name>
      <longflag>smoothing</longflag>
      <label>Smoothing iterations</label>
      <description>Windowed-sinc smoothing iterations (0: none).</description>
      <default>15</default>
      <constraints><minimum>0</minimum><maximum>200</maximum><step>1</step></constraints>
    </integer>
    <double>
      <name>decimation</name>
      <longflag>decimation</longflag>
      <label>Decimation</label>
      <description>Fraction of triangles to remove (0: keep all).</description>
      <default>0.25</default>
      <constraints><minimum>0</minimum><maximum>0.95</maximum><step>0.05</step></constraints>
    </double>
  </parameters>
  <parameters>
    <label>IO</label>
    <description>Labelmap and model</description>
    <image type="label">
      <name>inputLabel</name>
      <label>Labelmap</label>
      <channel>input</channel>
      <index>0</index>
      <description>Labelmap to model.</description>
    </image>
    <geometry type="model" fileExtensions=".vtk">
      <name>outputModel</name>
      <label>Model</label>
      <channel>output</channel>
      <index>1</index>
      <description>Surface model (LPS).</description>
    </geometry>
  </parameters>
</executable>
"""


def run(values: dict[str, Any], progress: Progress) -> None:
    import numpy as np
    import SimpleITK as sitk
    from vtkmodules.util.numpy_support import numpy_to_vtk
    from vtkmodules.vtkCommonDataModel import vtkImageData
    from vtkmodules.vtkCommonTransforms import vtkTransform
    from vtkmodules.vtkFiltersCore import vtkPolyDataNormals, vtkQuadricDecimation, vtkWindowedSincPolyDataFilter
    from vtkmodules.vtkFiltersGeneral import vtkDiscreteFlyingEdges3D, vtkTransformPolyDataFilter

    from .model_io import index_to_lps_matrix, write_model_lps

    progress.stage("Reading", 0.0, 0.1)
    image = read_image(values["inputLabel"])
    labels = sitk.GetArrayFromImage(image)  # [k, j, i]
    label = values["labelValue"]
    mask = (labels == label) if label else (labels != 0)
    if not mask.any():
        raise ValueError(f"the labelmap has no voxels with label {label}" if label else "the labelmap is empty")
    # One voxel of padding so surfaces touching the border are closed.
    padded = np.pad(mask.astype(np.uint8), 1)
    data = vtkImageData()
    data.SetDimensions(padded.shape[2], padded.shape[1], padded.shape[0])
    data.SetOrigin(-1, -1, -1)
    data.GetPointData().SetScalars(numpy_to_vtk(padded.ravel(), deep=True))
    progress.stage("Extracting the surface", 0.1, 0.4)
    surface = vtkDiscreteFlyingEdges3D()
    surface.SetInputData(data)
    surface.SetValue(0, 1)
    surface.ComputeNormalsOff()
    surface.Update()
    polydata = surface.GetOutput()
    if values["smoothing"] > 0:
        progress.stage("Smoothing", 0.4, 0.7)
        smoother = vtkWindowedSincPolyDataFilter()
        smoother.SetInputData(polydata)
        smoother.SetNumberOfIterations(values["smoothing"])
        smoother.SetPassBand(0.05)
        smoother.BoundarySmoothingOff()
        smoother.NonManifoldSmoothingOn()
        smoother.NormalizeCoordinatesOn()
        smoother.Update()
        polydata = smoother.GetOutput()
    if values["decimation"] > 0:
        progress.stage("Decimating", 0.7, 0.85)
        decimate = vtkQuadricDecimation()
        decimate.SetInputData(polydata)
        decimate.SetTargetReduction(values["decimation"])
        decimate.VolumePreservationOn()
        decimate.Update()
        polydata = decimate.GetOutput()
    progress.stage("Writing", 0.85, 1.0)
    to_lps = vtkTransform()
    to_lps.SetMatrix([float(v) for v in index_to_lps_matrix(image).ravel()])
    transformer = vtkTransformPolyDataFilter()
    transformer.SetTransform(to_lps)
    transformer.SetInputData(polydata)
    normals = vtkPolyDataNormals()
    normals.SetInputConnection(transformer.GetOutputPort())
    normals.ConsistencyOn()
    normals.AutoOrientNormalsOn()
    normals.Update()
    write_model_lps(normals.GetOutput(), values["outputModel"])


if __name__ == "__main__":
    raise SystemExit(main(XML, run, prog="labelmap_to_model"))
