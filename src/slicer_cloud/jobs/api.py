"""``/api/v1/modules`` and ``/api/v1/jobs``: processing modules as web services (API extension module).

Thin handlers over :class:`~slicer_cloud.jobs.manager.JobManager`: list and describe modules (JSON and raw SEM XML),
submit jobs (validated against the description before anything runs), list, inspect and cancel jobs.
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Any

from aiohttp import web

from ..api.v1_request import json_object, query_choice, query_number
from ..api.v1_spec import JSON, Body, Param, Reply, Route, ref
from ..errors import BadRequest
from ..sem.form import form_fields
from .manager import JobManager, manager_for
from .store import STATUSES

if TYPE_CHECKING:
    from ..core.session import Session

PREFIX = "/api/v1"
TAG_MODULES, TAG_JOBS = "modules", "jobs"
_STR = {"type": "string"}
_NUM = {"type": "number"}
NAME = Param("name", "module name, e.g. gaussian_blur", {"type": "string", "minLength": 1, "maxLength": 100}, "path")
JOB_ID = Param("job_id", "job ID", {"type": "string", "minLength": 1, "maxLength": 64}, "path")

SCHEMAS: dict[str, Any] = {
    "ModuleSummary": {
        "type": "object",
        "properties": {
            "name": _STR,
            "title": _STR,
            "category": _STR,
            "description": _STR,
            "version": _STR,
            "source": {"enum": ["builtin", "module_path"]},
        },
        "required": ["name", "title"],
    },
    "ModuleList": {"type": "object", "properties": {"modules": {"type": "array", "items": ref("ModuleSummary")}}},
    "Module": {
        "type": "object",
        "properties": {
            "name": _STR,
            "description": {"type": "object", "description": "the parsed SEM description (groups, parameters)"},
            "form": {"type": "array", "items": {"type": "object"}, "description": "fields of the parameter form"},
            "xml": {"type": "string", "description": "the raw SEM XML"},
        },
        "required": ["name", "description", "xml"],
    },
    "JobRequest": {
        "type": "object",
        "properties": {
            "parameters": {
                "type": "object",
                "description": "values by parameter name. Inputs: a node ID, a data-root path, or {node} / {path}; "
                "outputs: omitted (a new node), false (not produced), a data-root path to save to as well, or "
                "{name, save}",
            },
            "show": {"type": "boolean", "description": "show a volume result in the views (default true)"},
        },
        "required": ["parameters"],
    },
    "Job": {
        "type": "object",
        "properties": {
            "id": _STR,
            "module": _STR,
            "status": {"enum": list(STATUSES)},
            "progress": _NUM,
            "stage": _STR,
            "parameters": {"type": "object"},
            "inputs": {"type": "object"},
            "outputs": {"type": "object", "description": "node IDs loaded into the scene, by output parameter"},
            "saved": {"type": "object", "description": "data-root paths written, by output parameter"},
            "results": {"type": "object", "description": "return values and tables (CSV outputs as rows)"},
            "error": _STR,
            "returncode": {"type": ["integer", "null"]},
            "stdout_tail": {"type": "array", "items": _STR},
            "stderr_tail": {"type": "array", "items": _STR},
            "created": _NUM,
            "started": {"type": ["number", "null"]},
            "ended": {"type": ["number", "null"]},
            "finished": {"type": ["number", "null"]},
            "shown": {"type": ["number", "null"]},
            "timings": {"type": "object"},
        },
        "required": ["id", "module", "status", "progress"],
    },
    "JobList": {"type": "object", "properties": {"jobs": {"type": "array", "items": ref("Job")}}},
    "InvalidParameters": {
        "type": "object",
        "properties": {"error": _STR, "message": _STR, "problems": {"type": "array", "items": _STR}},
        "required": ["error", "message", "problems"],
    },
}

ROUTES: list[Route] = [
    Route(
        "GET",
        PREFIX + "/modules",
        "list_modules",
        "Processing modules: built-in and found on the module path",
        TAG_MODULES,
        replies={200: Reply("the modules", JSON, ref("ModuleList"))},
    ),
    Route(
        "GET",
        PREFIX + "/modules/{name}",
        "get_module",
        "A module's SEM description: parsed (JSON), the parameter form, and the raw XML",
        TAG_MODULES,
        (NAME, Param("format", "json (default) or xml (the raw SEM XML)", {"enum": ["json", "xml"]})),
        replies={200: Reply("the module", (JSON, "application/xml"), ref("Module"))},
    ),
    Route(
        "POST",
        PREFIX + "/modules/{name}/jobs",
        "submit_job",
        "Run a module as a job on scene nodes or data-root files (validated first; 400 lists every problem)",
        TAG_JOBS,
        (NAME,),
        Body("parameters and options", {JSON: ref("JobRequest")}),
        replies={
            202: Reply("the job, queued or running", JSON, ref("Job")),
            400: Reply("invalid parameters, each listed", JSON, ref("InvalidParameters")),
        },
        errors=(413,),
    ),
    Route(
        "GET",
        PREFIX + "/jobs",
        "list_jobs",
        "Jobs, newest first (also those of earlier server runs)",
        TAG_JOBS,
        (
            Param("status", "only jobs with this status", {"enum": list(STATUSES)}),
            Param("limit", "at most this many (default 200)", {"type": "integer", "minimum": 1, "maximum": 10000}),
        ),
        replies={200: Reply("the jobs", JSON, ref("JobList"))},
    ),
    Route(
        "GET",
        PREFIX + "/jobs/{job_id}",
        "get_job",
        "One job: status, progress and stage, output tails, timings, results",
        TAG_JOBS,
        (JOB_ID,),
        replies={200: Reply("the job", JSON, ref("Job"))},
    ),
    Route(
        "DELETE",
        PREFIX + "/jobs/{job_id}",
        "cancel_job",
        "Cancel a job: a queued one at once, a running one by killing its process tree",
        TAG_JOBS,
        (JOB_ID,),
        replies={200: Reply("the job (status cancelled, or cancelling while its processes end)", JSON, ref("Job"))},
    ),
]


class JobHandlers:
    """Operations of the modules and jobs routes, bound to a session's job manager."""

    def __init__(self, session: Session) -> None:
        self.session = session  # the manager is made on first use: building the routes runs nothing

    @property
    def jobs(self) -> JobManager:
        return manager_for(self.session)

    async def _registry(self):
        # The first call may ask module-path programs for --xml: off the event loop.
        return await asyncio.to_thread(lambda: self.jobs.registry)

    async def list_modules(self, request: web.Request) -> web.Response:
        registry = await self._registry()
        return web.json_response({"modules": [registry.modules[n].summary() for n in registry.names()]})

    async def get_module(self, request: web.Request) -> web.Response:
        entry = (await self._registry()).get(request.match_info["name"])
        if query_choice(request.query, "format", ("json", "xml"), "json") == "xml":
            return web.Response(text=entry.xml, content_type="application/xml")
        description = entry.description.to_json()
        return web.json_response(
            {"name": entry.name, "description": description, "form": form_fields(description), "xml": entry.xml}
        )

    async def submit_job(self, request: web.Request) -> web.Response:
        name = request.match_info["name"]
        await self._registry()
        body = await json_object(request)
        unknown = set(body) - {"parameters", "show"}
        if unknown:
            raise BadRequest(f"unknown fields {sorted(unknown)}: send {{'parameters': {{...}}, 'show': true}}")
        show = body.get("show", True)
        if not isinstance(show, bool):
            raise BadRequest("show must be true or false")
        job = self.jobs.submit(name, body.get("parameters", {}), show=show)
        return web.json_response(job.to_json(), status=202)

    async def list_jobs(self, request: web.Request) -> web.Response:
        status = request.query.get("status") or None
        if status is not None and status not in STATUSES:
            raise BadRequest(f"status must be one of: {', '.join(STATUSES)}")
        limit = query_number(request.query, "limit", int)
        limit = 200 if limit is None else limit
        if not 1 <= limit <= 10000:
            raise BadRequest("limit must be between 1 and 10000")
        return web.json_response({"jobs": [j.to_json() for j in self.jobs.list(limit, status)]})

    async def get_job(self, request: web.Request) -> web.Response:
        return web.json_response(self.jobs.get(request.match_info["job_id"]).to_json())

    async def cancel_job(self, request: web.Request) -> web.Response:
        return web.json_response(self.jobs.cancel(request.match_info["job_id"]).to_json())


def handlers(session: Session, app: web.Application | None = None) -> JobHandlers:
    """The handler object whose methods are this module's operations (extension contract)."""
    return JobHandlers(session)
