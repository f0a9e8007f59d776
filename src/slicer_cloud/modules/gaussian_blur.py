"""Gaussian blur (SimpleITK recursive Gaussian) as a Slicer CLI module."""

from __future__ import annotations

from typing import Any

from .runtime import Progress, main, read_image, write_image

XML = """<?xml version="1.0" encoding="utf-8"?>
<executable>
  <category>Filtering.Denoising</category>
  <title>Gaussian Blur</title>
  <description>Smooth a volume with a Gaussian kernel of the given standard deviation (in millimetres).</description>
  <version>1.0</version>
  <documentation-url>https://github.com/slicer-cloud/slicer-cloud/blob/main/docs/modules.md</documentation-url>
  <license>Apache 2.0</license>
  <contributor>slicer-cloud</contributor>
  <acknowledgements>Uses SimpleITK's SmoothingRecursiveGaussianImageFilter.</acknowledgements>
  <parameters>
    <label>Blur</label>
    <description>Smoothing parameters</description>
    <double>
      <name>sigma</name>
      <longflag>sigma</longflag>
      <flag>s</flag>
      <label>Sigma (mm)</label>
      <description>Standard deviation of the Gaussian, in millimetres.</description>
      <default>1.0</default>
      <constraints><minimum>0.01</minimum><maximum>100</maximum><step>0.1</step></constraints>
    </double>
  </parameters>
  <parameters>
    <label>IO</label>
    <description>Input and output volumes</description>
    <image>
      <name>inputVolume</name>
      <label>Input volume</label>
      <channel>input</channel>
      <index>0</index>
      <description>Volume to smooth.</description>
    </image>
    <image>
      <name>outputVolume</name>
      <label>Output volume</label>
      <channel>output</channel>
      <index>1</index>
      <description>Smoothed volume.</description>
    </image>
  </parameters>
</executable>
"""


def run(values: dict[str, Any], progress: Progress) -> None:
    import SimpleITK as sitk

    progress.stage("Reading", 0.0, 0.1)
    image = read_image(values["inputVolume"])
    progress.stage("Smoothing", 0.1, 0.9)
    blur = progress.watch(sitk.SmoothingRecursiveGaussianImageFilter())
    blur.SetSigma(values["sigma"])
    result = blur.Execute(sitk.Cast(image, sitk.sitkFloat32))
    progress.stage("Writing", 0.9, 1.0)
    write_image(result, values["outputVolume"])


if __name__ == "__main__":
    raise SystemExit(main(XML, run, prog="gaussian_blur"))
