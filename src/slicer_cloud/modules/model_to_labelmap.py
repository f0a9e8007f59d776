"""Surface model -> labelmap on a reference volume's grid (VTK stencil) as a Slicer CLI module."""

from __future__ import annotations

from typing import Any

from .runtime import Progress, main, read_image, write_image

XML = """<?xml version="1.0" encoding="utf-8"?>
<executable>
  <category>Surface Models</category>
  <title>Model to Labelmap</title>
  <description>Fill the inside of a closed surface model into a labelmap
  on the grid of a reference volume.</description>
  <version>1.0</version>
  <license>Apache 2.0</license>
  <contributor>slicer-cloud</contributor>
  <acknowledgements>Uses VTK's vtkPolyDataToImageStencil.</acknowledgements>
  <parameters>
    <label>Labelmap</label>
    <description>Output label</description>
    <integer>
      <name>labelValue</name>
      <longflag>label</longflag>
      <label>Label value</label>
      <description>Value of the voxels inside the model.</description>
      <default>1</default>
      <constraints><minimum>1</minimum><maximum>255</maximum><step>1</step></constraints>
    </integer>
  </parameters>
  <parameters>
    <label>IO</label>
    <description>Model, reference grid and labelmap</description>
    <geometry type="model">
      <name>inputModel</name>
      <label>Model</label>
      <channel>input</channel>
      <index>0</index>
      <description>Closed surface model.</description>
    </geometry>
    <image>
      <name>referenceVolume</name>
      <label>Reference volume</label>
      <channel>input</channel>
      <index>1</index>
      <description>Volume whose grid the labelmap uses.</description>
    </image>
    <image type="label">
      <name>outputLabel</name>
      <label>Output labelmap</label>
      <channel>output</channel>
      <index>2</index>
      <description>Labelmap of the model's inside.</description>
    </image>
  </parameters>
</executable>
"""


def run(values: dict[str, Any], progress: Progress) -> None:
    import numpy as np
    import SimpleITK as sitk
    from vtkmodules.util.numpy_support import vtk_to_numpy
    from vtkmodules.vtkCommonDataModel import vtkImageData
    from vtkmodules.vtkCommonTransforms import vtkTransform
    from vtkmodules.vtkFiltersGeneral import vtkTransformPolyDataFilter
    from vtkmodules.vtkImagingStencil import vtkImageStencil, vtkPolyDataToImageStencil

    from .model_io import index_to_lps_matrix, read_model_lps

    progress.stage("Reading", 0.0, 0.2)
    model = read_model_lps(values["inputModel"])
    reference = read_image(values["referenceVolume"])
    # Bring the model into the reference's voxel index space; stencil there on a unit grid.
    to_index = vtkTransform()
    to_index.SetMatrix([float(v) for v in np.linalg.inv(index_to_lps_matrix(reference)).ravel()])
    transformer = vtkTransformPolyDataFilter()
    transformer.SetTransform(to_index)
    transformer.SetInputData(model)
    size = reference.GetSize()
    blank = vtkImageData()
    blank.SetDimensions(*size)
    blank.AllocateScalars(3, 1)  # VTK_UNSIGNED_CHAR
    blank.GetPointData().GetScalars().Fill(0)
    progress.stage("Filling the model", 0.2, 0.8)
    stencil = vtkPolyDataToImageStencil()
    stencil.SetInputConnection(transformer.GetOutputPort())
    stencil.SetOutputOrigin(0, 0, 0)
    stencil.SetOutputSpacing(1, 1, 1)
    stencil.SetOutputWholeExtent(0, size[0] - 1, 0, size[1] - 1, 0, size[2] - 1)
    apply = vtkImageStencil()
    apply.SetInputData(blank)
    apply.SetStencilConnection(stencil.GetOutputPort())
    apply.ReverseStencilOn()
    apply.SetBackgroundValue(values["labelValue"])
    apply.Update()
    voxels = vtk_to_numpy(apply.GetOutput().GetPointData().GetScalars()).reshape(size[2], size[1], size[0])
    progress.stage("Writing", 0.8, 1.0)
    labels = sitk.GetImageFromArray(voxels.astype(np.uint8))
    labels.CopyInformation(reference)
    write_image(labels, values["outputLabel"])


if __name__ == "__main__":
    raise SystemExit(main(XML, run, prog="model_to_labelmap"))
