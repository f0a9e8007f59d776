"""Job records in SQLite (``DATA/.slicer-cloud/jobs.sqlite``): they outlive the server; jobs that were queued or
running when it stopped are marked failed on the next start."""

from __future__ import annotations

import json
import sqlite3
import threading
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

FINISHED = ("succeeded", "failed", "cancelled")
STATUSES = ("queued", "running", *FINISHED)
INTERRUPTED = "the server stopped while the job was queued or running; submit it again"

SCHEMA = """
CREATE TABLE IF NOT EXISTS jobs (
    id TEXT PRIMARY KEY,
    module TEXT NOT NULL,
    status TEXT NOT NULL,
    record TEXT NOT NULL,
    created REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS jobs_created ON jobs (created);
"""


@dataclass
class Job:
    """One job: what ran, how far it got, how it ended, and what it produced."""

    id: str
    module: str
    status: str = "queued"
    progress: float = 0.0
    stage: str = ""
    parameters: dict[str, Any] = field(default_factory=dict)
    inputs: dict[str, str] = field(default_factory=dict)  # parameter -> node ID or data-root path
    outputs: dict[str, list[str]] = field(default_factory=dict)  # parameter -> node IDs loaded into the scene
    saved: dict[str, str] = field(default_factory=dict)  # parameter -> data-root path written
    results: dict[str, Any] = field(default_factory=dict)  # return values and tables
    error: str = ""
    returncode: int | None = None
    stdout_tail: list[str] = field(default_factory=list)
    stderr_tail: list[str] = field(default_factory=list)
    created: float = 0.0
    started: float | None = None
    ended: float | None = None
    finished: float | None = None  # outputs in the scene (or the job ended otherwise)
    shown: float | None = None  # a volume result shown in the views

    @property
    def done(self) -> bool:
        return self.status in FINISHED

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["timings"] = {
            "queued_s": _span(self.created, self.started),
            "run_s": _span(self.started, self.ended),
            "load_s": _span(self.ended, self.finished),
            "show_s": _span(self.finished, self.shown),
            "total_s": _span(self.created, self.finished),
        }
        return data

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Job:
        data = {k: v for k, v in data.items() if k in cls.__dataclass_fields__}
        return cls(**data)


def _span(start: float | None, end: float | None) -> float | None:
    return round(end - start, 4) if start is not None and end is not None else None


class JobStore:
    """Thread-safe SQLite persistence of :class:`Job` records."""

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self._lock = threading.Lock()
        self._db = sqlite3.connect(str(path), check_same_thread=False, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.executescript(SCHEMA)

    def save(self, job: Job) -> None:
        record = json.dumps(job.to_json())
        with self._lock:
            self._db.execute(
                "INSERT INTO jobs (id, module, status, record, created) VALUES (?, ?, ?, ?, ?) "
                "ON CONFLICT(id) DO UPDATE SET status = excluded.status, record = excluded.record",
                (job.id, job.module, job.status, record, job.created),
            )

    def get(self, job_id: str) -> Job | None:
        with self._lock:
            row = self._db.execute("SELECT record FROM jobs WHERE id = ?", (job_id,)).fetchone()
        return Job.from_json(json.loads(row[0])) if row else None

    def list(self, limit: int = 200, status: str | None = None) -> list[Job]:
        query = "SELECT record FROM jobs"
        args: tuple = ()
        if status:
            query += " WHERE status = ?"
            args = (status,)
        query += " ORDER BY created DESC LIMIT ?"
        with self._lock:
            rows = self._db.execute(query, (*args, limit)).fetchall()
        return [Job.from_json(json.loads(r[0])) for r in rows]

    def fail_interrupted(self, now: float) -> list[str]:
        """Mark jobs left queued/running by a previous server as failed; return their IDs."""
        failed = []
        for job in self.list(limit=100000):
            if job.status in ("queued", "running"):
                job.status, job.error, job.finished = "failed", INTERRUPTED, now
                self.save(job)
                failed.append(job.id)
        return failed

    def close(self) -> None:
        with self._lock:
            self._db.close()
