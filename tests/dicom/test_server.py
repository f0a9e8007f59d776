"""A real ``slicer-cloud serve``: ``/dicomweb`` answers dicomweb-client, ``/api/v1/dicom`` browses, opens and exports,
hostile uploads get clear errors and the session stays alive."""

from __future__ import annotations

import json

import numpy as np
import pydicom
import pytest
import requests
from datagen import (
    SeriesSpec,
    hostile_absurd_size,
    hostile_deep_sequence,
    hostile_truncated,
    not_dicom,
    write_series,
)
from dicomweb_client import DICOMwebClient
from pydicom.dataset import Dataset

from helpers.serve import start_server

pytestmark = pytest.mark.server

CT = SeriesSpec(slices=10, description="CT for serving", seed=11)


@pytest.fixture(scope="module")
def served(tmp_path_factory, mr_spec):
    data = tmp_path_factory.mktemp("served")
    write_series(data / "ct", CT)
    write_series(data / "mr", mr_spec)
    (data / "junk.dcm").write_bytes(not_dicom())
    server = start_server(data)
    yield server
    server.stop()


@pytest.fixture
def client(served) -> DICOMwebClient:
    session = requests.Session()
    session.headers["Authorization"] = f"Bearer {served.token}"
    return DICOMwebClient(f"{served.base}/dicomweb", session=session)


def assert_dicom_json(items: list[dict]) -> None:
    """Every item follows the DICOM JSON model (PS3.18 F.2): 8-hex-digit tags, a vr, Value as a list, and pydicom
    reads it back."""
    for item in items:
        for tag, element in item.items():
            assert len(tag) == 8 and int(tag, 16) >= 0
            assert set(element) <= {"vr", "Value", "BulkDataURI", "InlineBinary"} and len(element["vr"]) == 2
            if "Value" in element:
                assert isinstance(element["Value"], list)
        Dataset.from_json(item)


def test_dicomweb_needs_the_session_token(served):
    assert requests.get(f"{served.base}/dicomweb/studies", timeout=30).status_code == 401


def test_qido_searches_studies_series_and_instances(client, mr_spec):
    studies = client.search_for_studies()
    assert_dicom_json(studies)
    assert {s["0020000D"]["Value"][0] for s in studies} == {CT.study_uid, mr_spec.study_uid}
    (mr,) = client.search_for_studies(search_filters={"PatientName": "Roe*"})
    assert mr["00100020"]["Value"] == [mr_spec.patient_id]
    assert [s["0020000D"]["Value"][0] for s in client.search_for_studies(search_filters={"ModalitiesInStudy": "CT"})] \
        == [CT.study_uid]  # fmt: skip
    series = client.search_for_series(study_instance_uid=CT.study_uid)
    assert_dicom_json(series)
    assert [s["0020000E"]["Value"][0] for s in series] == [CT.series_uid]
    assert series[0]["00201209"]["Value"] == [CT.slices]
    instances = client.search_for_instances(study_instance_uid=CT.study_uid, series_instance_uid=CT.series_uid)
    assert_dicom_json(instances)
    assert len(instances) == CT.slices
    assert len(client.search_for_instances(study_instance_uid=CT.study_uid, limit=3)) == 3


def test_wado_retrieves_instances_metadata_and_frames(client):
    (first,) = client.search_for_instances(study_instance_uid=CT.study_uid, series_instance_uid=CT.series_uid,
                                           search_filters={"SOPInstanceUID": ""}, limit=1)  # fmt: skip
    sop = first["00080018"]["Value"][0]
    instance = client.retrieve_instance(CT.study_uid, CT.series_uid, sop)
    assert isinstance(instance, pydicom.Dataset) and instance.SOPInstanceUID == sop
    k = int(instance.InstanceNumber) - 1
    metadata = client.retrieve_series_metadata(CT.study_uid, CT.series_uid)
    assert_dicom_json(metadata)
    assert len(metadata) == CT.slices and all("7FE00010" not in m for m in metadata)
    (frame,) = client.retrieve_instance_frames(CT.study_uid, CT.series_uid, sop, frame_numbers=[1])
    pixels = np.frombuffer(frame, dtype="<i2").reshape(CT.rows, CT.columns)
    by_position = {round(float(CT.position(n)[2]), 3): n for n in range(CT.slices)}
    assert np.array_equal(pixels, CT.voxels()[by_position[round(float(instance.ImagePositionPatient[2]), 3)]])
    assert k >= 0
    series = client.retrieve_series(CT.study_uid, CT.series_uid)
    assert len(series) == CT.slices


def test_unknown_uids_and_bad_frame_lists_are_client_errors(served):
    def get(path):
        return served.request("GET", f"/dicomweb{path}")[0]

    assert get("/studies/1.2.3/series/4.5.6/metadata") == 404
    assert get(f"/studies/{CT.study_uid}/series/{CT.series_uid}/instances/1.2/frames/x") == 400
    assert get("/studies?NoSuchAttribute=1") == 400


def test_rest_lists_sources_studies_series_with_loadability_and_skipped_files(served, mr_spec):
    status, body = served.request("GET", "/api/v1/dicom/sources")
    assert status == 200 and body["sources"][0]["name"] == "local"
    status, body = served.request("GET", "/api/v1/dicom/local/studies?patient_name=doe")
    assert status == 200 and [s["study_uid"] for s in body["studies"]] == [CT.study_uid]
    status, body = served.request("GET", f"/api/v1/dicom/local/studies/{CT.study_uid}/series")
    (series,) = body["series"]
    assert series["loadables"][0]["loadable"] and series["loadables"][0]["dimensions"] == [64, 48, 10]
    status, body = served.request("GET", "/api/v1/dicom/local/skipped")
    assert any(s["path"] == "junk.dcm" and "not a DICOM" in s["reason"] for s in body["skipped"])
    status, jpeg = served.request("GET", f"/api/v1/dicom/local/studies/{CT.study_uid}/series/{CT.series_uid}/thumbnail")
    assert status == 200 and jpeg[:2] == b"\xff\xd8"


def test_rest_opens_a_series_and_the_volume_has_its_geometry(served):
    status, opened = served.request("POST", f"/api/v1/dicom/local/studies/{CT.study_uid}/series/{CT.series_uid}/open")
    assert status == 200, opened
    status, body = served.request("GET", "/api/v1/volumes")
    (volume,) = [v for v in body["volumes"] if v["id"] == opened["node_id"]]
    assert volume["dimensions"] == [CT.columns, CT.rows, CT.slices]
    from datagen import expected_ijk_to_ras

    assert np.allclose(np.array(volume["ijkToRas"]), expected_ijk_to_ras(CT), atol=1e-4)


def test_hostile_imports_get_clear_errors_and_the_session_lives(served):
    rss = served.rss_mb()
    hostile = (not_dicom(), hostile_deep_sequence(), hostile_absurd_size(), hostile_truncated(),
               b"\0" * 128 + b"DICM" + b"\xff" * 500)  # fmt: skip
    for body in hostile:
        status, answer = served.request("POST", "/api/v1/dicom/import", body=body,
                                        headers={"Content-Type": "application/dicom"})  # fmt: skip
        assert 400 <= status < 500 and answer["message"], answer
        assert "Traceback" not in json.dumps(answer)
    status, answer = served.request("POST", "/api/v1/dicom/local/studies/1.2.3/series/4.5.6/open")
    assert status == 404
    assert served.alive()
    assert served.rss_mb() - rss < 300  # nothing declared was allocated


def test_rest_exports_a_segmentation_as_dicom_seg_file_and_reimports_it(served, tmp_path):
    import nrrd
    from datagen import expected_ijk_to_ras

    status, opened = served.request("POST", f"/api/v1/dicom/local/studies/{CT.study_uid}/series/{CT.series_uid}/open")
    assert status == 200
    labels = np.zeros((CT.slices, CT.rows, CT.columns), np.uint8)
    labels[2:6, 10:30, 20:40] = 1
    lps = np.diag([-1.0, -1.0, 1.0, 1.0]) @ expected_ijk_to_ras(CT)
    header = {"space": "left-posterior-superior", "space directions": lps[:3, :3].T, "space origin": lps[:3, 3]}
    nrrd.write(str(served.data / "mask.seg.nrrd"), labels.transpose(2, 1, 0).copy(), header)
    status, loaded = served.json("POST", "/api/v1/scene/open", {"path": "mask.seg.nrrd"})
    assert status == 200
    (seg_id,) = [n for n in loaded["nodes"] if n.startswith("vtkMRMLSegmentationNode")]
    status, answer = served.request(
        "POST", f"/api/v1/dicom/segmentations/{seg_id}/seg?save=exports/mask.dcm&store=false"
    )
    assert status == 200 and answer["saved"] == "exports/mask.dcm" and answer["modality"] == "SEG"
    saved = pydicom.dcmread(served.data / "exports" / "mask.dcm")
    assert saved.ReferencedSeriesSequence[0].SeriesInstanceUID == CT.series_uid
    status, via_v1 = served.request("GET", f"/api/v1/segmentations/{seg_id}/export?format=dicom-seg")
    assert status == 200 and pydicom.dcmread(__import__("io").BytesIO(via_v1)).Modality == "SEG"
    status, body = served.request("GET", f"/api/v1/dicom/segmentations/{seg_id}/seg?deidentify=true")
    assert status == 200 and body[128:132] == b"DICM"
    assert str(pydicom.dcmread(__import__("io").BytesIO(body)).PatientName).startswith("ANON")
    status, again = served.request(
        "POST", "/api/v1/dicom/import", body=body, headers={"Content-Type": "application/dicom"}
    )
    assert status == 200 and again["kind"] == "segmentation"
    status, segments = served.request("GET", f"/api/v1/segmentations/{again['node_id']}/segments")
    assert status == 200 and len(segments["segments"]) == 1
    # the exported file is in the data root, so the local index and /dicomweb see it as a SEG series
    status, series = served.request("GET", f"/api/v1/dicom/local/studies/{CT.study_uid}/series")
    assert any(s["modality"] == "SEG" for s in series["series"])


def test_rest_saves_a_screenshot_as_secondary_capture_in_the_shown_study(served):
    status, answer = served.request("POST", "/api/v1/dicom/screenshot?save=exports/views.dcm&store=false")
    assert status == 200, answer
    capture = pydicom.dcmread(served.data / "exports" / "views.dcm")
    assert capture.SOPClassUID == "1.2.840.10008.5.1.4.1.1.7" and capture.StudyInstanceUID == CT.study_uid
    assert capture.pixel_array.ndim == 3 and capture.pixel_array.std() > 0
    status, answer = served.request("POST", "/api/v1/dicom/screenshot?save=exports/views.dcm&store=false")
    assert status == 409  # never overwrites


def test_the_dicomweb_example_of_the_manual_runs(served, capsys):
    import re
    from pathlib import Path

    doc = (Path(__file__).parents[2] / "docs" / "dicom.md").read_text()
    (block,) = [b for b in re.findall(r"```python\n(.*?)```", doc, re.DOTALL) if "DICOMwebClient" in b]
    code = block.replace("http://127.0.0.1:8080", served.base).replace("Bearer TOKEN", f"Bearer {served.token}")
    assert code != block
    exec(compile(code, "docs/dicom.md", "exec"), {"__name__": "__doc_example__"})
    assert f"{CT.slices} instances {CT.rows} x {CT.columns}" in capsys.readouterr().out


def test_fuzzing_the_dicom_routes_from_the_api_document_finds_no_server_error(served):
    import schemathesis
    from hypothesis import HealthCheck, given, settings

    from slicer_cloud.api.v1 import openapi

    schema = schemathesis.openapi.from_dict(openapi())
    operations = [r.ok() for r in schema.get_all_operations()]
    operations = [op for op in operations if op.path.startswith("/api/v1/dicom")]
    assert len(operations) >= 10
    headers = {"Authorization": f"Bearer {served.token}"}
    errors: list[str] = []

    for operation in operations:
        for mode in (schemathesis.GenerationMode.POSITIVE, schemathesis.GenerationMode.NEGATIVE):

            @settings(max_examples=4, deadline=None, database=None, derandomize=True,
                      suppress_health_check=list(HealthCheck))  # fmt: skip
            @given(case=operation.as_strategy(generation_mode=mode))
            def run(case):
                response = case.call(base_url=served.base, headers=headers, timeout=60)
                if response.status_code >= 500:
                    errors.append(f"{case.method} {case.formatted_path} -> {response.status_code}")

            run()
    assert not errors, errors
    assert served.alive()
