"""DICOM SEG: a Slicer segmentation exported with highdicom (referencing its source series), and a SEG loaded
back as a segmentation with its segment names, colours and terminology."""

from __future__ import annotations

import io
import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import pydicom
from pydicom.dataset import Dataset

from .. import __version__
from ..errors import BadRequest, InvalidData, NotFound

if TYPE_CHECKING:
    from ..core.session import Session

logger = logging.getLogger(__name__)

TERMINOLOGY_TAG = "TerminologyEntry"
TERMINOLOGY_CONTEXT = "Segmentation category and type - 3D Slicer General Anatomy list"
ANATOMY_CONTEXT = "Anatomic codes - DICOM master list"
DEFAULT_CODE = ("SCT", "85756007", "Tissue")


@dataclass
class SegmentInfo:
    """What a SEG segment carries besides its voxels."""

    label: str
    rgb: tuple[float, float, float]  # 0..1
    category: tuple[str, str, str] = DEFAULT_CODE  # scheme, value, meaning
    type: tuple[str, str, str] = DEFAULT_CODE

    def terminology(self) -> str:
        """Slicer's ``TerminologyEntry`` tag text for these codes."""
        cat, typ = "^".join(self.category), "^".join(self.type)
        return f"{TERMINOLOGY_CONTEXT}~{cat}~{typ}~^^~{ANATOMY_CONTEXT}~^^~^^"

    @classmethod
    def parse_terminology(cls, label: str, rgb, text: str) -> SegmentInfo:
        parts = text.split("~") if text else []
        info = cls(label, tuple(rgb))
        for index, attr in ((1, "category"), (2, "type")):
            if len(parts) > index:
                code = tuple(parts[index].split("^"))
                if len(code) == 3 and all(code):
                    setattr(info, attr, code)
        return info


def _code(code: tuple[str, str, str]):
    from highdicom.sr import CodedConcept

    scheme, value, meaning = code
    return CodedConcept(value=value, scheme_designator=scheme, meaning=meaning)


def _segment_tag(segment, name: str) -> str:
    import vtk

    value = vtk.reference("")
    try:
        return str(value) if segment.GetTag(name, value) else ""
    except TypeError:
        return ""


def segmentation_masks(session: Session, node_id: str) -> tuple[Any, list[SegmentInfo], np.ndarray]:
    """(reference volume, segment infos, masks (slices, rows, columns, segments) bool) of a segmentation node,
    resampled onto the volume it was drawn on."""
    scene = session.scene
    node = scene.GetNodeByID(node_id)
    if node is None or not node.IsA("vtkMRMLSegmentationNode"):
        raise NotFound(f"no segmentation {node_id!r} in the scene")
    volume = node.GetNodeReference("referenceImageGeometryRef")
    if volume is None or not volume.GetAttribute("DICOM.instanceUIDs"):
        volume = _newest_dicom_volume(scene)  # e.g. a .seg.nrrd opened beside a DICOM series
    if volume is None:
        raise BadRequest(
            "this segmentation is not drawn on a volume loaded from DICOM; DICOM SEG needs its source series "
            "(open the series from the DICOM browser, segment it, then export)"
        )
    from vtk.util import numpy_support

    segmentation = node.GetSegmentation()
    ids = [segmentation.GetNthSegmentID(i) for i in range(segmentation.GetNumberOfSegments())]
    if not ids:
        raise BadRequest("the segmentation has no segments to export")
    logic = session.app.segmentations_logic
    dims = volume.GetImageData().GetDimensions()
    masks = np.zeros((dims[2], dims[1], dims[0], len(ids)), dtype=bool)
    infos = []
    for n, segment_id in enumerate(ids):
        labelmap = scene.AddNewNodeByClass("vtkMRMLLabelMapVolumeNode", "__seg_export")
        try:
            import vtk

            id_list = vtk.vtkStringArray()
            id_list.InsertNextValue(segment_id)
            if not logic.ExportSegmentsToLabelmapNode(node, id_list, labelmap, volume):
                raise InvalidData("a segment could not be resampled onto its source volume")
            image = labelmap.GetImageData()
            if image is not None and image.GetPointData().GetScalars() is not None:
                array = numpy_support.vtk_to_numpy(image.GetPointData().GetScalars())
                masks[..., n] = array.reshape(dims[2], dims[1], dims[0]) > 0
        finally:
            scene.RemoveNode(labelmap)
        segment = segmentation.GetSegment(segment_id)
        infos.append(
            SegmentInfo.parse_terminology(
                segment.GetName() or f"Segment {n + 1}", segment.GetColor(), _segment_tag(segment, TERMINOLOGY_TAG)
            )
        )
    return volume, infos, masks


def _newest_dicom_volume(scene):
    nodes = scene.GetNodesByClass("vtkMRMLScalarVolumeNode")
    nodes.UnRegister(scene)
    found = None
    for i in range(nodes.GetNumberOfItems()):
        node = nodes.GetItemAsObject(i)
        if node.GetAttribute("DICOM.instanceUIDs") and node.GetImageData() is not None:
            found = node
    return found


def build_seg(
    source_images: list[Dataset], masks: np.ndarray, infos: list[SegmentInfo], *, series_number: int = 300
) -> Dataset:
    """A binary DICOM SEG over ``source_images`` (in slice order of ``masks``), one segment per info."""
    import highdicom as hd

    if len(source_images) != masks.shape[0]:
        raise InvalidData("the source series and the segmentation have different numbers of slices")
    descriptions = [
        hd.seg.SegmentDescription(
            segment_number=n + 1,
            segment_label=info.label[:64],
            segmented_property_category=_code(info.category),
            segmented_property_type=_code(info.type),
            algorithm_type=hd.seg.SegmentAlgorithmTypeValues.MANUAL,
            display_color=hd.color.CIELabColor.from_rgb(*(int(round(c * 255)) for c in info.rgb)),
        )
        for n, info in enumerate(infos)
    ]
    seg = hd.seg.Segmentation(
        source_images=source_images,
        pixel_array=masks.astype(np.uint8),
        segmentation_type=hd.seg.SegmentationTypeValues.BINARY,
        segment_descriptions=descriptions,
        series_instance_uid=hd.UID(),
        series_number=series_number,
        sop_instance_uid=hd.UID(),
        instance_number=1,
        manufacturer="slicer-cloud",
        manufacturer_model_name="slicer-cloud",
        software_versions=__version__,
        device_serial_number="0",
        series_description="Segmentation",
        omit_empty_frames=False,
    )
    return seg


def read_seg(data: bytes | Dataset):
    """A highdicom Segmentation from bytes or a dataset; :class:`InvalidData` if it is not a readable SEG."""
    import highdicom as hd

    try:
        ds = data if isinstance(data, Dataset) else pydicom.dcmread(io.BytesIO(data))
        return hd.seg.Segmentation.from_dataset(ds, copy=False)
    except RecursionError:
        raise InvalidData("the DICOM SEG nests sequences too deeply") from None
    except (ValueError, AttributeError, KeyError, TypeError, IndexError, pydicom.errors.InvalidDicomError) as exc:
        raise InvalidData(f"not a readable DICOM SEG ({type(exc).__name__})") from None


def seg_segments(seg) -> list[SegmentInfo]:
    infos = []
    for number in seg.get_segment_numbers():
        desc = seg.get_segment_description(number)
        color = desc.get("RecommendedDisplayCIELabValue")
        rgb = (0.5, 0.5, 0.5)
        if color is not None:
            import highdicom as hd

            rgb = tuple(c / 255 for c in hd.color.CIELabColor.from_dicom_value(color).to_rgb())
        cat, typ = desc.segmented_property_category, desc.segmented_property_type
        infos.append(
            SegmentInfo(
                str(desc.segment_label),
                rgb,
                (cat.scheme_designator, cat.value, cat.meaning),
                (typ.scheme_designator, typ.value, typ.meaning),
            )
        )
    return infos


def affine_to_ijk_to_ras(affine) -> np.ndarray:
    """A highdicom volume affine (LPS; array index order slice, row, column) as Slicer's IJK-to-RAS matrix (VTK
    index order column, row, slice)."""
    affine = np.asarray(affine)
    matrix = np.eye(4)
    matrix[:3, 0], matrix[:3, 1], matrix[:3, 2], matrix[:3, 3] = (
        affine[:3, 2],
        affine[:3, 1],
        affine[:3, 0],
        affine[:3, 3],
    )
    return np.diag([-1.0, -1.0, 1.0, 1.0]) @ matrix


def load_seg(session: Session, data: bytes | Dataset, name: str | None = None) -> str:
    """Add a DICOM SEG to the scene as a segmentation node (one segment per SEG segment); return its ID."""
    import vtk
    from vtk.util import numpy_support

    seg = read_seg(data)
    infos = seg_segments(seg)
    numbers = list(seg.get_segment_numbers())
    declared = int(seg.Rows) * int(seg.Columns) * int(getattr(seg, "NumberOfFrames", 1) or 1)
    if declared > session.limits.max_image_voxels:
        raise InvalidData("the DICOM SEG declares more voxels than the session accepts")
    try:
        volume = seg.get_volume(segment_numbers=numbers, combine_segments=False, dtype=np.uint8)
    except (ValueError, RuntimeError) as exc:
        raise InvalidData(f"the DICOM SEG frames do not form a volume ({str(exc)[:120]})") from None
    array = np.asarray(volume.array)  # (slices, rows, columns, segments)
    if array.ndim == 3:
        array = array[..., None]
    matrix = affine_to_ijk_to_ras(volume.affine)
    scene = session.scene
    node = scene.AddNewNodeByClass("vtkMRMLSegmentationNode", name or str(getattr(seg, "SeriesDescription", "SEG")))
    node.CreateDefaultDisplayNodes()
    logic = session.app.segmentations_logic
    vtk_matrix = vtk.vtkMatrix4x4()
    for i in range(4):
        for j in range(4):
            vtk_matrix.SetElement(i, j, float(matrix[i, j]))
    try:
        for n, info in enumerate(infos):
            mask = np.ascontiguousarray(array[..., n] > 0, dtype=np.uint8)
            labelmap = scene.AddNewNodeByClass("vtkMRMLLabelMapVolumeNode", "__seg_import")
            image = vtk.vtkImageData()
            image.SetDimensions(mask.shape[2], mask.shape[1], mask.shape[0])
            image.GetPointData().SetScalars(numpy_support.numpy_to_vtk(mask.reshape(-1), deep=True))
            labelmap.SetAndObserveImageData(image)
            labelmap.SetIJKToRASMatrix(vtk_matrix)
            before = node.GetSegmentation().GetNumberOfSegments()
            ok = logic.ImportLabelmapToSegmentationNode(labelmap, node)
            scene.RemoveNode(labelmap)
            segmentation = node.GetSegmentation()
            if not ok or segmentation.GetNumberOfSegments() == before:
                segment_id = segmentation.AddEmptySegment("", info.label)
            else:
                segment_id = segmentation.GetNthSegmentID(segmentation.GetNumberOfSegments() - 1)
            segment = segmentation.GetSegment(segment_id)
            segment.SetName(info.label)
            segment.SetColor(*info.rgb)
            segment.SetTag(TERMINOLOGY_TAG, info.terminology())
    except BaseException:
        scene.RemoveNode(node)
        raise
    node.SetAttribute("DICOM.instanceUIDs", str(seg.SOPInstanceUID))
    return node.GetID()
