"""``slicer-cloud dicom import|ls|push`` as a user runs it, against a real Orthanc."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest
from datagen import SeriesSpec, not_dicom, write_series

pytestmark = [pytest.mark.slow, pytest.mark.orthanc]


def cli(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "slicer_cloud", "dicom", *args],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, **(env or {})},
    )


def test_import_ls_and_push_to_orthanc(tmp_path, orthanc):
    outside = tmp_path / "cd"
    spec = SeriesSpec(slices=5, patient_name="Cli^Person", patient_id="CLI-1", description="CLI series")
    write_series(outside / "series", spec)
    (outside / "series" / "readme.dcm").write_bytes(not_dicom())
    data = tmp_path / "data"
    data.mkdir()

    done = cli("import", str(outside / "series"), "--data", str(data))
    assert done.returncode == 0, done.stderr
    assert "5 new instances" in done.stdout and "not a DICOM file" in done.stdout
    assert (data / "dicom" / "series").is_dir()

    listed = cli("ls", "--data", str(data), "--json")
    (study,) = json.loads(listed.stdout)
    assert study["study_uid"] == spec.study_uid and study["patient_name"] == "Cli^Person"
    series = cli("ls", "--data", str(data), "--study", spec.study_uid)
    assert "volume 64x48x5" in series.stdout

    url = f"--dicomweb=orthanc={orthanc.dicomweb_url}"
    pushed = cli("push", "--study", spec.study_uid, "--destination", "orthanc", url, "--data", str(data),
                 env=orthanc.env)  # fmt: skip
    assert pushed.returncode == 0, pushed.stderr
    assert "stored 5 instances on orthanc" in pushed.stdout
    remote = cli("ls", "--source", "orthanc", "--patient-name", "cli", url, "--data", str(data), "--json",
                 env=orthanc.env)  # fmt: skip
    assert [s["study_uid"] for s in json.loads(remote.stdout)] == [spec.study_uid]


def test_push_without_credentials_or_to_an_unknown_server_says_what_to_do(tmp_path, orthanc):
    spec = SeriesSpec(slices=1)
    write_series(tmp_path / "one", spec)
    url = f"--dicomweb=orthanc={orthanc.dicomweb_url}"
    refused = cli("push", str(tmp_path / "one"), "--destination", "orthanc", url, "--data", str(tmp_path),
                  env={"SLICER_CLOUD_DICOMWEB_ORTHANC_USER": ""})  # fmt: skip
    assert refused.returncode == 1 and "SLICER_CLOUD_DICOMWEB_ORTHANC_TOKEN" in refused.stderr
    unknown = cli("push", str(tmp_path / "one"), "--destination", "pacs", url, "--data", str(tmp_path))
    assert unknown.returncode == 1 and "no DICOM source named 'pacs'" in unknown.stderr
