"""N4 bias field correction (SimpleITK) as a Slicer CLI module."""

from __future__ import annotations

from typing import Any

from .runtime import Progress, main, read_image, write_image

XML = """<?xml version="1.0" encoding="utf-8"?>
<executable>
  <category>Filtering</category>
  <title>N4 Bias Field Correction</title>
  <description>Remove a smooth multiplicative intensity bias (MRI inhomogeneity) with the N4 algorithm.</description>
  <version>1.0</version>
  <license>Apache 2.0</license>
  <contributor>slicer-cloud</contributor>
  <acknowledgements>Uses SimpleITK's N4BiasFieldCorrectionImageFilter (Tustison et al. 2010).</acknowledgements>
  <parameters>
    <label>N4</label>
    <description>Correction parameters</description>
    <integer>
      <name>shrinkFactor</name>
      <longflag>shrinkFactor</longflag>
      <label>Shrink factor</label>
      <description>Estimate the field on a volume shrunk by this factor (faster).</description>
      <default>2</default>
      <constraints><minimum>1</minimum><maximum>8</maximum><step>1</step></constraints>
    </integer>
    <integer-vector>
      <name>iterations</name>
      <longflag>iterations</longflag>
      <label>Iterations per level</label>
      <description>Maximum iterations at each fitting level.</description>
      <default>50,40,30</default>
      <constraints><minimum>1</minimum><maximum>500</maximum></constraints>
    </integer-vector>
  </parameters>
  <parameters>
    <label>IO</label>
    <description>Volumes</description>
    <image>
      <name>inputVolume</name>
      <label>Input volume</label>
      <channel>input</channel>
      <index>0</index>
      <description>Volume to correct.</description>
    </image>
    <image>
      <name>outputVolume</name>
      <label>Corrected volume</label>
      <channel>output</channel>
      <index>1</index>
      <description>Bias-corrected volume.</description>
    </image>
    <image type="label">
      <name>maskVolume</name>
      <longflag>mask</longflag>
      <label>Mask</label>
      <channel>input</channel>
      <description>Voxels used for the estimate (default: Otsu foreground).</description>
    </image>
  </parameters>
</executable>
"""


def run(values: dict[str, Any], progress: Progress) -> None:
    import SimpleITK as sitk

    progress.stage("Reading", 0.0, 0.05)
    image = sitk.Cast(read_image(values["inputVolume"]), sitk.sitkFloat32)
    if values.get("maskVolume"):
        mask = sitk.Cast(read_image(values["maskVolume"]) > 0, sitk.sitkUInt8)
    else:
        mask = sitk.OtsuThreshold(image, 0, 1)
    shrink = values["shrinkFactor"]
    small = sitk.Shrink(image, [shrink] * 3) if shrink > 1 else image
    small_mask = sitk.Shrink(mask, [shrink] * 3) if shrink > 1 else mask
    progress.stage("Estimating the bias field", 0.05, 0.9)
    n4 = progress.watch(sitk.N4BiasFieldCorrectionImageFilter())
    n4.SetMaximumNumberOfIterations([int(i) for i in values["iterations"]])
    n4.Execute(small, small_mask)
    progress.stage("Correcting", 0.9, 0.95)
    log_field = n4.GetLogBiasFieldAsImage(image)
    corrected = image / sitk.Exp(log_field)
    progress.stage("Writing", 0.95, 1.0)
    write_image(corrected, values["outputVolume"])


if __name__ == "__main__":
    raise SystemExit(main(XML, run, prog="n4_bias_correction"))
