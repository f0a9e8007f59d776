"""De-identification of exported instances after DICOM PS3.15 Annex E, Basic Application Level Confidentiality
Profile, with the UIDs replaced consistently through a UID map kept in the data root.

The profile's action codes are applied by attribute: D (replace with a dummy), Z (zero length), X (remove), U (replace
UIDs, the same original always giving the same new UID, so a SEG still references its de-identified source series).
Private attributes and curve/overlay groups are removed. Patient ID and name become a pseudonym derived from the map.
"""

from __future__ import annotations

import json
import threading
from pathlib import Path

from pydicom.dataset import Dataset
from pydicom.uid import generate_uid

# Basic profile (PS3.15 Table E.1-1), the attributes found in images, SEG and SC instances.
DUMMY = {"PatientName", "PatientID", "StudyDate", "ContentDate", "StudyTime", "ContentTime", "AccessionNumber"}
ZERO = {
    "PatientBirthDate", "PatientSex", "ReferringPhysicianName", "StudyID", "ContentCreatorName",
    "SeriesDate", "AcquisitionDate", "SeriesTime", "AcquisitionTime", "InstanceCreationDate", "InstanceCreationTime",
}  # fmt: skip
REMOVE = {
    "InstitutionName", "InstitutionAddress", "InstitutionalDepartmentName", "StationName", "OperatorsName",
    "PerformingPhysicianName", "NameOfPhysiciansReadingStudy", "PhysiciansOfRecord", "OtherPatientIDs",
    "OtherPatientNames", "OtherPatientIDsSequence", "PatientAddress", "PatientTelephoneNumbers", "PatientAge",
    "PatientSize", "PatientWeight", "MilitaryRank", "EthnicGroup", "Occupation", "AdditionalPatientHistory",
    "PatientComments", "DeviceSerialNumber", "PatientBirthTime", "PatientMotherBirthName", "MedicalRecordLocator",
    "RequestingPhysician", "RequestAttributesSequence", "ReferringPhysicianAddress",
    "ReferringPhysicianTelephoneNumbers",
    "StudyComments", "ImageComments", "IssuerOfPatientID", "PerformedProcedureStepID",
    "PerformedProcedureStepDescription",
    "ScheduledProcedureStepID", "RequestedProcedureID", "ProtocolName", "AdmittingDiagnosesDescription",
    "DerivationDescription", "InstitutionCodeSequence", "PatientState", "ResponsiblePerson", "CountryOfResidence",
    "RegionOfResidence", "CurrentPatientLocation", "PatientInstitutionResidence", "BranchOfService",
}  # fmt: skip
UID_KEYWORDS = {
    "StudyInstanceUID", "SeriesInstanceUID", "SOPInstanceUID", "FrameOfReferenceUID", "ReferencedSOPInstanceUID",
    "MediaStorageSOPInstanceUID", "SynchronizationFrameOfReferenceUID", "DimensionOrganizationUID",
    "ConcatenationUID", "IrradiationEventUID", "TrackingUID", "StorageMediaFileSetUID", "ReferencedFrameOfReferenceUID",
}  # fmt: skip
DEIDENTIFICATION_METHOD = "PS3.15 Basic Profile, slicer-cloud"


class UidMap:
    """Original UID -> de-identified UID, persisted as JSON (one map per data root, shared by every export)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock = threading.Lock()
        self._map: dict[str, str] = json.loads(path.read_text()) if path.is_file() else {}

    def __call__(self, uid: str) -> str:
        with self._lock:
            new = self._map.get(uid)
            if new is None:
                new = self._map[uid] = generate_uid()
            return new

    def save(self) -> None:
        with self._lock:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            tmp = self.path.with_suffix(".tmp")
            tmp.write_text(json.dumps(self._map, indent=0))
            tmp.replace(self.path)

    def __len__(self) -> int:
        return len(self._map)


def deidentify(ds: Dataset, uids: UidMap) -> Dataset:
    """De-identify ``ds`` in place (and its sequences); return it."""
    pseudonym = "ANON-" + uids("patient:" + str(ds.get("PatientID", "")))[-10:].replace(".", "")
    _walk(ds, uids)
    ds.PatientName = pseudonym
    ds.PatientID = pseudonym
    ds.PatientIdentityRemoved = "YES"
    ds.DeidentificationMethod = DEIDENTIFICATION_METHOD
    if hasattr(ds, "file_meta") and "MediaStorageSOPInstanceUID" in ds.file_meta:
        ds.file_meta.MediaStorageSOPInstanceUID = ds.SOPInstanceUID
    return ds


def _walk(ds: Dataset, uids: UidMap) -> None:
    ds.remove_private_tags()
    for elem in list(ds):
        keyword = elem.keyword
        if elem.tag.group in range(0x5000, 0x5100, 2) or elem.tag.group in range(0x6000, 0x6100, 2):
            del ds[elem.tag]
        elif keyword in REMOVE:
            del ds[elem.tag]
        elif keyword in ZERO:
            elem.value = ""
        elif keyword in DUMMY:
            elem.value = "19000101" if elem.VR == "DA" else "000000" if elem.VR == "TM" else "ANONYMOUS"
        elif keyword in UID_KEYWORDS and elem.value:
            elem.value = [uids(str(v)) for v in elem.value] if elem.VM > 1 else uids(str(elem.value))
        elif elem.VR == "SQ":
            for item in elem.value:
                _walk(item, uids)
