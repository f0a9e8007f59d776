"""Running one module command in a child process: Slicer's progress protocol parsed from stdout, output tails
kept, a timeout, an address-space limit (RLIMIT_AS), and cancellation that kills the whole process tree.

Used by the job manager (in a worker thread, never on the scene thread) and by batch tasks on Dask workers.
"""

from __future__ import annotations

import collections
import os
import re
import resource
import signal
import subprocess
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

TAIL_LINES = 40
KILL_GRACE_S = 2.0
PROGRESS_RE = re.compile(r"<filter-progress>\s*([0-9.eE+-]+)\s*</filter-progress>")
COMMENT_RE = re.compile(r"<filter-comment>\s*(.*?)\s*</filter-comment>")
MEMORY_WORDS = ("MemoryError", "bad_alloc", "Unable to allocate", "Cannot allocate memory", "out of memory")

ProgressCallback = Callable[[float, str], None]


@dataclass
class Limits:
    """Per-process limits: seconds (0: none) and MiB of address space (0: none)."""

    timeout: float = 0.0
    memory_mb: int = 0


@dataclass
class Outcome:
    """How a run ended: ``status`` succeeded/failed/cancelled, a ``reason`` for failures, the output tails."""

    status: str
    returncode: int | None
    reason: str = ""
    stdout_tail: list[str] = field(default_factory=list)
    stderr_tail: list[str] = field(default_factory=list)
    started: float = 0.0
    ended: float = 0.0


def _limit_memory(memory_mb: int) -> Callable[[], None] | None:
    if memory_mb <= 0:
        return None
    limit = memory_mb * 1024 * 1024

    def apply() -> None:  # runs in the child between fork and exec
        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))

    return apply


def kill_tree(pid: int) -> None:
    """Stop a process group and every descendant (also those that left the group): TERM, then KILL."""
    import psutil

    try:
        root = psutil.Process(pid)
        family = [root, *root.children(recursive=True)]
    except psutil.NoSuchProcess:
        family = []
    for sig in (signal.SIGTERM, signal.SIGKILL):
        try:
            os.killpg(pid, sig)
        except (ProcessLookupError, PermissionError):
            pass
        for proc in family:
            try:
                proc.send_signal(sig)
            except psutil.NoSuchProcess:
                pass
        _, alive = psutil.wait_procs(family, timeout=KILL_GRACE_S if sig == signal.SIGTERM else 5)
        family = alive
        if not family:
            break


class ModuleProcess:
    """One child process of a module command. ``run()`` blocks until it ends; ``cancel()`` may be called from any
    thread."""

    def __init__(
        self,
        command: list[str],
        *,
        cwd: Path,
        limits: Limits,
        on_progress: ProgressCallback | None = None,
        env: dict[str, str] | None = None,
    ) -> None:
        self.command = command
        self.cwd = cwd
        self.limits = limits
        self.on_progress = on_progress
        self.env = env
        self.stdout_tail: collections.deque[str] = collections.deque(maxlen=TAIL_LINES)
        self.stderr_tail: collections.deque[str] = collections.deque(maxlen=TAIL_LINES)
        self.pid: int | None = None
        self._tail_lock = threading.Lock()
        self._cancelled = threading.Event()
        self._started = threading.Event()

    def cancel(self) -> None:
        self._cancelled.set()

    def _read_stdout(self, stream) -> None:
        stage = ""
        for line in stream:
            line = line.rstrip("\n")
            with self._tail_lock:
                self.stdout_tail.append(line)
            comment = COMMENT_RE.search(line)
            if comment:
                stage = comment.group(1)
            progress = PROGRESS_RE.search(line)
            if progress and self.on_progress is not None:
                try:
                    value = float(progress.group(1))
                except ValueError:
                    continue
                self.on_progress(min(max(value, 0.0), 1.0), stage)

    def _read_stderr(self, stream) -> None:
        for line in stream:
            with self._tail_lock:
                self.stderr_tail.append(line.rstrip("\n"))

    def tails(self) -> tuple[list[str], list[str]]:
        """Copies of the last stdout and stderr lines so far (safe while the readers run)."""
        with self._tail_lock:
            return list(self.stdout_tail), list(self.stderr_tail)

    def run(self) -> Outcome:
        env = {**os.environ, **(self.env or {}), "PYTHONUNBUFFERED": "1"}
        started = time.time()
        if self._cancelled.is_set():
            return Outcome("cancelled", None, "cancelled before it started", started=started, ended=started)
        try:
            proc = subprocess.Popen(
                self.command,
                cwd=self.cwd,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
                errors="replace",
                env=env,
                start_new_session=True,
                preexec_fn=_limit_memory(self.limits.memory_mb),  # noqa: PLW1509 - only setrlimit
            )
        except OSError as exc:
            return Outcome("failed", None, f"the module could not be started ({exc.strerror})", started=started)
        self.pid = proc.pid
        self._started.set()
        readers = [
            threading.Thread(target=self._read_stdout, args=(proc.stdout,), daemon=True),
            threading.Thread(target=self._read_stderr, args=(proc.stderr,), daemon=True),
        ]
        for reader in readers:
            reader.start()
        deadline = started + self.limits.timeout if self.limits.timeout > 0 else None
        stopped = ""
        while proc.poll() is None:
            if self._cancelled.wait(0.05):
                stopped = "cancelled"
            elif deadline is not None and time.time() > deadline:
                stopped = "timeout"
            if stopped:
                kill_tree(proc.pid)
                break
        proc.wait()
        # The group may hold children that outlived the module: they go with it.
        kill_tree(proc.pid)
        for reader in readers:
            reader.join(timeout=5)
        ended = time.time()
        outcome = Outcome(
            "succeeded",
            proc.returncode,
            stdout_tail=list(self.stdout_tail),
            stderr_tail=list(self.stderr_tail),
            started=started,
            ended=ended,
        )
        if stopped == "cancelled":
            outcome.status, outcome.reason = "cancelled", "cancelled by the user"
        elif stopped == "timeout":
            outcome.status = "failed"
            outcome.reason = (
                f"stopped after the job timeout of {self.limits.timeout:g} s; raise --job-timeout to allow longer runs"
            )
        elif proc.returncode != 0:
            outcome.status, outcome.reason = "failed", self._failure_reason(proc.returncode)
        return outcome

    def _failure_reason(self, returncode: int) -> str:
        tail = "\n".join(self.stderr_tail)
        memory = self.limits.memory_mb
        if memory > 0 and (any(w in tail for w in MEMORY_WORDS) or returncode in (-signal.SIGSEGV, -signal.SIGABRT)):
            return f"the job ran out of its memory limit of {memory} MiB; raise --job-memory-mb or use a smaller input"
        if returncode < 0:
            return f"the module was killed by signal {signal.Signals(-returncode).name}"
        last = next((line for line in reversed(self.stderr_tail) if line.strip()), "")
        return f"the module exited with status {returncode}" + (f": {last[-300:]}" if last else "")
