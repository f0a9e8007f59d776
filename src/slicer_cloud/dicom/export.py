"""Exports written back to DICOM: a segmentation as DICOM SEG, a view screenshot as Secondary Capture; optionally
de-identified; saved into the data root or stored (STOW-RS) on a DICOMweb server."""

from __future__ import annotations

import io
from typing import TYPE_CHECKING, Any

import numpy as np
import pydicom
from pydicom.dataset import Dataset

from ..errors import BadRequest, InvalidData, SlicerCloudError
from .deidentify import UidMap, deidentify
from .index import DicomIndex
from .seg import build_seg, segmentation_masks

if TYPE_CHECKING:
    from .service import DicomService

UID_MAP = "dicom-uid-map.json"


def source_datasets(service: DicomService, volume) -> list[Dataset]:
    """The header datasets of the instances a volume was built from, in its slice order."""
    uids = (volume.GetAttribute("DICOM.instanceUIDs") or "").split()
    source = volume.GetAttribute("DICOM.source") or "local"
    study_uid = volume.GetAttribute("DICOM.studyInstanceUID") or ""
    series_uid = volume.GetAttribute("DICOM.seriesInstanceUID") or ""
    found = service.source(source)
    by_uid: dict[str, Dataset] = {}
    if isinstance(found, DicomIndex):
        for row in found.instances(series_uid=series_uid):
            if row["sop_instance_uid"] in uids and row["sop_instance_uid"] not in by_uid:
                data = found.read_bytes(row)
                by_uid[row["sop_instance_uid"]] = pydicom.dcmread(io.BytesIO(data), stop_before_pixels=True)
    else:
        items = found._call("the series metadata", found.client.retrieve_series_metadata, study_uid, series_uid)  # noqa: SLF001
        for item in items:
            ds = Dataset.from_json(item, bulk_data_uri_handler=lambda *_: b"")
            by_uid[str(ds.SOPInstanceUID)] = ds
    missing = [u for u in uids if u not in by_uid]
    if missing:
        raise InvalidData(f"{len(missing)} source instances of the volume are no longer available in {source}")
    return [by_uid[u] for u in uids]


def export_seg(service: DicomService, segmentation_id: str) -> Dataset:
    """A DICOM SEG of a segmentation drawn on a DICOM volume, referencing that volume's source series."""
    volume, infos, masks = segmentation_masks(service.session, segmentation_id)
    sources = source_datasets(service, volume)
    return build_seg(sources, masks, infos)


def secondary_capture(rgb: np.ndarray, reference: Dataset | None = None, description: str = "Screenshot") -> Dataset:
    """A Secondary Capture instance of an RGB screenshot, in the reference's study (a new study without one)."""
    import highdicom as hd

    if rgb.ndim != 3 or rgb.shape[2] != 3:
        raise BadRequest("a screenshot must be an RGB image")
    common: dict[str, Any] = {
        "pixel_array": np.ascontiguousarray(rgb.astype(np.uint8)),
        "photometric_interpretation": "RGB",
        "bits_allocated": 8,
        "coordinate_system": "PATIENT",
        "series_instance_uid": hd.UID(),
        "sop_instance_uid": hd.UID(),
        "series_number": 900,
        "instance_number": 1,
        "manufacturer": "slicer-cloud",
        "patient_orientation": ("L", "P"),
        "series_description": description,
    }
    if reference is not None:
        return hd.sc.SCImage.from_ref_dataset(ref_dataset=reference, **common)
    return hd.sc.SCImage(
        study_instance_uid=hd.UID(),
        patient_id="UNKNOWN",
        patient_name="UNKNOWN",
        **common,
    )


def to_bytes(ds: Dataset) -> bytes:
    out = io.BytesIO()
    ds.save_as(out, enforce_file_format=True)
    return out.getvalue()


def prepare(service: DicomService, datasets: list[Dataset], deidentified: bool) -> list[Dataset]:
    """Apply de-identification (UID map in ``DATA/.slicer-cloud``) when asked."""
    if not deidentified:
        return datasets
    uids = UidMap(service.session.state_dir / UID_MAP)
    out = [deidentify(ds, uids) for ds in datasets]
    uids.save()
    return out


def screenshot_capture(service: DicomService) -> Dataset:
    """A Secondary Capture of the current view layout, in the study of the shown DICOM volume when there is one."""
    from ..core.layouts import layout_state
    from ..core.session_snapshots import session_snapshots

    rows = layout_state(service.session).screenshot_rows
    pixels = session_snapshots(service.session).screenshot(rows, (1024, 768))
    reference = None
    volume = _shown_dicom_volume(service.session)
    if volume is not None:
        try:
            reference = source_datasets(service, volume)[0]
        except SlicerCloudError:
            reference = None
    return secondary_capture(np.asarray(pixels)[..., :3], reference=reference)


def _shown_dicom_volume(session):
    nodes = session.scene.GetNodesByClass("vtkMRMLScalarVolumeNode")
    nodes.UnRegister(session.scene)
    found = None
    for i in range(nodes.GetNumberOfItems()):
        node = nodes.GetItemAsObject(i)
        if node.GetAttribute("DICOM.instanceUIDs") and not node.IsA("vtkMRMLLabelMapVolumeNode"):
            found = node
    return found


def deliver(
    service: DicomService,
    dataset: Dataset,
    *,
    destination: str = "",
    save: str = "",
    deidentified: bool = False,
    store: bool = True,
) -> dict[str, Any]:
    """De-identify if asked, then save into the data root and/or store (STOW-RS); say what happened."""
    (dataset,) = prepare(service, [dataset], deidentified)
    out: dict[str, Any] = {
        "sop_instance_uid": str(dataset.SOPInstanceUID),
        "series_uid": str(dataset.SeriesInstanceUID),
        "study_uid": str(dataset.StudyInstanceUID),
        "modality": str(dataset.get("Modality", "")),
        "stored": [],
        "failed": [],
        "destination": None,
        "saved": None,
        "deidentified": deidentified,
    }
    if not save and not store:
        raise BadRequest("nothing to do: give save=PATH.dcm and/or store=true with a destination")
    if save:
        if not save.lower().endswith(".dcm"):
            raise BadRequest("save the DICOM file with a .dcm name")
        root = service.session.data_root
        path = root.new_file_path(save, overwrite=False)
        path.write_bytes(to_bytes(dataset))
        out["saved"] = root.relative(path)
        service.index.scan()  # listed at once in the browser and served by /dicomweb
    if store:
        target = service.destination(destination)
        answer = target.store([dataset])
        out.update(stored=answer["stored"], failed=answer["failed"], destination=target.name)
    return out


def seg_file_bytes(session, node_id: str, deidentified: bool = False) -> bytes:
    """A segmentation as a DICOM SEG Part 10 file (for ``GET /api/v1/segmentations/{id}/export?format=dicom-seg``)."""
    from .service import service_for

    service = service_for(session)
    (dataset,) = prepare(service, [export_seg(service, node_id)], deidentified)
    return to_bytes(dataset)
