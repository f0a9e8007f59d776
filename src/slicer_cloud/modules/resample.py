"""Resample a volume to a new voxel spacing (SimpleITK) as a Slicer CLI module."""

from __future__ import annotations

import math
from typing import Any

from .runtime import Progress, main, read_image, write_image

XML = """<?xml version="1.0" encoding="utf-8"?>
<executable>
  <category>Registration.Specialized</category>
  <title>Resample to Spacing</title>
  <description>Resample a volume onto a grid of the given spacing covering the same physical extent.</description>
  <version>1.0</version>
  <license>Apache 2.0</license>
  <contributor>slicer-cloud</contributor>
  <acknowledgements>Uses SimpleITK's ResampleImageFilter.</acknowledgements>
  <parameters>
    <label>Resampling</label>
    <description>Output grid</description>
    <double-vector>
      <name>spacing</name>
      <longflag>spacing</longflag>
      <label>Spacing (mm)</label>
      <description>Output voxel spacing along i, j, k in millimetres.</description>
      <default>1,1,1</default>
      <constraints><minimum>0.01</minimum><maximum>100</maximum><step>0.1</step></constraints>
    </double-vector>
    <string-enumeration>
      <name>interpolation</name>
      <longflag>interpolation</longflag>
      <label>Interpolation</label>
      <description>nearest for labelmaps; linear or bspline for images.</description>
      <default>linear</default>
      <element>linear</element>
      <element>nearest</element>
      <element>bspline</element>
    </string-enumeration>
  </parameters>
  <parameters>
    <label>IO</label>
    <description>Input and output volumes</description>
    <image>
      <name>inputVolume</name>
      <label>Input volume</label>
      <channel>input</channel>
      <index>0</index>
      <description>Volume to resample.</description>
    </image>
    <image>
      <name>outputVolume</name>
      <label>Output volume</label>
      <channel>output</channel>
      <index>1</index>
      <description>Resampled volume.</description>
    </image>
  </parameters>
</executable>
"""


def run(values: dict[str, Any], progress: Progress) -> None:
    import SimpleITK as sitk

    spacing = values["spacing"]
    if len(spacing) != 3:
        raise ValueError("spacing needs three values (i,j,k)")
    progress.stage("Reading", 0.0, 0.1)
    image = read_image(values["inputVolume"])
    extent = [n * s for n, s in zip(image.GetSize(), image.GetSpacing(), strict=True)]
    size = [max(1, int(math.floor(e / s + 0.5))) for e, s in zip(extent, spacing, strict=True)]
    # Keep the outer edge of the first voxel where it was: origin moves by half the spacing change.
    direction = image.GetDirection()
    shift = [(s_new - s_old) / 2 for s_new, s_old in zip(spacing, image.GetSpacing(), strict=True)]
    origin = [image.GetOrigin()[r] + sum(direction[r * 3 + c] * shift[c] for c in range(3)) for r in range(3)]
    interpolators = {"linear": sitk.sitkLinear, "nearest": sitk.sitkNearestNeighbor, "bspline": sitk.sitkBSpline}
    progress.stage("Resampling", 0.1, 0.9)
    resample = progress.watch(sitk.ResampleImageFilter())
    resample.SetSize(size)
    resample.SetOutputSpacing(spacing)
    resample.SetOutputOrigin(origin)
    resample.SetOutputDirection(direction)
    resample.SetInterpolator(interpolators[values["interpolation"]])
    resample.SetDefaultPixelValue(0)
    result = resample.Execute(image)
    progress.stage("Writing", 0.9, 1.0)
    write_image(result, values["outputVolume"])


if __name__ == "__main__":
    raise SystemExit(main(XML, run, prog="resample"))
