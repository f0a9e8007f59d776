"""Crop a volume to a box (region of interest) as a Slicer CLI module."""

from __future__ import annotations

import math
from typing import Any

from .runtime import Progress, main, read_image, write_image

XML = """<?xml version="1.0" encoding="utf-8"?>
<executable>
  <category>Converters</category>
  <title>Crop to ROI</title>
  <description>Keep the voxels of a volume inside a box given by its centre and radius (RAS, millimetres).</description>
  <version>1.0</version>
  <license>Apache 2.0</license>
  <contributor>slicer-cloud</contributor>
  <acknowledgements>Uses SimpleITK's RegionOfInterestImageFilter.</acknowledgements>
  <parameters>
    <label>Region</label>
    <description>Box to keep</description>
    <region coordinateSystem="ras">
      <name>roi</name>
      <longflag>roi</longflag>
      <label>ROI</label>
      <description>Centre x,y,z and radius rx,ry,rz of the box in RAS millimetres.</description>
      <default>0,0,0,50,50,50</default>
    </region>
  </parameters>
  <parameters>
    <label>IO</label>
    <description>Input and output volumes</description>
    <image>
      <name>inputVolume</name>
      <label>Input volume</label>
      <channel>input</channel>
      <index>0</index>
      <description>Volume to crop.</description>
    </image>
    <image>
      <name>outputVolume</name>
      <label>Output volume</label>
      <channel>output</channel>
      <index>1</index>
      <description>Cropped volume.</description>
    </image>
  </parameters>
</executable>
"""


def run(values: dict[str, Any], progress: Progress) -> None:
    import itertools

    import SimpleITK as sitk

    x, y, z, rx, ry, rz = values["roi"]
    if min(rx, ry, rz) <= 0:
        raise ValueError("the ROI radius must be positive along every axis")
    progress.stage("Reading", 0.0, 0.2)
    image = read_image(values["inputVolume"])
    # RAS -> LPS (ITK's physical space); the box's corners to continuous indices.
    corners = [(-(x + sx * rx), -(y + sy * ry), z + sz * rz) for sx, sy, sz in itertools.product((-1, 1), repeat=3)]
    indices = [image.TransformPhysicalPointToContinuousIndex(c) for c in corners]
    lower = [max(0, math.ceil(min(i[a] for i in indices) - 0.5)) for a in range(3)]
    upper = [min(image.GetSize()[a] - 1, math.floor(max(i[a] for i in indices) + 0.5)) for a in range(3)]
    if any(u < lo for lo, u in zip(lower, upper, strict=True)):
        raise ValueError("the ROI does not overlap the volume")
    progress.stage("Cropping", 0.2, 0.8)
    crop = progress.watch(sitk.RegionOfInterestImageFilter())
    crop.SetIndex(lower)
    crop.SetSize([u - lo + 1 for lo, u in zip(lower, upper, strict=True)])
    result = crop.Execute(image)
    progress.stage("Writing", 0.8, 1.0)
    write_image(result, values["outputVolume"])


if __name__ == "__main__":
    raise SystemExit(main(XML, run, prog="crop"))
