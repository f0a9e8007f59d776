"""Describing ``/api/v1`` routes as data, and the OpenAPI 3.1 document built from those descriptions.

Every route is declared once, as a :class:`Route` in :mod:`slicer_cloud.api.v1_table`; the aiohttp router is filled
from the same table (:mod:`slicer_cloud.api.v1`), so the served routes and the document cannot drift apart.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

from .. import __version__

Where = Literal["query", "path"]
JSON = "application/json"
BINARY = "application/octet-stream"


@dataclass(frozen=True)
class Param:
    """One query or path parameter."""

    name: str
    description: str
    schema: dict[str, Any] = field(default_factory=lambda: {"type": "string"})
    where: Where = "query"
    required: bool = False

    def to_openapi(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "in": self.where,
            "required": self.required or self.where == "path",
            "description": self.description,
            "schema": self.schema,
        }


@dataclass(frozen=True)
class Body:
    """A request body: one schema per media type."""

    description: str
    content: dict[str, dict[str, Any]]
    required: bool = True


@dataclass(frozen=True)
class Reply:
    """A documented answer: description, media type (None: no body) and schema."""

    description: str
    media_type: str | tuple[str, ...] | None = JSON
    schema: dict[str, Any] | None = None


@dataclass(frozen=True)
class Route:
    """One ``/api/v1`` route: ``operation`` names the handler method and is the OpenAPI operationId."""

    method: str
    path: str
    operation: str
    summary: str
    tag: str
    params: tuple[Param, ...] = ()
    body: Body | None = None
    replies: dict[int, Reply] = field(default_factory=dict)
    errors: tuple[int, ...] = ()

    @property
    def mutates(self) -> bool:
        return self.method in ("POST", "PUT", "PATCH", "DELETE")


def ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


def path_id(description: str = "Node ID, e.g. vtkMRMLScalarVolumeNode1") -> Param:
    return Param("node_id", description, {"type": "string", "minLength": 1, "maxLength": 200}, where="path")


def binary_schema() -> dict[str, Any]:
    return {"type": "string", "format": "binary"}


ERROR_TEXT = {
    400: "Bad request: the message says which parameter is wrong",
    401: "No or wrong credentials",
    403: "Forbidden (e.g. a read-only share token trying to change the session)",
    404: "Not found",
    409: "Already exists (allow overwriting or choose another name)",
    413: "Too large for the session's limits",
    415: "Unsupported format",
    422: "The data could not be read",
    501: "Not implemented in this server",
    502: "A DICOMweb server this session uses did not answer or refused the request (the message says which)",
}


def _operation(route: Route) -> dict[str, Any]:
    op: dict[str, Any] = {"operationId": route.operation, "summary": route.summary, "tags": [route.tag]}
    if route.params:
        op["parameters"] = [p.to_openapi() for p in route.params]
    if route.body is not None:
        op["requestBody"] = {
            "description": route.body.description,
            "required": route.body.required,
            "content": {media: {"schema": schema} for media, schema in route.body.content.items()},
        }
    responses: dict[str, Any] = {}
    for status, reply in sorted(route.replies.items()):
        entry: dict[str, Any] = {"description": reply.description}
        if reply.media_type is not None:
            types = (reply.media_type,) if isinstance(reply.media_type, str) else reply.media_type
            entry["content"] = {media: {"schema": reply.schema or {}} for media in types}
        responses[str(status)] = entry
    errors = {400, 401, *route.errors}
    if route.mutates:
        errors.add(403)
    if any(p.where == "path" for p in route.params):
        errors.add(404)
    for status in sorted(errors):
        responses.setdefault(
            str(status), {"description": ERROR_TEXT[status], "content": {JSON: {"schema": ref("Error")}}}
        )
    op["responses"] = responses
    return op


def openapi_document(routes: list[Route], schemas: dict[str, Any]) -> dict[str, Any]:
    """The OpenAPI 3.1 document of ``routes`` (paths in table order, methods in table order)."""
    paths: dict[str, dict[str, Any]] = {}
    for route in routes:
        paths.setdefault(route.path, {})[route.method.lower()] = _operation(route)
    tags = list(dict.fromkeys(r.tag for r in routes))
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "slicer-cloud API",
            "version": __version__,
            "description": "The versioned REST API of a slicer-cloud session: the same live scene the web viewer "
            "shows. Every request needs the session token (Bearer, or HTTP Basic password); a read-only share "
            "token can only GET. Errors are JSON {error, message}.",
        },
        "tags": [{"name": t} for t in tags],
        "security": [{"bearer": []}, {"basic": []}],
        "paths": paths,
        "components": {
            "securitySchemes": {
                "bearer": {"type": "http", "scheme": "bearer", "description": "the session token"},
                "basic": {"type": "http", "scheme": "basic", "description": "any user name, the token as password"},
            },
            "schemas": schemas,
        },
    }
