"""Splitting a DICOM series into loadable volumes and sorting their slices, the way Slicer's DICOM plugin does.

Slicer's scalar volume plugin first groups by Series Instance UID, then splits a series whose instances differ in
orientation, image size or acquisition number into sub-series, sorts slices along the slice normal and checks the
geometry: missing positions or orientations, duplicate positions and irregular spacing. A multi-frame instance is a
loadable of its own (enhanced CT/MR/PET: built from its functional groups; others: refused with the reason). We do
the same on index records, so the browser can say *before* loading why a series is not a volume.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

SPACING_TOLERANCE = 0.01  # relative difference of slice gaps accepted as regular (Slicer: 1e-2 mm-ish)
ORIENTATION_DECIMALS = 4
ENHANCED_VOLUME_CLASSES = {
    "1.2.840.10008.5.1.4.1.1.2.1",  # Enhanced CT
    "1.2.840.10008.5.1.4.1.1.2.2",  # Legacy Converted Enhanced CT
    "1.2.840.10008.5.1.4.1.1.4.1",  # Enhanced MR
    "1.2.840.10008.5.1.4.1.1.4.4",  # Legacy Converted Enhanced MR
    "1.2.840.10008.5.1.4.1.1.130",  # Enhanced PET
    "1.2.840.10008.5.1.4.1.1.128.1",  # Legacy Converted Enhanced PET
}
IMAGE_CLASSES_NOT_VOLUMES = {
    "1.2.840.10008.5.1.4.1.1.66.4": "a DICOM SEG (open it as a segmentation)",
    "1.2.840.10008.5.1.4.1.1.7": "a Secondary Capture image (not a volume)",
}


@dataclass
class Loadable:
    """One volume that can be built from a series, or the reason it cannot."""

    series_uid: str
    name: str
    instances: list[Mapping[str, Any]]
    loadable: bool = True
    reason: str = ""
    multiframe: bool = False  # one enhanced multi-frame instance: geometry from its functional groups
    warnings: list[str] = field(default_factory=list)
    origin: list[float] = field(default_factory=list)  # LPS position of the first voxel
    row_direction: list[float] = field(default_factory=list)
    column_direction: list[float] = field(default_factory=list)
    slice_direction: list[float] = field(default_factory=list)
    spacing: list[float] = field(default_factory=list)  # column, row, slice (mm)
    dimensions: list[int] = field(default_factory=list)  # columns, rows, slices

    def summary(self) -> dict[str, Any]:
        return {
            "series_uid": self.series_uid,
            "name": self.name,
            "instances": len(self.instances),
            "loadable": self.loadable,
            "reason": self.reason,
            "warnings": list(self.warnings),
            "dimensions": list(self.dimensions),
            "spacing": [round(v, 6) for v in self.spacing],
            "multiframe": self.multiframe,
        }


def _json(value: str) -> list[float] | None:
    return json.loads(value) if value else None


def loadables(instances: Iterable[Mapping[str, Any]]) -> list[Loadable]:
    """The volumes in the instances of one series (records as mappings with :class:`InstanceRecord` fields)."""
    items = list(instances)
    if not items:
        return []
    series_uid = items[0]["series_uid"]
    base = items[0].get("series_description") or f"Series {items[0].get('series_number') or ''}".strip()
    images = [i for i in items if i["rows"] and i["columns"]]
    if not images:
        return [Loadable(series_uid, base, items, False, "the series holds no images (e.g. a report or document)")]
    sop_class = images[0]["sop_class_uid"]
    if sop_class in IMAGE_CLASSES_NOT_VOLUMES:
        return [Loadable(series_uid, base, items, False, f"this is {IMAGE_CLASSES_NOT_VOLUMES[sop_class]}")]
    multi = [i for i in images if i["frames"] > 1]
    single = [i for i in images if i["frames"] == 1]
    out = [_multiframe(series_uid, f"{base} (multi-frame {n + 1})", i) for n, i in enumerate(multi)]
    groups: dict[tuple, list[Mapping[str, Any]]] = {}
    for item in single:
        orientation = _json(item["orientation"])
        key = (
            tuple(np.round(orientation, ORIENTATION_DECIMALS)) if orientation else None,
            item["rows"],
            item["columns"],
            item.get("acquisition_number") if _distinct(single, "acquisition_number") else None,
        )
        groups.setdefault(key, []).append(item)
    for n, group in enumerate(groups.values()):
        name = base if len(groups) == 1 else f"{base} (part {n + 1} of {len(groups)})"
        out.append(_stack(series_uid, name, group))
    return out


def _distinct(items: list[Mapping[str, Any]], key: str) -> bool:
    """Split on acquisition number only when each acquisition is a full stack (as Slicer does for repeated scans)."""
    values = {i.get(key) for i in items}
    if len(values) < 2:
        return False
    positions = {i["position"] for i in items}
    return len(positions) < len(items)


def _multiframe(series_uid: str, name: str, item: Mapping[str, Any]) -> Loadable:
    if item["sop_class_uid"] not in ENHANCED_VOLUME_CLASSES:
        return Loadable(
            series_uid,
            name,
            [item],
            False,
            "a multi-frame instance of a class without per-frame geometry (e.g. ultrasound or X-ray cine); "
            "only enhanced CT/MR/PET multi-frame instances are built into volumes",
        )
    return Loadable(
        series_uid,
        name,
        [item],
        True,
        multiframe=True,
        dimensions=[int(item["columns"]), int(item["rows"]), int(item["frames"])],
        warnings=["enhanced multi-frame: slices placed from the per-frame functional groups"],
    )


def _stack(series_uid: str, name: str, group: list[Mapping[str, Any]]) -> Loadable:
    loadable = Loadable(series_uid, name, group)
    first = group[0]
    orientation = _json(first["orientation"])
    if orientation is None or any(not i["position"] for i in group):
        if len(group) == 1 and orientation is None:
            return _fail(loadable, "the image has no position or orientation (ImagePositionPatient / Orientation)")
        return _fail(loadable, "slices without ImagePositionPatient or ImageOrientationPatient cannot be stacked")
    row, col = np.asarray(orientation[:3]), np.asarray(orientation[3:])
    normal = np.cross(row, col)
    if abs(np.linalg.norm(normal) - 1) > 0.01:
        return _fail(loadable, "ImageOrientationPatient is not two orthogonal unit vectors")
    positions = np.array([_json(i["position"]) for i in group], dtype=float)
    distance = positions @ normal
    order = np.argsort(distance, kind="stable")
    group = [group[i] for i in order]
    positions, distance = positions[order], distance[order]
    loadable.instances = group
    gaps = np.diff(distance)
    if len(group) > 1 and np.any(gaps < 1e-4):
        return _fail(
            loadable,
            "several slices share one position (repeated acquisitions or a 4D series); split it by acquisition "
            "or load it in desktop Slicer",
        )
    spacing_xy = _json(first["spacing"]) or [1.0, 1.0]
    if not first["spacing"]:
        loadable.warnings.append("no PixelSpacing: 1 mm assumed")
    slice_spacing = float(np.mean(gaps)) if len(gaps) else 1.0
    if len(gaps) and np.max(np.abs(gaps - slice_spacing)) > SPACING_TOLERANCE * max(slice_spacing, 1.0):
        loadable.warnings.append(
            f"irregular slice spacing ({gaps.min():.3g} to {gaps.max():.3g} mm): the volume uses the mean "
            f"{slice_spacing:.3g} mm, distances are approximate"
        )
    if len(group) > 1:
        offaxis = positions - positions[0] - np.outer(distance - distance[0], normal)
        if np.max(np.linalg.norm(offaxis, axis=1)) > 0.01 * max(slice_spacing, 1.0) * len(group):
            loadable.warnings.append("slices are sheared (positions drift off the slice normal): shear ignored")
    loadable.origin = [float(v) for v in positions[0]]
    loadable.row_direction = [float(v) for v in row]
    loadable.column_direction = [float(v) for v in col]
    loadable.slice_direction = [float(v) for v in normal]
    loadable.spacing = [float(spacing_xy[1]), float(spacing_xy[0]), slice_spacing]
    loadable.dimensions = [int(first["columns"]), int(first["rows"]), len(group)]
    return loadable


def _fail(loadable: Loadable, reason: str) -> Loadable:
    loadable.loadable = False
    loadable.reason = reason
    return loadable


def ijk_to_ras(loadable: Loadable) -> np.ndarray:
    """The 4x4 IJK-to-RAS matrix of a loadable (DICOM is LPS: x and y flip)."""
    m = np.eye(4)
    m[:3, 0] = np.asarray(loadable.row_direction) * loadable.spacing[0]
    m[:3, 1] = np.asarray(loadable.column_direction) * loadable.spacing[1]
    m[:3, 2] = np.asarray(loadable.slice_direction) * loadable.spacing[2]
    m[:3, 3] = loadable.origin
    return np.diag([-1.0, -1.0, 1.0, 1.0]) @ m
