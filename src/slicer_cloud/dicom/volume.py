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
import threading
import time
from collections.abc import Callable, Iterator, Mapping
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

LITTLE_ENDIAN_NATIVE = {"1.2.840.10008.1.2", "1.2.840.10008.1.2.1"}
FetchSlice = Callable[[dict[str, Any]], "bytes | Dataset"]  # instance record -> the instance (Part 10 bytes)
REFRESH_S = 0.25


@dataclass
class LoadTiming:
    """When the first slice was shown and the whole volume filled, in seconds since the load began."""

    first_slice_s: float = 0.0
    full_volume_s: float = 0.0
    shown_in_3d_s: float = 0.0
    slices: int = 0
    warnings: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {
            "first_slice_s": round(self.first_slice_s, 4),
            "full_volume_s": round(self.full_volume_s, 4),
            "shown_in_3d_s": round(self.shown_in_3d_s, 4),
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


def decode_slice(data: bytes | Dataset, row: Mapping[str, Any]) -> tuple[np.ndarray, float, float]:
    """Pixels of one single-frame instance and its rescale slope, intercept.

    Native little-endian grayscale pixels are read straight from the bytes at the offset the index recorded (no
    DICOM parse); anything else (compressed syntaxes via pylibjpeg, big endian, colour) goes through pydicom.
    """
    rows, columns = int(row["rows"]), int(row["columns"])
    if isinstance(data, bytes):
        fast = _native_pixels(data, row)
        if fast is not None:
            return fast, _float(row.get("rescale_slope"), 1.0), _float(row.get("rescale_intercept"), 0.0)
    elif isinstance(data, Dataset):
        fast = _native_dataset_pixels(data, rows, columns)
        if fast is not None:
            return fast, _float(data.get("RescaleSlope"), 1.0), _float(data.get("RescaleIntercept"), 0.0)
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


def _float(text: Any, default: float) -> float:
    try:
        return float(text) if text not in (None, "") else default
    except (TypeError, ValueError):
        return default


def _native_dataset_pixels(ds: Dataset, rows: int, columns: int) -> np.ndarray | None:
    """The pixels of a parsed native little-endian grayscale dataset as a view of its PixelData (no copy)."""
    meta = getattr(ds, "file_meta", None)
    syntax = str(meta.get("TransferSyntaxUID", "")) if meta is not None else ""
    bits = int(ds.get("BitsAllocated", 0) or 0)
    if (
        syntax not in LITTLE_ENDIAN_NATIVE
        or bits not in (8, 16)
        or int(ds.get("BitsStored", bits) or bits) != bits  # else pydicom masks / sign-extends the stored bits
        or int(ds.get("SamplesPerPixel", 1) or 1) != 1
        or int(ds.get("NumberOfFrames", 1) or 1) != 1
        or str(ds.get("PhotometricInterpretation", "")) != "MONOCHROME2"
        or int(ds.get("Rows", 0) or 0) != rows
        or int(ds.get("Columns", 0) or 0) != columns
        or "PixelData" not in ds
    ):
        return None
    signed = int(ds.get("PixelRepresentation", 0) or 0) == 1
    dtype = np.dtype(("<i" if signed else "<u") + str(bits // 8))
    data = ds.PixelData
    if len(data) < rows * columns * dtype.itemsize:
        raise InvalidData("a slice's pixel data is shorter than its header declares")
    return np.frombuffer(data, dtype=dtype, count=rows * columns).reshape(rows, columns)


def _native_pixels(data: bytes, row: Mapping[str, Any]) -> np.ndarray | None:
    """The pixels of an uncompressed little-endian grayscale slice, or None when the fast path does not apply."""
    offset = int(row.get("pixel_offset") or 0)
    bits = int(row.get("bits_allocated") or 0)
    if (
        row.get("transfer_syntax") not in LITTLE_ENDIAN_NATIVE
        or offset <= 1
        or bits not in (8, 16)
        or int(row.get("bits_stored") or bits) != bits
        or int(row.get("samples") or 1) != 1
        or int(row.get("frames") or 1) != 1
        or not str(row.get("photometric", "")).startswith("MONOCHROME")
        or data[offset : offset + 4] != b"\xe0\x7f\x10\x00"
    ):
        return None
    if data[offset + 4 : offset + 6] in (b"OB", b"OW"):
        start = offset + 12
    else:
        start = offset + 8
    rows, columns = int(row["rows"]), int(row["columns"])
    signed = int(row.get("pixel_representation") or 0) == 1
    dtype = np.dtype(("<i" if signed else "<u") + str(bits // 8))
    count = rows * columns
    if len(data) < start + count * dtype.itemsize:
        raise InvalidData("a slice's pixel data is shorter than its header declares (truncated file)")
    pixels = np.frombuffer(data, dtype=dtype, count=count, offset=start).reshape(rows, columns)
    if str(row.get("photometric")) == "MONOCHROME1":
        return None  # inverted grayscale: let pydicom's handling (and Slicer's) decide
    return pixels


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
        # A display node without automatic window/level: VTK's would scan the whole (still empty) volume now and
        # again at every update; we set it from the slices we have (numpy, subsampled).
        display = scene.AddNewNodeByClass("vtkMRMLScalarVolumeDisplayNode")
        display.SetAutoWindowLevel(False)
        display.SetAndObserveColorNodeID("vtkMRMLColorTableNodeGrey")
        node.SetAndObserveDisplayNodeID(display.GetID())
        node.SetAttribute("DICOM.instanceUIDs", " ".join(i["sop_instance_uid"] for i in loadable.instances))
        node.SetAttribute("DICOM.seriesInstanceUID", loadable.series_uid)
        self.node = node

    def write(self, k: int, pixels: np.ndarray) -> None:
        self.array[k] = pixels

    def set_window(self, slices: list[int] | None = None) -> None:
        """Window/level from the 1st-99th percentile of the given slices (default: up to 16 spread slices),
        subsampled 4x in plane: what Slicer's automatic window/level shows, at a fraction of the cost."""
        if slices is None:
            count = self.array.shape[0]
            slices = sorted(set(np.linspace(0, count - 1, min(count, 16)).astype(int).tolist()))
        sample = self.array[slices, ::4, ::4]
        low, high = (float(v) for v in np.percentile(sample, (1, 99))) if sample.size else (0.0, 1.0)
        display = self.node.GetScalarVolumeDisplayNode()
        if display is not None:
            display.SetWindowLevelMinMax(low, max(high, low + 1))

    def modified(self) -> None:
        self.image.GetPointData().GetScalars().Modified()
        self.image.Modified()
        self.node.Modified()


def _vtk_image():
    import vtk

    return vtk.vtkImageData()


def show_in_slice_views(session, node) -> None:
    """Show a volume that is still filling in the slice views only (3D volume rendering waits for the whole
    volume: its transfer functions and the GPU upload would be redone at every update)."""
    display = session.app.display_manager
    display.show_volume_in_slice_background(node)
    display.show_volume_in_slice_foreground(None)
    for view in session.app.view_manager.get_slice_views():
        view.reset_view()


def middle_out(count: int) -> list[int]:
    """Slice order that starts at the middle (what the views show first) and grows outwards."""
    middle = count // 2
    order = [middle]
    for step in range(1, count):
        for k in (middle - step, middle + step):
            if 0 <= k < count:
                order.append(k)
    return order[:count]


StreamSeries = Callable[[], Iterator["bytes | Dataset"]]  # the whole series in one request, in any order


async def load_progressively(
    session,
    loadable: Loadable,
    fetch: FetchSlice,
    *,
    stream: StreamSeries | None = None,
    name: str | None = None,
    workers: int = 4,
    show: bool = True,
) -> tuple[str, LoadTiming]:
    """Fetch and decode the slices of ``loadable`` in worker threads; return the new node's ID and the timing.

    Without ``stream`` every slice is fetched on its own, middle first. With ``stream`` (a DICOMweb series
    retrieval, parsed part by part as it arrives) the middle slice is fetched alone first, so the views show it at
    once, then the series streams in; what the stream misses is fetched slice by slice at the end.
    Must be awaited on the session's loop; on failure the partial node is removed and the error raised.
    """
    if not loadable.loadable:
        raise InvalidData(f"{loadable.name} cannot be loaded as a volume: {loadable.reason}")
    check_size(loadable, session.limits)
    started = time.perf_counter()
    timing = LoadTiming(slices=len(loadable.instances), warnings=list(loadable.warnings))
    loop = asyncio.get_running_loop()
    queue: asyncio.Queue = asyncio.Queue()
    slot = {item["sop_instance_uid"]: k for k, item in enumerate(loadable.instances)}
    pool = ThreadPoolExecutor(max_workers=max(2, workers), thread_name_prefix="dicom-slices")
    cancelled = threading.Event()

    def put(value) -> None:
        loop.call_soon_threadsafe(queue.put_nowait, value)

    def one(k: int) -> None:
        if cancelled.is_set():
            return
        try:
            item = loadable.instances[k]
            put((k, *decode_slice(fetch(item), item)))
        except BaseException as exc:  # handed to the loop, raised there
            put(exc)

    def streamed() -> None:
        try:
            for data in stream():
                if cancelled.is_set():
                    return
                uid = str(getattr(data, "SOPInstanceUID", "")) if isinstance(data, Dataset) else ""
                k = slot.get(uid)
                if k is not None:
                    put((k, *decode_slice(data, loadable.instances[k])))
        except BaseException as exc:
            logger.info("series stream ended early (%s); fetching the rest slice by slice", type(exc).__name__)
        finally:
            put(None)

    order = middle_out(len(loadable.instances))
    if stream is None:
        for k in order:
            pool.submit(one, k)
    else:  # the middle slice alone first, then the series: many servers answer one request at a time
        pool.submit(one, order[0])
    target: VolumeTarget | None = None
    filled: set[int] = set()
    try:
        last_refresh = time.perf_counter()
        while len(filled) < len(loadable.instances):
            got = await queue.get()
            if got is None:  # the stream is done: fetch what it did not bring
                for k in order:
                    if k not in filled:
                        pool.submit(one, k)
                continue
            if isinstance(got, BaseException):
                raise got
            k, pixels, slope, intercept = got
            if k in filled:
                continue
            if stream is not None and not filled:
                pool.submit(streamed)
            if target is None:
                dtype = voxel_type(pixels.dtype, slope, intercept, int(loadable.instances[k].get("bits_stored") or 16))
                target = VolumeTarget(session.scene, loadable, dtype, name or loadable.name)
                target.write(k, rescaled(pixels, slope, intercept, dtype))
                target.set_window([k])
                if show:
                    show_in_slice_views(session, target.node)
                timing.first_slice_s = time.perf_counter() - started
            else:
                target.write(k, rescaled(pixels, slope, intercept, target.array.dtype))
            filled.add(k)
            if time.perf_counter() - last_refresh > REFRESH_S:
                target.modified()
                last_refresh = time.perf_counter()
        target.set_window()
        target.modified()
        timing.full_volume_s = time.perf_counter() - started
        if show:  # slice views, 3D volume rendering and the viewer's panels, now that the volume is whole
            session.show_main_volume([target.node.GetID()])
            timing.shown_in_3d_s = time.perf_counter() - started
    except BaseException:
        cancelled.set()
        if target is not None:
            session.scene.RemoveNode(target.node)
        raise
    finally:
        cancelled.set()  # a stream still running stops at its next part
        pool.shutdown(wait=False, cancel_futures=True)
    return target.node.GetID(), timing


def stack_volume(loadable: Loadable, fetch: FetchSlice, workers: int = 2) -> np.ndarray:
    """The whole volume as a (slices, rows, columns) array without a scene (CLI, benchmarks, export checks)."""
    columns, rows, slices = loadable.dimensions
    with ThreadPoolExecutor(max_workers=workers) as pool:
        decoded = list(pool.map(lambda item: decode_slice(fetch(item), item), loadable.instances))
    pixels, slope, intercept = decoded[0]
    dtype = voxel_type(pixels.dtype, slope, intercept)
    out = np.empty((slices, rows, columns), dtype=dtype)
    for k, (pixels, slope, intercept) in enumerate(decoded):
        out[k] = rescaled(pixels, slope, intercept, dtype)
    return out
