"""The OpenAPI document of /api/v1: valid OpenAPI 3.1, exactly the registered routes, and the committed copy is the
one the server serves."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from aiohttp import web
from openapi_spec_validator import validate

from slicer_cloud.api.v1 import add_v1_routes, openapi, openapi_text

COMMITTED = Path(__file__).parents[2] / "docs" / "openapi.json"


def registered_v1_routes() -> set[tuple[str, str]]:
    app = web.Application()
    add_v1_routes(app, session=object())  # handlers only keep the session; nothing runs
    return {
        (route.method, route.resource.canonical)
        for route in app.router.routes()
        if route.resource is not None and route.resource.canonical.startswith("/api/v1")
    }


def documented_routes() -> set[tuple[str, str]]:
    return {(method.upper(), path) for path, item in openapi()["paths"].items() for method in item}


def test_the_document_is_valid_openapi_3_1():
    document = openapi()
    assert document["openapi"].startswith("3.1")
    validate(document)


def test_every_registered_route_is_documented_and_every_documented_route_is_registered():
    assert registered_v1_routes() == documented_routes()


def test_every_operation_has_a_unique_id_and_documents_its_errors():
    operations = [op for item in openapi()["paths"].values() for op in item.values()]
    ids = [op["operationId"] for op in operations]
    assert len(ids) == len(set(ids))
    for op in operations:
        assert "401" in op["responses"] and "400" in op["responses"]


def test_the_committed_document_is_up_to_date():
    assert COMMITTED.read_text() == openapi_text(), "regenerate: python -m slicer_cloud.api.v1 docs/openapi.json"


@pytest.mark.server
def test_the_server_serves_the_committed_document_with_auth_only(server):
    status, body = server.request("GET", "/api/v1/openapi.json")
    assert status == 200 and body == json.loads(COMMITTED.read_text())
    assert server.request("GET", "/api/v1/openapi.json", token=None)[0] == 401


def test_the_web_routes_no_longer_register_api_v1_paths():
    import inspect

    from slicer_cloud.web import routes

    assert "/api/v1" not in inspect.getsource(routes.add_routes)
