"""Per-label statistics of a volume (count, volume, mean, std, min, max) as a table, as a Slicer CLI module."""

from __future__ import annotations

import csv
from typing import Any

from .runtime import Progress, main, read_image

XML = """<?xml version="1.0" encoding="utf-8"?>
<executable>
  <category>Quantification</category>
  <title>Label Statistics</title>
  <description>For each label of a labelmap: voxel count, volume (mm3 and cc), and the mean,
  standard deviation, minimum and maximum of the volume's intensities.</description>
  <version>1.0</version>
  <license>Apache 2.0</license>
  <contributor>slicer-cloud</contributor>
  <acknowledgements>Uses SimpleITK's LabelStatisticsImageFilter.</acknowledgements>
  <parameters>
    <label>IO</label>
    <description>Inputs and output table</description>
    <image>
      <name>inputVolume</name>
      <label>Intensity volume</label>
      <channel>input</channel>
      <index>0</index>
      <description>Volume whose intensities are measured.</description>
    </image>
    <image type="label">
      <name>labelVolume</name>
      <label>Labelmap</label>
      <channel>input</channel>
      <index>1</index>
      <description>Regions to measure (0 is background and left out).</description>
    </image>
    <table fileExtensions=".csv">
      <name>outputTable</name>
      <label>Statistics table</label>
      <channel>output</channel>
      <index>2</index>
      <description>One row per label (CSV).</description>
    </table>
    <integer>
      <name>labelCount</name>
      <label>Labels measured</label>
      <channel>output</channel>
      <description>Number of labels in the table.</description>
    </integer>
  </parameters>
</executable>
"""

COLUMNS = ("label", "count", "volume_mm3", "volume_cc", "mean", "std", "min", "max")


def run(values: dict[str, Any], progress: Progress) -> dict[str, Any]:
    import SimpleITK as sitk

    progress.stage("Reading", 0.0, 0.3)
    image = sitk.Cast(read_image(values["inputVolume"]), sitk.sitkFloat64)
    labels = read_image(values["labelVolume"])
    if labels.GetSize() != image.GetSize():
        labels = sitk.Resample(labels, image, sitk.Transform(), sitk.sitkNearestNeighbor, 0)
    labels = sitk.Cast(labels, sitk.sitkUInt32)
    progress.stage("Measuring", 0.3, 0.9)
    stats = progress.watch(sitk.LabelStatisticsImageFilter())
    stats.Execute(image, labels)
    voxel_mm3 = 1.0
    for s in image.GetSpacing():
        voxel_mm3 *= s
    rows = []
    for label in sorted(int(v) for v in stats.GetLabels() if v != 0):
        count = stats.GetCount(label)
        rows.append(
            (
                label,
                count,
                round(count * voxel_mm3, 6),
                round(count * voxel_mm3 / 1000, 9),
                stats.GetMean(label),
                stats.GetSigma(label),
                stats.GetMinimum(label),
                stats.GetMaximum(label),
            )
        )
    progress.stage("Writing", 0.9, 1.0)
    with open(values["outputTable"], "w", newline="", encoding="utf-8") as out:
        writer = csv.writer(out)
        writer.writerow(COLUMNS)
        writer.writerows(rows)
    return {"labelCount": len(rows)}


if __name__ == "__main__":
    raise SystemExit(main(XML, run, prog="label_statistics"))
