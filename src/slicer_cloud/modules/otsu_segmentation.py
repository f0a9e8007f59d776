"""Otsu segmentation (SimpleITK multiple thresholds) as a Slicer CLI module."""

from __future__ import annotations

from typing import Any

from .runtime import Progress, main, read_image, write_image

XML = """<?xml version="1.0" encoding="utf-8"?>
<executable>
  <category>Segmentation</category>
  <title>Otsu Segmentation</title>
  <description>Split a volume into intensity classes with Otsu's method: labels 0 (darkest) to N.</description>
  <version>1.0</version>
  <license>Apache 2.0</license>
  <contributor>slicer-cloud</contributor>
  <acknowledgements>Uses SimpleITK's OtsuMultipleThresholdsImageFilter.</acknowledgements>
  <parameters>
    <label>Otsu</label>
    <description>Classes</description>
    <integer>
      <name>numberOfThresholds</name>
      <longflag>thresholds</longflag>
      <label>Number of thresholds</label>
      <description>1 gives background/foreground; N gives N+1 classes.</description>
      <default>1</default>
      <constraints><minimum>1</minimum><maximum>8</maximum><step>1</step></constraints>
    </integer>
    <integer>
      <name>bins</name>
      <longflag>bins</longflag>
      <label>Histogram bins</label>
      <description>Bins of the intensity histogram.</description>
      <default>128</default>
      <constraints><minimum>8</minimum><maximum>4096</maximum><step>1</step></constraints>
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
      <description>Volume to segment.</description>
    </image>
    <image type="label">
      <name>outputLabel</name>
      <label>Output labelmap</label>
      <channel>output</channel>
      <index>1</index>
      <description>Class labels.</description>
    </image>
  </parameters>
</executable>
"""


def run(values: dict[str, Any], progress: Progress) -> None:
    import SimpleITK as sitk

    progress.stage("Reading", 0.0, 0.2)
    image = read_image(values["inputVolume"])
    progress.stage("Otsu thresholds", 0.2, 0.9)
    otsu = progress.watch(sitk.OtsuMultipleThresholdsImageFilter())
    otsu.SetNumberOfThresholds(values["numberOfThresholds"])
    otsu.SetNumberOfHistogramBins(values["bins"])
    result = otsu.Execute(sitk.Cast(image, sitk.sitkFloat32))
    progress.stage("Writing", 0.9, 1.0)
    write_image(sitk.Cast(result, sitk.sitkUInt8), values["outputLabel"])


if __name__ == "__main__":
    raise SystemExit(main(XML, run, prog="otsu_segmentation"))
