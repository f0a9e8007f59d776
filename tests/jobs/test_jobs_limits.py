"""Job limits on a real session: a queue beyond --max-jobs, the per-job timeout, the memory limit (RLIMIT_AS), and
job records that survive a restart (running ones marked failed)."""

from __future__ import annotations

import signal

import psutil
import pytest

from helpers.serve import start_server

from .conftest import HERE, ball, write_volume
from .jobs_client import run_job, submit, wait_for

pytestmark = [pytest.mark.server, pytest.mark.slow]

LIMITS = ("--max-jobs", "1", "--job-timeout", "6", "--job-memory-mb", "1200")


@pytest.fixture(scope="module")
def data_root(tmp_path_factory):
    data = tmp_path_factory.mktemp("limits") / "data"
    data.mkdir()
    write_volume(data / "ball.nrrd", ball((32, 32, 32), radius=8))
    return data


@pytest.fixture(scope="module")
def limited_server(data_root):
    server = start_server(data_root, "--module-path", str(HERE / "cli_modules"), *LIMITS)
    yield server
    server.stop()


def test_jobs_beyond_max_jobs_wait_in_the_queue(limited_server):
    _, first = submit(limited_server, "slow_count", {"seconds": 1.5})
    _, second = submit(limited_server, "slow_count", {"seconds": 0.5})
    assert first["status"] == "running" and second["status"] == "queued"
    first = wait_for(limited_server, first["id"])
    second = wait_for(limited_server, second["id"])
    assert first["status"] == second["status"] == "succeeded"
    assert second["started"] >= first["ended"]
    assert second["timings"]["queued_s"] >= 1.0


def test_cancelling_a_queued_job_removes_it_from_the_queue(limited_server):
    _, first = submit(limited_server, "slow_count", {"seconds": 1})
    _, second = submit(limited_server, "slow_count", {"seconds": 1})
    status, cancelled = limited_server.request("DELETE", f"/api/v1/jobs/{second['id']}")
    assert status == 200 and cancelled["status"] == "cancelled" and cancelled["started"] is None
    assert wait_for(limited_server, first["id"])["status"] == "succeeded"
    assert wait_for(limited_server, second["id"])["started"] is None


def test_a_job_over_its_timeout_fails_with_the_reason(limited_server):
    job = run_job(limited_server, "slow_count", {"seconds": 60})
    assert job["status"] == "failed"
    assert job["error"].startswith("stopped after the job timeout of 6 s")
    assert 5.5 < job["timings"]["run_s"] < 15
    assert limited_server.alive()


def test_a_job_over_its_memory_limit_fails_with_the_reason_and_others_still_run(limited_server):
    job = run_job(limited_server, "hungry", {"megabytes": 4096})
    assert job["status"] == "failed"
    assert job["error"].startswith("the job ran out of its memory limit of 1200 MiB")
    assert any("MemoryError" in line for line in job["stderr_tail"])
    job = run_job(limited_server, "gaussian_blur", {"inputVolume": "ball.nrrd", "sigma": 1})
    assert job["status"] == "succeeded", job["error"]
    assert limited_server.alive()


def test_records_survive_a_restart_and_running_jobs_are_marked_failed(limited_server, data_root):
    before = {j["id"]: j["status"] for j in limited_server.request("GET", "/api/v1/jobs")[1]["jobs"]}
    assert set(before.values()) >= {"succeeded", "failed", "cancelled"}
    _, running = submit(limited_server, "slow_count", {"seconds": 60})
    wait_for(limited_server, running["id"], until=lambda j: j["progress"] > 0)
    assert (data_root / ".slicer-cloud" / "jobs.sqlite").is_file()
    # A crash: no chance to update the record, which still says running.
    limited_server.stop(signal.SIGKILL)
    _kill_orphans(data_root)
    restarted = start_server(data_root, "--module-path", str(HERE / "cli_modules"), *LIMITS)
    try:
        jobs = {j["id"]: j for j in restarted.request("GET", "/api/v1/jobs?limit=1000")[1]["jobs"]}
        assert {i: jobs[i]["status"] for i in before} == before
        interrupted = jobs[running["id"]]
        assert interrupted["status"] == "failed"
        assert "server stopped while the job was queued or running" in interrupted["error"]
        status, job = restarted.request("GET", f"/api/v1/jobs/{running['id']}")
        assert status == 200 and job["status"] == "failed"
        assert run_job(restarted, "slow_count", {"seconds": 0.2})["status"] == "succeeded"
        _, running = submit(restarted, "slow_count", {"seconds": 60})
        wait_for(restarted, running["id"], until=lambda j: j["progress"] > 0)
    finally:
        restarted.stop()
    # A clean shutdown stops running jobs and says so in their records.
    again = start_server(data_root, "--module-path", str(HERE / "cli_modules"), *LIMITS)
    try:
        job = again.request("GET", f"/api/v1/jobs/{running['id']}")[1]
        assert job["status"] == "failed" and "server stopped" in job["error"]
    finally:
        again.stop()


def _kill_orphans(data_root):
    """Module processes of the killed server (they run in their own sessions, so SIGKILL did not reach them)."""
    jobs = str(data_root / ".slicer-cloud" / "tmp" / "jobs")
    for proc in psutil.process_iter(["pid", "cwd"]):
        if (proc.info["cwd"] or "").startswith(jobs):
            for child in [*proc.children(recursive=True), proc]:
                child.kill()
