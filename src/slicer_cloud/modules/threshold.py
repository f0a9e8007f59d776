"""Threshold a volume into a labelmap (SimpleITK) as a Slicer CLI module."""

from __future__ import annotations

from typing import Any

from .runtime import Progress, main, read_image, write_image

XML = """<?xml version="1.0" encoding="utf-8"?>
<executable>
  <category>Segmentation</category>
  <title>Threshold to Labelmap</title>
  <description>Voxels whose value lies in [lower, upper] get the label value; all others 0.</description>
  <version>1.0</version>
  <license>Apache 2.0</license>
  <contributor>slicer-cloud</contributor>
  <acknowledgements>Uses SimpleITK's BinaryThresholdImageFilter.</acknowledgements>
  <parameters>
    <label>Threshold</label>
    <description>Intensity range</description>
    <double>
      <name>lower</name>
      <longflag>lower</longflag>
      <label>Lower</label>
      <description>Lowest value inside (inclusive).</description>
      <default>1</default>
    </double>
    <double>
      <name>upper</name>
      <longflag>upper</longflag>
      <label>Upper</label>
      <description>Highest value inside (inclusive).</description>
      <default>1e30</default>
    </double>
    <integer>
      <name>labelValue</name>
      <longflag>label</longflag>
      <label>Label value</label>
      <description>Value of the voxels inside the range.</description>
      <default>1</default>
      <constraints><minimum>1</minimum><maximum>255</maximum><step>1</step></constraints>
    </integer>
  </parameters>
  <parameters>
    <label>IO</label>
    <description>Input volume and output labelmap</description>
    <image>
      <name>inputVolume</name>
      <label>Input volume</label>
      <channel>input</channel>
      <index>0</index>
      <description>Volume to threshold.</description>
    </image>
    <image type="label">
      <name>outputLabel</name>
      <label>Output labelmap</label>
      <channel>output</channel>
      <index>1</index>
      <description>Labelmap of the voxels inside the range.</description>
    </image>
  </parameters>
</executable>
"""


def run(values: dict[str, Any], progress: Progress) -> None:
    import SimpleITK as sitk

    if values["lower"] > values["upper"]:
        raise ValueError("lower must not be above upper")
    progress.stage("Reading", 0.0, 0.2)
    image = read_image(values["inputVolume"])
    progress.stage("Thresholding", 0.2, 0.9)
    threshold = progress.watch(sitk.BinaryThresholdImageFilter())
    threshold.SetLowerThreshold(values["lower"])
    threshold.SetUpperThreshold(min(values["upper"], 3e38))
    threshold.SetInsideValue(values["labelValue"])
    threshold.SetOutsideValue(0)
    result = threshold.Execute(sitk.Cast(image, sitk.sitkFloat32))
    progress.stage("Writing", 0.9, 1.0)
    write_image(sitk.Cast(result, sitk.sitkUInt8), values["outputLabel"])


if __name__ == "__main__":
    raise SystemExit(main(XML, run, prog="threshold"))
