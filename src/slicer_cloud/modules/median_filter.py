"""Median filter (SimpleITK) as a Slicer CLI module."""

from __future__ import annotations

from typing import Any

from .runtime import Progress, main, read_image, write_image

XML = """<?xml version="1.0" encoding="utf-8"?>
<executable>
  <category>Filtering.Denoising</category>
  <title>Median Filter</title>
  <description>Replace each voxel by the median of its neighbourhood
  (removes salt-and-pepper noise, keeps edges).</description>
  <version>1.0</version>
  <license>Apache 2.0</license>
  <contributor>slicer-cloud</contributor>
  <acknowledgements>Uses SimpleITK's MedianImageFilter.</acknowledgements>
  <parameters>
    <label>Median</label>
    <description>Neighbourhood</description>
    <integer-vector>
      <name>neighborhood</name>
      <longflag>neighborhood</longflag>
      <label>Neighbourhood radius (voxels)</label>
      <description>Radius along i, j, k in voxels (1,1,1 is a 3x3x3 neighbourhood).</description>
      <default>1,1,1</default>
      <constraints><minimum>0</minimum><maximum>10</maximum><step>1</step></constraints>
    </integer-vector>
  </parameters>
  <parameters>
    <label>IO</label>
    <description>Input and output volumes</description>
    <image>
      <name>inputVolume</name>
      <label>Input volume</label>
      <channel>input</channel>
      <index>0</index>
      <description>Volume to filter.</description>
    </image>
    <image>
      <name>outputVolume</name>
      <label>Output volume</label>
      <channel>output</channel>
      <index>1</index>
      <description>Filtered volume.</description>
    </image>
  </parameters>
</executable>
"""


def run(values: dict[str, Any], progress: Progress) -> None:
    import SimpleITK as sitk

    radius = values["neighborhood"]
    if len(radius) != 3:
        raise ValueError("neighborhood needs three radii (i,j,k)")
    progress.stage("Reading", 0.0, 0.1)
    image = read_image(values["inputVolume"])
    progress.stage("Median filtering", 0.1, 0.9)
    median = progress.watch(sitk.MedianImageFilter())
    median.SetRadius([int(r) for r in radius])
    result = median.Execute(image)
    progress.stage("Writing", 0.9, 1.0)
    write_image(result, values["outputVolume"])


if __name__ == "__main__":
    raise SystemExit(main(XML, run, prog="median_filter"))
