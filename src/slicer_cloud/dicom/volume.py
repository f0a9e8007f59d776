"""Building a scalar volume from the slices of a :class:`~.series.Loadable`, progressively.

The volume node is created as soon as the first slice is decoded (middle slice first: the one the slice views show
after a reset), the other slices are decoded in a thread pool and written straight into the node's voxel array, and
the loop thread marks the image modified a few times a second so every view fills in as slices arrive. Worker
threads never touch MRML; only :meth:`VolumeTarget.modified` and node creation do, on the caller's thread.
"""

from __future__ import annotations

import asyncio
import io
import logging
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pydicom
from pydicom.dataset import Dataset

from ..core.limits import Limits
from ..errors import InvalidData, TooLarge
from .headers import PARSE_ERRORS
from .series import Loadable, ijk_to_ras

logger = logging.getLogger(__name__)

FetchSlice = Callable[[dict[str, Any]], "bytes | Dataset"]  # instance record -> the instance (Part 10 bytes)
REFRESH_S = 0.25


@dataclass
class LoadTiming:
    """When the first slice was shown and the whole volume filled, in seconds since the load began."""

    first_slice_s: float = 0.0
    full_volume_s: float = 0.0
    slices: int = 0
    warnings: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {
            "first_slice_s": round(self.first_slice_s, 4),
            "full_volume_s": round(self.full_volume_s, 4),
            "slices": self.slices,
            "warnings": list(self.warnings),
        }


def check_size(loadable: Loadable, limits: Limits) -> None:
    """Refuse before allocating when the declared size is above the session's limits."""
    first = loadable.instances[0]
    voxels = int(np.prod(loadable.dimensions, dtype=np.float64)) * int(first["samples"] or 1)
    size = voxels * max(4, (int(first["bits_allocated"] or 16) + 7) // 8)
    if voxels > limits.max_image_voxels or size > limits.max_image_bytes:
        raise TooLarge(
            f"the series declares {voxels} voxels ({size / 1e9:.1f} GB), above the session limits; raise "
            "max_image_voxels / max_image_bytes to load it"
        )


def decode_slice(data: bytes | Dataset, rows: int, columns: int) -> tuple[np.ndarray, float, float]:
    """Pixels of one single-frame instance (compressed syntaxes via pylibjpeg) and its rescale slope, intercept."""
    try:
        ds = data if isinstance(data, Dataset) else pydicom.dcmread(io.BytesIO(data), force=True)
        if int(ds.Rows) != rows or int(ds.Columns) != columns:
            raise InvalidData("a slice's size differs from the series' first slice")
        pixels = ds.pixel_array
    except RecursionError:
        raise InvalidData("a slice's header nests sequences too deeply") from None
    except InvalidData:
        raise
    except (*PARSE_ERRORS, RuntimeError, NotImplementedError) as exc:
        raise InvalidData(f"a slice could not be decoded ({type(exc).__name__}); is its pixel data complete?") from None
    if pixels.ndim != 2:
        raise InvalidData("only single-frame grayscale slices can be stacked into a volume")
    slope = float(ds.get("RescaleSlope", 1) or 1)
    intercept = float(ds.get("RescaleIntercept", 0) or 0)
    return pixels, slope, intercept


def voxel_type(raw: np.dtype, slope: float, intercept: float, bits_stored: int = 16) -> np.dtype:
    """The type a volume keeps after rescaling (integers stay integers when they fit, as Slicer does)."""
    if slope != 1 or intercept != int(intercept):
        return np.dtype(np.float32)
    if intercept == 0:
        return np.dtype(raw)
    if raw.itemsize <= 1 or raw == np.int16 or (raw == np.uint16 and bits_stored <= 15):
        return np.dtype(np.int16)
    return np.dtype(np.int32)


def rescaled(pixels: np.ndarray, slope: float, intercept: float, dtype: np.dtype) -> np.ndarray:
    if slope == 1 and intercept == 0:
        return pixels.astype(dtype, copy=False)
    return (pixels.astype(np.float32) * slope + intercept).astype(dtype, copy=False)


class VolumeTarget:
    """A scalar volume node whose voxels are filled slice by slice (create and mark modified on the loop thread)."""

    def __init__(self, scene, loadable: Loadable, dtype: np.dtype, name: str) -> None:
        import slicer
        from vtk.util import numpy_support

        columns, rows, slices = loadable.dimensions
        self.array = np.zeros((slices, rows, columns), dtype=dtype)
        image = slicer.vtkImageData() if hasattr(slicer, "vtkImageData") else _vtk_image()
        image.SetDimensions(columns, rows, slices)
        vtk_array = numpy_support.numpy_to_vtk(self.array.reshape(-1), deep=False)
        vtk_array.SetName("ImageScalars")
        image.GetPointData().SetScalars(vtk_array)
        self._keep = (self.array, vtk_array)  # VTK does not own numpy memory
        self.image = image
        node = scene.AddNewNodeByClass("vtkMRMLScalarVolumeNode", name)
        matrix = ijk_to_ras(loadable)
        import vtk

        vtk_matrix = vtk.vtkMatrix4x4()
        for i in range(4):
            for j in range(4):
                vtk_matrix.SetElement(i, j, float(matrix[i, j]))
        node.SetIJKToRASMatrix(vtk_matrix)
        node.SetAndObserveImageData(image)
        node.CreateDefaultDisplayNodes()
        node.SetAttribute("DICOM.instanceUIDs", " ".join(i["sop_instance_uid"] for i in loadable.instances))
        node.SetAttribute("DICOM.seriesInstanceUID", loadable.series_uid)
        self.node = node

    def write(self, k: int, pixels: np.ndarray) -> None:
        self.array[k] = pixels

    def modified(self) -> None:
        self.image.GetPointData().GetScalars().Modified()
        self.image.Modified()
        self.node.Modified()


def _vtk_image():
    import vtk

    return vtk.vtkImageData()


def middle_out(count: int) -> list[int]:
    """Slice order that starts at the middle (what the views show first) and grows outwards."""
    middle = count // 2
    order = [middle]
    for step in range(1, count):
        for k in (middle - step, middle + step):
            if 0 <= k < count:
                order.append(k)
    return order[:count]


async def load_progressively(
    session,
    loadable: Loadable,
    fetch: FetchSlice,
    *,
    name: str | None = None,
    workers: int = 4,
    show: bool = True,
) -> tuple[str, LoadTiming]:
    """Fetch and decode the slices of ``loadable`` in a thread pool; return the new node's ID and the timing.

    Must be awaited on the session's loop. On failure the partial node is removed and the error raised.
    """
    if not loadable.loadable:
        raise InvalidData(f"{loadable.name} cannot be loaded as a volume: {loadable.reason}")
    check_size(loadable, session.limits)
    started = time.perf_counter()
    timing = LoadTiming(slices=len(loadable.instances), warnings=list(loadable.warnings))
    columns, rows, _ = loadable.dimensions
    loop = asyncio.get_running_loop()
    order = middle_out(len(loadable.instances))
    pool = ThreadPoolExecutor(max_workers=max(1, workers), thread_name_prefix="dicom-slices")
    target: VolumeTarget | None = None

    def work(k: int) -> tuple[int, np.ndarray, float, float]:
        pixels, slope, intercept = decode_slice(fetch(loadable.instances[k]), rows, columns)
        return k, pixels, slope, intercept

    futures = [loop.run_in_executor(pool, work, k) for k in order]
    try:
        k, pixels, slope, intercept = await futures[0]
        bits = int(loadable.instances[k].get("bits_stored") or 16)
        dtype = voxel_type(pixels.dtype, slope, intercept, bits)
        target = VolumeTarget(session.scene, loadable, dtype, name or loadable.name)
        target.write(k, rescaled(pixels, slope, intercept, dtype))
        if show:
            session.show_main_volume([target.node.GetID()])
        timing.first_slice_s = time.perf_counter() - started
        last_refresh = time.perf_counter()
        for future in asyncio.as_completed(futures[1:]):
            k, pixels, slope, intercept = await future
            target.write(k, rescaled(pixels, slope, intercept, dtype))
            if time.perf_counter() - last_refresh > REFRESH_S:
                target.modified()
                last_refresh = time.perf_counter()
        target.modified()
        if show:
            _reset_window(session, target.node)
        timing.full_volume_s = time.perf_counter() - started
    except BaseException:
        for future in futures:
            future.cancel()
        if target is not None:
            session.scene.RemoveNode(target.node)
        raise
    finally:
        pool.shutdown(wait=False, cancel_futures=True)
    return target.node.GetID(), timing


def _reset_window(session, node) -> None:
    """Auto window/level from the full volume (the first slice alone gave a partial range)."""
    display = node.GetScalarVolumeDisplayNode()
    if display is not None:
        display.AutoWindowLevelOff()
        display.AutoWindowLevelOn()


def stack_volume(loadable: Loadable, fetch: FetchSlice, workers: int = 2) -> np.ndarray:
    """The whole volume as a (slices, rows, columns) array without a scene (CLI, benchmarks, export checks)."""
    columns, rows, slices = loadable.dimensions
    with ThreadPoolExecutor(max_workers=workers) as pool:
        decoded = list(pool.map(lambda item: decode_slice(fetch(item), rows, columns), loadable.instances))
    pixels, slope, intercept = decoded[0]
    dtype = voxel_type(pixels.dtype, slope, intercept)
    out = np.empty((slices, rows, columns), dtype=dtype)
    for k, (pixels, slope, intercept) in enumerate(decoded):
        out[k] = rescaled(pixels, slope, intercept, dtype)
    return out
