"""The job manager of a session: validates requests, writes inputs, runs modules in child processes (at most
``max_jobs`` at once, the rest queued), loads the outputs back into the scene, keeps records in SQLite, and tells
listeners (the viewer panel) about every change.

Scene work (writing inputs, loading outputs) happens on the event-loop thread; processes are watched from worker
threads, which hand their results back to the loop with ``call_soon_threadsafe``.
"""

from __future__ import annotations

import asyncio
import atexit
import logging
import os
import shutil
import threading
import time
import uuid
from collections import deque
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..errors import BadRequest, NotFound, SlicerCloudError
from ..sem.command import build_arguments
from ..sem.discovery import ModuleEntry, ModuleRegistry, discover
from ..sem.validate import validate_values
from . import scene_io
from .process import Limits, ModuleProcess, Outcome
from .store import INTERRUPTED, Job, JobStore

if TYPE_CHECKING:
    from ..core.session import Session

logger = logging.getLogger(__name__)

PROGRESS_INTERVAL_S = 0.1
JOB_ENV = {"SLICER_CLOUD_COMPRESS": "0"}  # outputs are read back at once: no time spent compressing them
Listener = Callable[[Job], None]


class InvalidParameters(BadRequest):
    """Parameters that do not fit the module's description; ``problems`` lists each one."""

    code = "invalid_parameters"

    def __init__(self, problems: list[str]) -> None:
        super().__init__("invalid parameters: " + "; ".join(problems))
        self.problems = problems

    def to_dict(self) -> dict[str, Any]:
        return {**super().to_dict(), "problems": self.problems}


class JobManager:
    """Jobs of one session. Methods without a ``_thread`` suffix are called on the event-loop thread."""

    def __init__(self, session: Session, registry: ModuleRegistry | None = None) -> None:
        settings = session.settings
        self.session = session
        self.max_jobs = settings.max_jobs or os.cpu_count() or 1
        self.limits = Limits(timeout=settings.job_timeout, memory_mb=settings.job_memory_mb)
        self.folder = session.work_dir / "jobs"
        self.store = JobStore(session.state_dir / "jobs.sqlite")
        interrupted = self.store.fail_interrupted(time.time())
        if interrupted:
            logger.warning("%d job(s) were interrupted by the last shutdown and are marked failed", len(interrupted))
        self._registry = registry
        self._registry_lock = threading.Lock()
        self.listeners: list[Listener] = []
        self._jobs: dict[str, Job] = {}  # queued or running
        self._queue: deque[str] = deque()
        self._plans: dict[str, tuple[ModuleEntry, list[str], dict[str, Path], dict[str, Any], bool]] = {}
        self._processes: dict[str, ModuleProcess] = {}
        self._running = 0
        self._loop: asyncio.AbstractEventLoop | None = None
        self._shutting_down = False
        atexit.register(self.shutdown)

    # -- modules -----------------------------------------------------------------------------------------------

    @property
    def registry(self) -> ModuleRegistry:
        with self._registry_lock:
            if self._registry is None:
                self._registry = discover(self.session.settings.module_path)
            return self._registry

    # -- submitting --------------------------------------------------------------------------------------------

    def submit(self, module: str, parameters: dict[str, Any], *, show: bool = True) -> Job:
        """Validate, write inputs and queue a job; raise :class:`InvalidParameters` listing every problem."""
        self._capture_loop()
        entry = self.registry.get(module)
        description = entry.description
        if not isinstance(parameters, dict):
            raise BadRequest('parameters must be a JSON object {"name": value}')
        inputs_given = {p.name: parameters.get(p.name) for p in description.inputs}
        outputs_given = {p.name: parameters.get(p.name) for p in description.outputs}
        simple = {k: v for k, v in parameters.items() if k not in inputs_given and k not in outputs_given}
        parsed, problems = validate_values(description, {**simple, **inputs_given})
        problems += scene_io.check_inputs(self.session, description, inputs_given)
        problems += scene_io.check_outputs(description, outputs_given)
        if problems:
            raise InvalidParameters(problems)
        job = Job(id=uuid.uuid4().hex[:12], module=module, parameters=parameters, created=time.time())
        job.inputs = {k: scene_io.input_reference(v)[1] for k, v in inputs_given.items() if v is not None}
        folder = self.folder / job.id
        folder.mkdir(parents=True)
        try:
            values = {k: v for k, v in parsed.items() if k not in inputs_given}
            values.update(scene_io.write_inputs(self.session, description, inputs_given, folder))
        except SlicerCloudError:
            shutil.rmtree(folder, ignore_errors=True)
            raise
        files: dict[str, Path] = {}
        for param in description.outputs:
            wanted, _, _ = scene_io.output_options(outputs_given.get(param.name))
            if param.is_data and (wanted or param.index is not None):
                files[param.name] = folder / scene_io.output_file_name(param)
                if param.tag == "directory":
                    files[param.name].mkdir()
                values[param.name] = str(files[param.name])
        arguments = build_arguments(description, values)
        if any(p.is_return_value for p in description.parameters):
            arguments = ["--returnparameterfile", str(folder / "return.txt"), *arguments]
        self._plans[job.id] = (entry, [*entry.command, *arguments], files, outputs_given, show)
        self._jobs[job.id] = job
        self._queue.append(job.id)
        self.store.save(job)
        self._notify(job)
        self._dispatch()
        return job

    def _capture_loop(self) -> None:
        try:
            self._loop = asyncio.get_running_loop()
        except RuntimeError:
            self._loop = None

    def _dispatch(self) -> None:
        while self._queue and self._running < self.max_jobs:
            job_id = self._queue.popleft()
            job = self._jobs[job_id]
            entry, command, *_ = self._plans[job_id]
            process = ModuleProcess(
                command,
                cwd=self.folder / job_id,
                limits=self.limits,
                env=JOB_ENV,
                on_progress=lambda value, stage, job=job: self._progress_thread(job, value, stage),
            )
            self._processes[job_id] = process
            self._running += 1
            job.status, job.stage, job.started = "running", "starting", time.time()
            self.store.save(job)
            self._notify(job)
            threading.Thread(target=self._run_thread, args=(job, process), name=f"job-{job_id}", daemon=True).start()

    # -- worker threads ----------------------------------------------------------------------------------------

    def _run_thread(self, job: Job, process: ModuleProcess) -> None:
        try:
            outcome = process.run()
        except Exception as exc:  # keep the manager going whatever happens
            logger.exception("job %s: running the module failed", job.id)
            outcome = Outcome("failed", None, f"the job could not run ({type(exc).__name__})")
        self._call_on_loop(lambda: self._finish(job, outcome))

    def _progress_thread(self, job: Job, value: float, stage: str) -> None:
        now = time.monotonic()
        changed_stage = stage != job.stage
        job.progress, job.stage = round(value, 4), stage
        last = getattr(job, "_notified", 0.0)
        if changed_stage or now - last >= PROGRESS_INTERVAL_S or value >= 1.0:
            job._notified = now  # type: ignore[attr-defined]
            self._call_on_loop(lambda: self._notify(job))

    def _call_on_loop(self, fn: Callable[[], None]) -> None:
        loop = self._loop
        if loop is not None and loop.is_running():
            loop.call_soon_threadsafe(fn)
        else:
            fn()

    # -- finishing (event-loop thread) -------------------------------------------------------------------------

    def _finish(self, job: Job, outcome: Outcome) -> None:
        entry, _, files, options, show = self._plans.pop(job.id)
        self._processes.pop(job.id, None)
        self._running -= 1
        job.ended = outcome.ended or time.time()
        job.returncode = outcome.returncode
        job.stdout_tail, job.stderr_tail = outcome.stdout_tail, outcome.stderr_tail
        to_show: list[str] = []
        if outcome.status == "succeeded":
            try:
                to_show = self._load_results(job, entry, files, options, show)
                job.status, job.progress, job.stage = "succeeded", 1.0, "done"
            except SlicerCloudError as exc:
                job.status, job.error = "failed", f"the results could not be loaded: {exc.message}"
            except Exception as exc:
                logger.exception("job %s: loading results failed", job.id)
                job.status, job.error = "failed", f"the results could not be loaded ({type(exc).__name__})"
        elif self._shutting_down:
            job.status, job.error = "failed", INTERRUPTED
        else:
            job.status, job.error = outcome.status, outcome.reason
        job.finished = time.time()
        if to_show:
            self._show_result(job, to_show)
        self._jobs.pop(job.id, None)
        self.store.save(job)
        shutil.rmtree(self.folder / job.id, ignore_errors=True)
        self._notify(job)
        self._dispatch()

    def _load_results(
        self, job: Job, entry: ModuleEntry, files: dict[str, Path], options: dict[str, Any], show: bool
    ) -> list[str]:
        """Load the outputs into the scene; return the volume to show (if any)."""
        job.stage = "loading results"
        prefix = self._name_prefix(job, entry)
        t0 = time.perf_counter()
        nodes, saved, tables = scene_io.load_outputs(self.session, entry.description, options, files, prefix)
        job.outputs, job.saved = nodes, saved
        values = scene_io.read_return_values(self.folder / job.id / "return.txt")
        job.results = {"values": values, "tables": tables}
        logger.debug("job %s: results loaded in %.0f ms", job.id, (time.perf_counter() - t0) * 1000)
        if not show:
            return []
        volumes = [i for ids in nodes.values() for i in ids]
        return [i for i in volumes if self._is_scalar_volume(i)][:1]

    def _show_result(self, job: Job, volume_ids: list[str]) -> None:
        """Show a new volume in the views (as a loaded file is); a failure here does not fail the job."""
        try:
            self.session.show_main_volume(volume_ids)
        except Exception:
            logger.exception("job %s: showing the result failed", job.id)
        job.shown = time.time()

    def _is_scalar_volume(self, node_id: str) -> bool:
        node = self.session.scene.GetNodeByID(node_id)
        return node is not None and node.IsA("vtkMRMLScalarVolumeNode")

    def _name_prefix(self, job: Job, entry: ModuleEntry) -> str:
        for value in job.inputs.values():
            node = self.session.scene.GetNodeByID(value) if value.startswith("vtkMRML") else None
            if node is not None and node.GetName():
                return node.GetName()
            if not value.startswith("vtkMRML"):
                return Path(value).name.split(".")[0]
        return entry.description.title

    def _notify(self, job: Job) -> None:
        for listener in list(self.listeners):
            try:
                listener(job)
            except Exception:
                logger.exception("job listener failed")

    # -- queries and cancel ------------------------------------------------------------------------------------

    def get(self, job_id: str) -> Job:
        job = self._jobs.get(job_id)
        if job is not None:
            return self._with_live_output(job)
        job = self.store.get(job_id)
        if job is None:
            raise NotFound(f"no job {job_id!r}; GET /api/v1/jobs lists the jobs")
        return job

    def _with_live_output(self, job: Job) -> Job:
        process = self._processes.get(job.id)
        if process is not None:
            job.stdout_tail, job.stderr_tail = process.tails()
        return job

    def list(self, limit: int = 200, status: str | None = None) -> list[Job]:
        stored = {j.id: j for j in self.store.list(limit, status)}
        for job in self._jobs.values():
            if status is None or job.status == status:
                stored[job.id] = self._with_live_output(job)
        return sorted(stored.values(), key=lambda j: j.created, reverse=True)[:limit]

    def cancel(self, job_id: str) -> Job:
        """Cancel a queued job at once, or kill a running job's process tree (the record follows when it ends)."""
        job = self.get(job_id)
        if job.done:
            return job
        if job_id in self._queue:
            self._queue.remove(job_id)
            self._plans.pop(job_id, None)
            self._jobs.pop(job_id, None)
            job.status, job.error, job.finished = "cancelled", "cancelled by the user", time.time()
            self.store.save(job)
            shutil.rmtree(self.folder / job_id, ignore_errors=True)
            self._notify(job)
            return job
        process = self._processes.get(job_id)
        if process is not None:
            job.stage = "cancelling"
            process.cancel()
        return job

    def shutdown(self) -> None:
        """Kill running module processes (at exit); their records say the server stopped them."""
        self._shutting_down = True
        for process in list(self._processes.values()):
            process.cancel()
            if process.pid is not None:
                from .process import kill_tree

                kill_tree(process.pid)


_MANAGERS: dict[int, JobManager] = {}


def manager_for(session: Session) -> JobManager:
    """The one job manager of ``session`` (shared by the REST handlers and the viewer panel)."""
    manager = _MANAGERS.get(id(session))
    if manager is None or manager.session is not session:
        manager = JobManager(session)
        _MANAGERS[id(session)] = manager
    return manager
