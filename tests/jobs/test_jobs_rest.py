"""Modules and jobs over REST on a real session: every built-in module as a job with its result in the scene,
third-party CLIs from the module path, progress, cancel, validation errors."""

from __future__ import annotations

import json
import os
import re
import subprocess
import time
from pathlib import Path

import numpy as np
import psutil
import pytest

from helpers.serve import start_server

from .conftest import HERE, ball, read_volume, write_volume
from .jobs_client import run_job, submit, wait_for

pytestmark = [pytest.mark.server, pytest.mark.slow]

BALL_VOXELS = int((ball() > 0).sum())


@pytest.fixture(scope="module")
def jobs_server(tmp_path_factory):
    data = tmp_path_factory.mktemp("jobs") / "data"
    data.mkdir()
    write_volume(data / "ball.nrrd", ball())
    write_volume(data / "labels.nrrd", (ball() > 0).astype(np.uint8))
    server = start_server(data, "--module-path", str(HERE / "cli_modules"), str(data / "ball.nrrd"))
    yield server
    server.stop()


@pytest.fixture(scope="module")
def volume_id(jobs_server) -> str:
    status, body = jobs_server.request("GET", "/api/v1/volumes")
    assert status == 200
    return body["volumes"][0]["id"]


def test_modules_are_listed_built_in_and_from_the_module_path(jobs_server):
    status, body = jobs_server.request("GET", "/api/v1/modules")
    assert status == 200
    by_name = {m["name"]: m for m in body["modules"]}
    assert by_name["gaussian_blur"]["source"] == "builtin" and by_name["gaussian_blur"]["title"] == "Gaussian Blur"
    assert by_name["slow_count"]["source"] == "module_path" and by_name["shell_echo"]["title"] == "Shell Echo"
    assert "not_a_module" not in by_name and len(by_name) == 13


def test_a_module_is_described_as_json_with_its_form_and_as_raw_xml(jobs_server):
    status, body = jobs_server.request("GET", "/api/v1/modules/threshold")
    assert status == 200
    params = {p["name"]: p for g in body["description"]["groups"] for p in g["parameters"]}
    assert params["outputLabel"]["type"] == "label" and params["inputVolume"]["required"]
    assert [f["name"] for f in body["form"]] == ["lower", "upper", "labelValue", "inputVolume", "outputLabel"]
    assert body["xml"].lstrip().startswith("<?xml")
    status, raw = jobs_server.request("GET", "/api/v1/modules/threshold?format=xml")
    assert status == 200 and raw.decode() == body["xml"]
    assert jobs_server.request("GET", "/api/v1/modules/nope")[0] == 404


def _node(server, node_id):
    status, node = server.request("GET", f"/api/v1/nodes/{node_id}")
    assert status == 200, node
    return node


BUILTIN_JOBS = {
    "gaussian_blur": ({"sigma": 1.0}, "outputVolume", "vtkMRMLScalarVolumeNode"),
    "median_filter": ({}, "outputVolume", "vtkMRMLScalarVolumeNode"),
    "threshold": ({"lower": 500}, "outputLabel", "vtkMRMLSegmentationNode"),
    "resample": ({"spacing": [2, 2, 2]}, "outputVolume", "vtkMRMLScalarVolumeNode"),
    "crop": ({"roi": [-24, -24, 24, 12, 12, 12]}, "outputVolume", "vtkMRMLScalarVolumeNode"),
    "n4_bias_correction": ({"iterations": [10, 10]}, "outputVolume", "vtkMRMLScalarVolumeNode"),
    "otsu_segmentation": ({}, "outputLabel", "vtkMRMLSegmentationNode"),
    "labelmap_to_model": ({"inputLabel": "labels.nrrd"}, "outputModel", "vtkMRMLModelNode"),
}


@pytest.mark.parametrize("module", sorted(BUILTIN_JOBS))
def test_a_built_in_module_runs_as_a_job_and_its_result_appears_in_the_scene(jobs_server, volume_id, module):
    extra, output, node_class = BUILTIN_JOBS[module]
    parameters = {"inputVolume": volume_id, **extra} if "inputLabel" not in extra else dict(extra)
    parameters[output] = {"save": f"results/{module}{'.vtk' if output == 'outputModel' else '.nrrd'}"}
    job = run_job(jobs_server, module, parameters)
    assert job["status"] == "succeeded", job
    assert job["progress"] == 1 and job["stage"] == "done"
    assert job["timings"]["run_s"] > 0 and job["timings"]["total_s"] >= job["timings"]["run_s"]
    [node_id] = job["outputs"][output]
    node = _node(jobs_server, node_id)
    assert node["class"] == node_class
    assert node["name"].startswith(("ball", "labels"))
    saved = jobs_server.data / job["saved"][output]
    assert saved.is_file()
    if module == "threshold":
        _, labels = read_volume(saved)
        assert (labels > 0).sum() == BALL_VOXELS
    if module == "crop":
        image, _ = read_volume(saved)
        assert image.GetSize() == (25, 25, 25)


def test_label_statistics_returns_its_table_and_return_values_in_the_job(jobs_server, volume_id):
    job = run_job(jobs_server, "label_statistics", {"inputVolume": volume_id, "labelVolume": "labels.nrrd"})
    assert job["status"] == "succeeded", job
    table = job["results"]["tables"]["outputTable"]
    assert table["columns"][:3] == ["label", "count", "volume_mm3"]
    assert table["rows"][0][:2] == ["1", str(BALL_VOXELS)] and float(table["rows"][0][4]) == 1000
    assert job["results"]["values"] == {"labelCount": "1"}


def test_a_model_node_round_trips_through_model_to_labelmap(jobs_server, volume_id):
    job = run_job(jobs_server, "labelmap_to_model", {"inputLabel": "labels.nrrd", "smoothing": 0, "decimation": 0})
    [model_id] = job["outputs"]["outputModel"]
    job = run_job(
        jobs_server,
        "model_to_labelmap",
        {"inputModel": model_id, "referenceVolume": volume_id, "outputLabel": {"save": "results/back.nrrd"}},
    )
    assert job["status"] == "succeeded", job
    _, labels = read_volume(jobs_server.data / "results" / "back.nrrd")
    assert (labels > 0).sum() == pytest.approx(BALL_VOXELS, rel=0.03)


def test_a_job_reports_progress_and_stages_while_it_runs(jobs_server):
    status, job = submit(jobs_server, "slow_count", {"seconds": 2, "report": {"save": "results/count.txt"}})
    assert status == 202 and job["status"] in ("queued", "running")
    seen = set()
    while job["status"] not in ("succeeded", "failed", "cancelled"):
        status, job = jobs_server.request("GET", f"/api/v1/jobs/{job['id']}")
        seen.add((job["progress"], job["stage"]))
        time.sleep(0.03)
    assert job["status"] == "succeeded", job
    middle = {p for p, _ in seen if 0 < p < 1}
    assert len(middle) >= 5
    assert any(stage.startswith("step ") for _, stage in seen)
    assert job["results"]["values"] == {"steps": "20"}
    assert (jobs_server.data / "results" / "count.txt").read_text() == "counted 20 steps\n"
    assert job["stdout_tail"][-1].endswith("<filter-end></filter-end>")


def test_an_executable_module_from_the_module_path_runs(jobs_server):
    job = run_job(jobs_server, "shell_echo", {"message": "from a shell", "outputFile": "results/echo.txt"})
    assert job["status"] == "succeeded", job
    assert (jobs_server.data / "results" / "echo.txt").read_text() == "from a shell\n"


def test_cancelling_a_running_job_kills_its_process_tree(jobs_server):
    status, job = submit(jobs_server, "slow_count", {"seconds": 120})
    assert status == 202
    job = wait_for(jobs_server, job["id"], until=lambda j: any("helper pid" in x for x in j["stdout_tail"]))
    helper = int(next(x for x in job["stdout_tail"] if "helper pid" in x).split()[-1])
    assert psutil.pid_exists(helper)
    status, cancelling = jobs_server.request("DELETE", f"/api/v1/jobs/{job['id']}")
    assert status == 200 and cancelling["status"] in ("running", "cancelled")
    job = wait_for(jobs_server, job["id"], timeout=20)
    assert job["status"] == "cancelled" and job["error"] == "cancelled by the user"
    deadline = time.monotonic() + 5
    while psutil.pid_exists(helper) and psutil.Process(helper).status() != psutil.STATUS_ZOMBIE:
        assert time.monotonic() < deadline, "the module's child process survived the cancel"
        time.sleep(0.05)
    assert jobs_server.alive()
    assert jobs_server.request("DELETE", f"/api/v1/jobs/{job['id']}")[1]["status"] == "cancelled"


def test_invalid_parameters_get_a_400_listing_every_problem_and_nothing_runs(jobs_server, volume_id):
    before = jobs_server.request("GET", "/api/v1/jobs")[1]["jobs"]
    status, body = submit(
        jobs_server,
        "gaussian_blur",
        {"sigma": "wide", "radius": 3, "outputVolume": {"save": "../outside.nrrd"}},
    )
    assert status == 400 and body["error"] == "invalid_parameters"
    problems = body["problems"]
    assert len(problems) == 4, problems
    assert any(p.startswith("sigma: expected a number") for p in problems)
    assert any(p.startswith("radius: no such parameter") for p in problems)
    assert any(p.startswith("inputVolume: required") for p in problems)
    assert any(p.startswith("outputVolume:") and "'..'" in p for p in problems)
    status, body = submit(jobs_server, "resample", {"inputVolume": "vtkMRMLScalarVolumeNode999", "spacing": [0, 1]})
    assert status == 400
    assert "inputVolume: no node 'vtkMRMLScalarVolumeNode999' in the scene" in body["problems"]
    assert "spacing: 0.0 is below the minimum 0.01" in body["problems"]
    status, body = submit(jobs_server, "resample", {"inputVolume": "missing.nrrd", "interpolation": "cubic"})
    assert status == 400 and len(body["problems"]) == 2
    status, body = submit(jobs_server, "threshold", {"inputVolume": ".slicer-cloud/jobs.sqlite"})
    assert status == 400 and "hidden folders" in body["message"]
    status, body = submit(jobs_server, "threshold", {"inputVolume": "../../etc/passwd"})
    assert status == 400 and "'..' is not allowed" in body["message"]
    assert submit(jobs_server, "nope", {})[0] == 404
    status, body = jobs_server.json("POST", "/api/v1/modules/threshold/jobs", {"parameters": [1, 2]})
    assert status == 400
    status, body = jobs_server.request(
        "POST", "/api/v1/modules/threshold/jobs", body=b"{not json", headers={"Content-Type": "application/json"}
    )
    assert status == 400
    assert jobs_server.request("GET", "/api/v1/jobs")[1]["jobs"] == before
    assert jobs_server.request("GET", "/api/v1/jobs/unknown")[0] == 404
    assert jobs_server.alive()


def test_jobs_are_listed_newest_first_and_filtered_by_status(jobs_server):
    for _ in range(2):
        assert run_job(jobs_server, "shell_echo", {"outputFile": "results/list.txt"})["status"] == "succeeded"
    status, body = jobs_server.request("GET", "/api/v1/jobs?status=succeeded&limit=3")
    assert status == 200 and 0 < len(body["jobs"]) <= 3
    assert all(j["status"] == "succeeded" for j in body["jobs"])
    created = [j["created"] for j in body["jobs"]]
    assert created == sorted(created, reverse=True)
    assert jobs_server.request("GET", "/api/v1/jobs?status=bogus")[0] == 400
    assert jobs_server.request("GET", "/api/v1/jobs?limit=0")[0] == 400


def test_a_view_only_client_cannot_start_or_cancel_jobs(jobs_server, volume_id):
    status, _ = jobs_server.json(
        "POST",
        "/api/v1/modules/gaussian_blur/jobs",
        {"parameters": {"inputVolume": volume_id}},
        token=jobs_server.view_token,
    )
    assert status == 403
    assert jobs_server.request("GET", "/api/v1/modules", token=None)[0] == 401


def _curl_commands(doc: Path) -> list[str]:
    text = doc.read_text().replace("\\\n", " ")
    commands = []
    for block in re.findall(r"```sh\n(.*?)```", text, re.DOTALL):
        commands += [line.split(" # ")[0].strip() for line in block.splitlines() if line.startswith("curl ")]
    return commands


def test_the_curl_examples_of_the_manual_run_as_written(jobs_server):
    commands = _curl_commands(Path(__file__).parents[2] / "docs" / "modules.md")
    assert len(commands) >= 7
    env = {**os.environ, "URL": jobs_server.base, "TOKEN": jobs_server.token}
    job_id = None
    for command in commands:
        if "JOB_ID" in command:
            assert job_id, "the manual submits a job before it asks for one"
            command = command.replace("JOB_ID", job_id)
        answer = subprocess.run(["bash", "-c", command], capture_output=True, text=True, env=env, timeout=60)
        assert answer.returncode == 0, (command, answer.stderr)
        if "format=xml" in command:
            assert answer.stdout.startswith("<?xml"), command
            continue
        body = json.loads(answer.stdout)
        assert not body.get("error"), (command, body)
        if "/modules/" in command and "-d " in command:
            job_id = body["id"]
            assert wait_for(jobs_server, job_id)["status"] == "succeeded"
    assert (jobs_server.data / "results" / "ball-label.nrrd").is_file()
