"""The threshold processing module run in the kernel's scene (SimpleITK on the volume's voxels), with progress.

The result is a segmentation node with one segment (binary labelmap, plus a closed surface for 3D views).
"""

from __future__ import annotations

import numpy as np

from ..core.nrrd_codec import VolumeArray, array_to_volume, volume_to_array
from .progress import Progress

COLOR = (0.95, 0.84, 0.57)


def threshold_mask(voxels: np.ndarray, lower: float | None, upper: float | None, progress=None) -> np.ndarray:
    """``lower <= voxels <= upper`` as uint8 (SimpleITK BinaryThreshold, reporting its progress)."""
    import SimpleITK as sitk

    image = sitk.GetImageFromArray(voxels)
    low = float(lower) if lower is not None else float(voxels.min())
    high = float(upper) if upper is not None else float(voxels.max())
    if low > high:
        raise ValueError("lower must not be greater than upper")
    if voxels.dtype.kind in "ui":  # ITK casts the bounds to the pixel type: keep them inside its range
        info = np.iinfo(voxels.dtype)
        low, high = max(low, info.min), min(high, info.max)
        if low > high:
            return np.zeros(voxels.shape, dtype=np.uint8)
    flt = sitk.BinaryThresholdImageFilter()
    flt.SetLowerThreshold(low)
    flt.SetUpperThreshold(high)
    flt.SetInsideValue(1)
    flt.SetOutsideValue(0)
    if progress is not None:
        flt.AddCommand(sitk.sitkProgressEvent, lambda: progress(flt.GetProgress()))
    return sitk.GetArrayFromImage(flt.Execute(image)).astype(np.uint8)


def threshold_segmentation(
    app,
    volume,
    *,
    lower: float | None,
    upper: float | None,
    name: str | None = None,
    progress: bool = True,
    segmentation=None,
):
    """Run the threshold module on ``volume``; return the (new or refilled) segmentation node."""
    scene = app.scene
    with Progress("Threshold", enabled=progress) as bar:
        bar.update(0.05, "reading voxels")
        source = volume_to_array(volume, copy=False)
        mask = threshold_mask(source.voxels, lower, upper, lambda f: bar.update(0.1 + 0.5 * f, "thresholding"))
        bar.update(0.6, "importing the segment")
        labelmap = scene.AddNewNodeByClass("vtkMRMLLabelMapVolumeNode", "__threshold")
        try:
            array_to_volume(scene, VolumeArray(mask, source.ijk_to_ras), node=labelmap)
            if segmentation is None:
                segmentation = scene.AddNewNodeByClass(
                    "vtkMRMLSegmentationNode", name or f"{volume.GetName()} threshold"
                )
                segmentation.CreateDefaultDisplayNodes()
                segmentation.SetReferenceImageGeometryParameterFromVolumeNode(volume)
            else:
                segmentation.GetSegmentation().RemoveAllSegments()
            if not app.segmentations_logic.ImportLabelmapToSegmentationNode(labelmap, segmentation):
                raise RuntimeError("the labelmap could not be imported into the segmentation")
        finally:
            scene.RemoveNode(labelmap)
        bar.update(0.8, "building the 3D surface")
        seg = segmentation.GetSegmentation()
        if seg.GetNumberOfSegments():
            segment = seg.GetNthSegment(0)
            segment.SetName(name or "threshold")
            segment.SetColor(*COLOR)
        segmentation.CreateClosedSurfaceRepresentation()
        display = segmentation.GetDisplayNode()
        if display is not None:
            display.SetVisibility(True)
            display.SetVisibility3D(True)
            display.SetOpacity2DFill(0.4)
    return segmentation
