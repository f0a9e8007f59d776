"""Runs the desktop stack (a list of :class:`~.stack.ProcessSpec`) as asyncio subprocesses and keeps it alive."""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import logging
import os
import shutil
import signal
import socket
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from .display import free_display, owns_display, window_manager_running
from .stack import ProcessSpec

logger = logging.getLogger(__name__)

READY_TIMEOUT_S = 30.0
STOP_TIMEOUT_S = 5.0
MAX_BACKOFF_S = 30.0
DISPLAY_TRIES = 5


class StackError(RuntimeError):
    """A process of the stack could not be started (missing program, never ready)."""


def _die_with_parent() -> None:
    """In the child: get SIGTERM when the supervisor dies, even by SIGKILL (Linux), so nothing is left behind."""
    with contextlib.suppress(Exception):
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG


@dataclass
class Running:
    spec: ProcessSpec
    process: asyncio.subprocess.Process
    started: float
    restarts: int = 0


@dataclass
class Supervisor:
    """Starts the stack in order, restarts processes that exit, stops everything in reverse order.

    :param stack: the processes, in start order; the first one must be the X server (``ready="x_display"``, or
        ``"x_display_vnc"`` for an X server that is also the VNC server, Xtigervnc).
    :param values: template values (``geometry``, ``data``, ``vnc_socket``...); ``display`` is chosen here.
    :param log_dir: each process's stdout/stderr go to ``LOG_DIR/NAME.log``.
    """

    stack: list[ProcessSpec]
    values: dict[str, object]
    log_dir: Path
    running: dict[str, Running] = field(default_factory=dict)
    exit_code: asyncio.Future[int] | None = None
    _watchers: list[asyncio.Task] = field(default_factory=list)
    _stopping: bool = False

    @property
    def display(self) -> int:
        return int(self.values["display"])  # type: ignore[call-overload]

    async def start(self) -> None:
        """Start every process and wait for each to be ready; raise :class:`StackError` if one cannot start."""
        self.exit_code = asyncio.get_running_loop().create_future()
        tried: set[int] = set()
        for spec in self.stack:
            if spec.ready in ("x_display", "x_display_vnc"):
                await self._start_x_server(spec, tried)
                continue
            if shutil.which(spec.command[0].format(**self.values)) is None:
                if spec.optional:
                    logger.info("%s (%s) is not installed: skipped", spec.name, spec.command[0])
                    continue
                raise StackError(f"{spec.command[0]} is not installed: run `slicer-cloud desktop --check`")
            await self._launch(spec)
            await self._wait_ready(spec)
        for name in self.running:
            self._watchers.append(asyncio.get_running_loop().create_task(self._watch(name)))

    async def _start_x_server(self, spec: ProcessSpec, tried: set[int]) -> None:
        if shutil.which(spec.command[0]) is None:
            raise StackError(f"{spec.command[0]} is not installed: run `slicer-cloud desktop --check`")
        for _ in range(DISPLAY_TRIES):
            self.values["display"] = free_display(skip=tried)
            tried.add(self.display)
            await self._launch(spec)
            try:
                await self._wait_ready(spec)
                return
            except StackError:
                # Another X server took this number between our check and its lock: try the next one.
                await self._terminate(self.running.pop(spec.name).process)
        raise StackError(f"could not start {spec.command[0]} on any of the displays {sorted(tried)}")

    async def _launch(self, spec: ProcessSpec, restarts: int = 0) -> Running:
        if spec.ready in ("unix_socket", "x_display_vnc"):
            # A killed server leaves its socket file behind; the new one could not bind it.
            Path(str(self.values["vnc_socket"])).unlink(missing_ok=True)
        env = {**os.environ, **spec.environment(self.values), "DISPLAY": f":{self.display}"}
        log = (self.log_dir / f"{spec.name}.log").open("ab")
        try:
            process = await asyncio.create_subprocess_exec(
                *spec.argv(self.values),
                stdin=asyncio.subprocess.DEVNULL,
                stdout=log,
                stderr=asyncio.subprocess.STDOUT,
                env=env,
                cwd=spec.cwd.format(**self.values),
                preexec_fn=_die_with_parent,
            )
        finally:
            log.close()
        logger.info("started %s (pid %d): %s", spec.name, process.pid, " ".join(spec.argv(self.values)))
        self.running[spec.name] = Running(spec, process, time.monotonic(), restarts)
        return self.running[spec.name]

    async def _wait_ready(self, spec: ProcessSpec) -> None:
        running = self.running[spec.name]
        deadline = time.monotonic() + READY_TIMEOUT_S
        while time.monotonic() < deadline:
            if running.process.returncode is not None:
                raise StackError(f"{spec.name} exited with {running.process.returncode}; see {self.log_dir}")
            if self._is_ready(spec, running.process.pid):
                return
            await asyncio.sleep(0.05)
        raise StackError(f"{spec.name} was not ready within {READY_TIMEOUT_S:.0f} s; see {self.log_dir}")

    def _is_ready(self, spec: ProcessSpec, pid: int) -> bool:
        if spec.ready == "x_display":
            return owns_display(self.display, pid)
        if spec.ready == "window_manager":
            return window_manager_running(self.display)
        if spec.ready == "x_display_vnc" and not owns_display(self.display, pid):
            return False
        if spec.ready in ("unix_socket", "x_display_vnc"):
            with socket.socket(socket.AF_UNIX) as probe:
                try:
                    probe.connect(str(self.values["vnc_socket"]))
                except OSError:
                    return False
                return True
        return True

    async def _watch(self, name: str) -> None:
        """Wait for the process to exit, then apply its restart policy; loops for the session's lifetime."""
        while not self._stopping:
            running = self.running[name]
            code = await running.process.wait()
            if self._stopping:
                return
            spec = running.spec
            if spec.restart == "end_session":
                logger.info("%s exited with %d: ending the desktop (--exit-with-app)", name, code)
                if self.exit_code is not None and not self.exit_code.done():
                    self.exit_code.set_result(code)
                return
            if spec.restart == "never":
                logger.warning("%s exited with %d (not restarted)", name, code)
                return
            # Back off when it keeps dying right after start; a process that ran a while restarts at once.
            quick = time.monotonic() - running.started < 10
            restarts = running.restarts + 1 if quick else 0
            delay = min(MAX_BACKOFF_S, 0.5 * 2**restarts) if quick else 0.2
            logger.warning("%s exited with %d: restarting in %.1f s", name, code, delay)
            await asyncio.sleep(delay)
            if self._stopping:
                return
            try:
                await self._launch(spec, restarts)
                await self._wait_ready(spec)
            except (StackError, OSError) as exc:
                logger.error("restarting %s failed: %s", name, exc)

    async def stop(self) -> None:
        """Stop every process, last started first (SIGTERM, then SIGKILL after a grace period)."""
        self._stopping = True
        for task in self._watchers:
            task.cancel()
        for running in reversed(list(self.running.values())):
            await self._terminate(running.process)
        self.running.clear()

    @staticmethod
    async def _terminate(process: asyncio.subprocess.Process) -> None:
        if process.returncode is not None:
            return
        with contextlib.suppress(ProcessLookupError):
            process.terminate()
        try:
            await asyncio.wait_for(process.wait(), STOP_TIMEOUT_S)
        except asyncio.TimeoutError:
            with contextlib.suppress(ProcessLookupError):
                process.kill()
            await process.wait()

    def pids(self) -> Mapping[str, int]:
        return {name: running.process.pid for name, running in self.running.items()}
