"""A real Orthanc (DICOMweb plugin, authentication on): browse, load, segment, export DICOM SEG, store it back,
read it back and load it again - segments identical."""

from __future__ import annotations

import asyncio

import numpy as np
import pytest
from datagen import SeriesSpec, compressed_datasets, expected_ijk_to_ras, series_datasets
from pydicom.uid import JPEG2000Lossless
from test_loading import ijk_to_ras, voxels

from slicer_cloud.dicom.export import export_seg, prepare, secondary_capture
from slicer_cloud.dicom.seg import segmentation_masks
from slicer_cloud.dicom.service import DicomService
from slicer_cloud.dicom.web_source import SourceUnavailable, parse_sources
from slicer_cloud.errors import ConfigError

pytestmark = [pytest.mark.slow, pytest.mark.orthanc]

CT = SeriesSpec(slices=40, rows=128, columns=128, spacing=(0.6, 0.6, 1.25), seed=3, description="CT abdomen")


@pytest.fixture(scope="module")
def populated(orthanc, mr_spec):
    env = orthanc.env
    (source,) = parse_sources([f"orthanc={orthanc.dicomweb_url}"], env).values()
    answer = source.store(series_datasets(CT) + series_datasets(mr_spec))
    assert len(answer["stored"]) == CT.slices + mr_spec.slices and not answer["failed"]
    return orthanc


@pytest.fixture(scope="module")
def service(populated, tmp_path_factory):
    from trame_slicer.core import SlicerApp

    from slicer_cloud.core.session import Session
    from slicer_cloud.settings import Settings

    data = tmp_path_factory.mktemp("data")
    settings = Settings(data=data, sample=False, dicomweb=[f"orthanc={populated.dicomweb_url}"])
    return DicomService(Session(settings, SlicerApp()), environ=populated.env)


def test_sources_come_from_name_url_entries_and_credentials_from_the_environment():
    sources = parse_sources(["pacs=https://pacs.example/dicomweb"], {"SLICER_CLOUD_DICOMWEB_PACS_TOKEN": "abc"})
    assert sources["pacs"].describe() == {"name": "pacs", "url": "https://pacs.example/dicomweb", "auth": "bearer",
                                          "kind": "dicomweb"}  # fmt: skip
    with pytest.raises(ConfigError):
        parse_sources(["no-url"])


def test_wrong_credentials_give_a_clear_error(populated):
    (source,) = parse_sources([f"orthanc={populated.dicomweb_url}"], {}).values()
    with pytest.raises(SourceUnavailable, match="refused the credentials"):
        source.studies()


def test_patients_studies_and_series_are_searchable(service, mr_spec):
    assert {CT.patient_id, mr_spec.patient_id} <= {p["patient_id"] for p in service.patients("orthanc")}
    assert [s["study_uid"] for s in service.studies("orthanc", patient_name="roe")] == [mr_spec.study_uid]
    assert [s["study_uid"] for s in service.studies("orthanc", modality="CT")] == [CT.study_uid]
    assert [s["study_uid"] for s in service.studies("orthanc", accession="ACC0002")] == [mr_spec.study_uid]
    assert [s["study_uid"] for s in service.studies("orthanc", study_date="20240101-20241231")] == [CT.study_uid]
    (series,) = service.series("orthanc", CT.study_uid)
    assert series["series_uid"] == CT.series_uid and series["instances"] == CT.slices


def test_a_series_thumbnail_is_a_jpeg(service):
    jpeg = service.thumbnail("orthanc", CT.study_uid, CT.series_uid)
    assert jpeg[:2] == b"\xff\xd8"


def test_a_jpeg_2000_series_is_retrieved_as_stored_and_decoded_with_pylibjpeg(service):
    spec = SeriesSpec(slices=6, seed=41, patient_id="J2K-1", description="J2K series")
    service.destination("orthanc").store(compressed_datasets(spec, JPEG2000Lossless))
    (row,) = service.sources["orthanc"].instances(spec.study_uid, spec.series_uid)[:1]
    retrieved = service.sources["orthanc"].retrieve(row)
    assert retrieved.file_meta.TransferSyntaxUID == JPEG2000Lossless  # sent compressed, decoded here
    result = asyncio.run(service.open_series("orthanc", spec.study_uid, spec.series_uid))
    assert np.array_equal(voxels(service.session.scene.GetNodeByID(result["node_id"])), spec.voxels())


def test_a_series_loads_over_dicomweb_with_its_geometry_and_voxels(service, mr_spec):
    for spec in (CT, mr_spec):
        result = asyncio.run(service.open_series("orthanc", spec.study_uid, spec.series_uid))
        node = service.session.scene.GetNodeByID(result["node_id"])
        assert np.allclose(ijk_to_ras(node), expected_ijk_to_ras(spec), atol=1e-4)
        assert np.array_equal(voxels(node), spec.voxels())
        assert 0 < result["first_slice_s"] <= result["full_volume_s"]


def _paint(session, volume, spec) -> np.ndarray:
    import vtk
    from vtk.util import numpy_support

    labels = np.zeros((spec.slices, spec.rows, spec.columns), np.uint8)
    labels[5:20, 30:70, 20:60] = 1
    labels[25:35, 80:110, 70:120] = 2
    labels[12:18, 60:75, 50:70] = 2  # touches segment 1's box: both kept apart by labels
    scene = session.scene
    seg = scene.AddNewNodeByClass("vtkMRMLSegmentationNode", "Findings")
    seg.CreateDefaultDisplayNodes()
    seg.SetReferenceImageGeometryParameterFromVolumeNode(volume)
    labelmap = scene.AddNewNodeByClass("vtkMRMLLabelMapVolumeNode", "painted")
    image = vtk.vtkImageData()
    image.SetDimensions(spec.columns, spec.rows, spec.slices)
    image.GetPointData().SetScalars(numpy_support.numpy_to_vtk(labels.reshape(-1), deep=True))
    labelmap.SetAndObserveImageData(image)
    matrix = vtk.vtkMatrix4x4()
    volume.GetIJKToRASMatrix(matrix)
    labelmap.SetIJKToRASMatrix(matrix)
    assert session.app.segmentations_logic.ImportLabelmapToSegmentationNode(labelmap, seg)
    scene.RemoveNode(labelmap)
    segmentation = seg.GetSegmentation()
    segmentation.GetNthSegment(0).SetName("Liver")
    segmentation.GetNthSegment(0).SetColor(0.85, 0.35, 0.2)
    segmentation.GetNthSegment(0).SetTag(
        "TerminologyEntry",
        "Segmentation category and type - 3D Slicer General Anatomy list~SCT^123037004^Anatomical Structure"
        "~SCT^10200004^Liver~^^~Anatomic codes - DICOM master list~^^~^^",
    )
    segmentation.GetNthSegment(1).SetName("Lesion")
    segmentation.GetNthSegment(1).SetColor(0.1, 0.8, 0.3)
    return seg, labels


def test_a_segmentation_goes_to_orthanc_as_dicom_seg_and_comes_back_identical(service):
    session = service.session
    opened = asyncio.run(service.open_series("orthanc", CT.study_uid, CT.series_uid))
    volume = session.scene.GetNodeByID(opened["node_id"])
    seg, labels = _paint(session, volume, CT)
    dataset = export_seg(service, seg.GetID())
    assert dataset.Modality == "SEG" and dataset.StudyInstanceUID == CT.study_uid
    referenced = {i.ReferencedSeriesSequence[0].SeriesInstanceUID for i in [dataset]}
    assert referenced == {CT.series_uid}
    stored = service.destination("orthanc").store([dataset])
    assert stored["stored"] == [str(dataset.SOPInstanceUID)]

    series = service.series("orthanc", CT.study_uid)
    (seg_series,) = [s for s in series if s["modality"] == "SEG"]
    loaded = asyncio.run(service.open_series("orthanc", CT.study_uid, seg_series["series_uid"]))
    assert loaded["kind"] == "segmentation"
    back = session.scene.GetNodeByID(loaded["node_id"])
    back.SetReferenceImageGeometryParameterFromVolumeNode(volume)
    _, infos, masks = segmentation_masks(session, back.GetID())
    assert [i.label for i in infos] == ["Liver", "Lesion"]
    assert np.allclose(infos[0].rgb, (0.85, 0.35, 0.2), atol=0.02)
    assert infos[0].type == ("SCT", "10200004", "Liver")
    assert np.array_equal(masks[..., 0], labels == 1)
    assert np.array_equal(masks[..., 1], labels == 2)


def test_exports_can_be_de_identified_with_a_kept_uid_map(service):
    ds = series_datasets(SeriesSpec(slices=1))[0]
    original_study = str(ds.StudyInstanceUID)
    capture = secondary_capture(np.full((32, 48, 3), 128, np.uint8), reference=ds)
    (clean,) = prepare(service, [capture], deidentified=True)
    assert clean.PatientName != "Doe^Jane" and clean.PatientIdentityRemoved == "YES"
    assert clean.StudyInstanceUID != original_study
    (again,) = prepare(service, [secondary_capture(np.zeros((8, 8, 3), np.uint8), reference=ds)], True)
    assert again.StudyInstanceUID == clean.StudyInstanceUID  # same original, same new UID
    assert (service.session.state_dir / "dicom-uid-map.json").is_file()
    stored = service.destination("orthanc").store([clean])
    assert stored["stored"] == [str(clean.SOPInstanceUID)]
    (study,) = service.studies("orthanc", study_uid=str(clean.StudyInstanceUID))
    assert study["patient_name"] == str(clean.PatientName)  # only the pseudonym reached the PACS
    (series,) = service.series("orthanc", study["study_uid"])
    assert series["series_uid"] == str(clean.SeriesInstanceUID) and series["modality"] == str(clean.Modality)
