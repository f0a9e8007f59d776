"""Fuzzing /api/v1 from its own OpenAPI document (schemathesis, bounded): whatever valid or invalid request the
document allows, the session answers without a 5xx and keeps serving."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings

pytestmark = [pytest.mark.server, pytest.mark.slow]

DOC = Path(__file__).parents[2] / "docs" / "openapi.json"
EXAMPLES_PER_OPERATION = 4
BUDGET_S = 80


def operations():
    schema = schemathesis.openapi.from_dict(json.loads(DOC.read_text()))
    return [result.ok() for result in schema.get_all_operations()]


def fuzz(strategy, base: str, headers: dict, server_errors: list[str]) -> None:
    @settings(
        max_examples=EXAMPLES_PER_OPERATION,
        deadline=None,
        database=None,
        derandomize=True,
        suppress_health_check=list(HealthCheck),
    )
    @given(case=strategy)
    def run(case):
        response = case.call(base_url=base, headers=headers, timeout=60)
        if response.status_code >= 500:
            server_errors.append(f"{case.method} {case.formatted_path} -> {response.status_code}")

    run()


def test_fuzzing_the_api_from_its_document_finds_no_server_error(server):
    headers = {"Authorization": f"Bearer {server.token}"}
    server_errors: list[str] = []
    started = time.monotonic()
    for operation in operations():
        for mode in (schemathesis.GenerationMode.POSITIVE, schemathesis.GenerationMode.NEGATIVE):
            if time.monotonic() - started > BUDGET_S:
                break
            fuzz(operation.as_strategy(generation_mode=mode), server.base, headers, server_errors)
    assert not server_errors, server_errors
    assert server.alive(), "the session stopped answering /healthz"
    assert server.process.poll() is None
    status, body = server.request("GET", "/api/v1/nodes")
    assert status == 200 and "nodes" in body
