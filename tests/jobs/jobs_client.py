"""Small helpers for driving jobs over REST in tests."""

from __future__ import annotations

import time


def submit(server, module: str, parameters: dict, **extra) -> tuple[int, dict]:
    return server.json("POST", f"/api/v1/modules/{module}/jobs", {"parameters": parameters, **extra})


def wait_for(server, job_id: str, timeout: float = 120, until=None) -> dict:
    """Poll a job until it is finished (or ``until(job)`` holds)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        status, job = server.request("GET", f"/api/v1/jobs/{job_id}")
        assert status == 200, job
        if (until is not None and until(job)) or (
            until is None and job["status"] in ("succeeded", "failed", "cancelled")
        ):
            return job
        time.sleep(0.03)
    raise AssertionError(f"job {job_id} did not get there within {timeout} s: {job}")


def run_job(server, module: str, parameters: dict, **extra) -> dict:
    status, job = submit(server, module, parameters, **extra)
    assert status == 202, job
    return wait_for(server, job["id"])
