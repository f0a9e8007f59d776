"""The local DICOM index: every DICOM file of the data root (folders, zips, DICOMDIR sets) in a small SQLite file.

``DATA/.slicer-cloud/dicom-index.sqlite`` holds one row per instance (with its file, or zip and member), patients,
studies and series rebuilt from them, and the files that were skipped with the reason. :meth:`DicomIndex.scan`
compares every file's size and modification time with what it saw last, so it re-reads only what changed and drops
what disappeared; the browser calls it before listing.
"""

from __future__ import annotations

import contextlib
import logging
import os
import sqlite3
import threading
import time
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

from ..errors import InvalidData, NotFound
from .headers import InstanceRecord, Skipped, read_bytes_record, read_record
from .series import Loadable, loadables

logger = logging.getLogger(__name__)

INDEX_NAME = "dicom-index.sqlite"
SCHEMA_VERSION = 2
STATE_DIR = ".slicer-cloud"
DICOM_SUFFIXES = {".dcm", ".dicom", ".ima", ""}
MAX_ZIP_MEMBERS = 50000
MAX_ZIP_RATIO = 200.0
MAX_MEMBER_BYTES = 2 * 1024**3
RESCAN_AFTER_S = 2.0

_RECORD_FIELDS = [f.name for f in fields(InstanceRecord)]
_INTEGER_FIELDS = {f.name for f in fields(InstanceRecord) if "int" in str(f.type)}
_COLUMNS = ", ".join(f"{n} {'INTEGER' if n in _INTEGER_FIELDS else 'TEXT'}" for n in _RECORD_FIELDS)
_SCHEMA = f"""
CREATE TABLE IF NOT EXISTS files (path TEXT PRIMARY KEY, mtime_ns INTEGER, size INTEGER, kind TEXT);
CREATE TABLE IF NOT EXISTS instances (path TEXT, member TEXT, {_COLUMNS}, PRIMARY KEY (path, member));
CREATE INDEX IF NOT EXISTS instances_series ON instances(series_uid);
CREATE INDEX IF NOT EXISTS instances_study ON instances(study_uid);
CREATE INDEX IF NOT EXISTS instances_sop ON instances(sop_instance_uid);
CREATE TABLE IF NOT EXISTS skipped (path TEXT, member TEXT, reason TEXT, PRIMARY KEY (path, member));
CREATE TABLE IF NOT EXISTS patients (patient_id TEXT, patient_name TEXT, patient_birth_date TEXT, patient_sex TEXT,
    studies INTEGER);
CREATE TABLE IF NOT EXISTS studies (study_uid TEXT PRIMARY KEY, patient_id TEXT, patient_name TEXT,
    patient_birth_date TEXT, patient_sex TEXT, study_date TEXT, study_time TEXT, study_description TEXT,
    study_id TEXT, accession TEXT, modalities TEXT, series INTEGER, instances INTEGER);
CREATE TABLE IF NOT EXISTS series (series_uid TEXT PRIMARY KEY, study_uid TEXT, series_number INTEGER,
    series_description TEXT, modality TEXT, sop_class_uid TEXT, instances INTEGER);
"""
_REBUILD = """
DELETE FROM studies; DELETE FROM series; DELETE FROM patients;
INSERT INTO studies SELECT study_uid, MAX(patient_id), MAX(patient_name), MAX(patient_birth_date), MAX(patient_sex),
    MAX(study_date), MAX(study_time), MAX(study_description), MAX(study_id), MAX(accession),
    GROUP_CONCAT(DISTINCT modality), COUNT(DISTINCT series_uid), COUNT(DISTINCT sop_instance_uid)
    FROM instances GROUP BY study_uid;
INSERT INTO series SELECT series_uid, MAX(study_uid), MAX(series_number), MAX(series_description), MAX(modality),
    MAX(sop_class_uid), COUNT(DISTINCT sop_instance_uid) FROM instances GROUP BY series_uid;
INSERT INTO patients SELECT patient_id, MAX(patient_name), MAX(patient_birth_date), MAX(patient_sex), COUNT(*)
    FROM studies GROUP BY patient_id;
"""


@dataclass
class ScanReport:
    """What one scan changed."""

    added: int = 0
    removed: int = 0
    skipped: int = 0
    unchanged: int = 0
    seconds: float = 0.0

    def as_dict(self) -> dict[str, Any]:
        return {k: getattr(self, k) for k in ("added", "removed", "skipped", "unchanged", "seconds")}


@dataclass(frozen=True)
class InstanceLocation:
    """Where an instance's bytes are: a file in the data root, or a member of a zip in it."""

    path: str  # relative to the data root
    member: str = ""


class DicomIndex:
    """The index of one data root. Thread-safe: scans may run in a worker thread while the loop reads."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root).resolve()
        self.db_path = self.root / STATE_DIR / INDEX_NAME
        self.db_path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.RLock()
        self._last_scan = 0.0
        with self._connect() as db:
            if db.execute("PRAGMA user_version").fetchone()[0] != SCHEMA_VERSION:
                for table in ("files", "instances", "skipped", "patients", "studies", "series"):
                    db.execute(f"DROP TABLE IF EXISTS {table}")
                db.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
            db.executescript(_SCHEMA)

    @contextlib.contextmanager
    def _connect(self) -> Iterator[sqlite3.Connection]:
        db = sqlite3.connect(self.db_path, timeout=30)
        db.row_factory = sqlite3.Row
        try:
            with db:
                yield db
        finally:
            db.close()

    # -- scanning ------------------------------------------------------------------------------------------------

    def refresh(self) -> ScanReport | None:
        """Scan unless a scan finished less than ``RESCAN_AFTER_S`` ago (listing calls this)."""
        if time.monotonic() - self._last_scan < RESCAN_AFTER_S:
            return None
        return self.scan()

    def scan(self) -> ScanReport:
        """Bring the index up to date with the data root (only changed files are read again)."""
        started = time.monotonic()
        report = ScanReport()
        with self._lock, self._connect() as db:
            known = {row["path"]: (row["mtime_ns"], row["size"]) for row in db.execute("SELECT * FROM files")}
            seen: set[str] = set()
            for rel, stat in self._walk():
                seen.add(rel)
                if known.get(rel) == (stat.st_mtime_ns, stat.st_size):
                    report.unchanged += 1
                    continue
                self._forget(db, rel)
                kind = self._read_file(db, rel, stat.st_size, report)
                db.execute("INSERT OR REPLACE INTO files VALUES (?,?,?,?)", (rel, stat.st_mtime_ns, stat.st_size, kind))
            for rel in set(known) - seen:
                report.removed += db.execute("SELECT COUNT(*) FROM instances WHERE path=?", (rel,)).fetchone()[0]
                self._forget(db, rel)
                db.execute("DELETE FROM files WHERE path=?", (rel,))
            if report.added or report.removed or report.skipped:
                db.executescript(_REBUILD)
        self._last_scan = time.monotonic()
        report.seconds = round(self._last_scan - started, 3)
        if report.added or report.removed:
            logger.info("DICOM index: %d added, %d removed, %d skipped", report.added, report.removed, report.skipped)
        return report

    def _walk(self) -> Iterator[tuple[str, os.stat_result]]:
        for folder, dirs, files in os.walk(self.root):
            dirs[:] = sorted(d for d in dirs if not d.startswith("."))
            for name in sorted(files):
                if name.startswith("."):
                    continue
                full = os.path.join(folder, name)
                try:
                    stat = os.stat(full, follow_symlinks=False)
                except OSError:
                    continue
                if os.path.isfile(full) and not os.path.islink(full):
                    yield os.path.relpath(full, self.root).replace(os.sep, "/"), stat

    def _forget(self, db: sqlite3.Connection, rel: str) -> None:
        db.execute("DELETE FROM instances WHERE path=?", (rel,))
        db.execute("DELETE FROM skipped WHERE path=?", (rel,))

    def _read_file(self, db: sqlite3.Connection, rel: str, size: int, report: ScanReport) -> str:
        full = self.root / rel
        suffix = Path(rel).suffix.lower()
        if suffix == ".zip":
            return self._read_zip(db, rel, report)
        if Path(rel).name.upper() == "DICOMDIR":
            return "dicomdir"
        if not _has_dicom_marker(full) and suffix not in DICOM_SUFFIXES:
            return "other"  # an NRRD, a PNG...: not ours, not listed
        try:
            record = read_record(str(full), size)
        except Skipped as exc:
            self._skip(db, rel, "", exc.reason, report)
            return "skipped"
        self._add(db, rel, "", record, report)
        return "dicom"

    def _read_zip(self, db: sqlite3.Connection, rel: str, report: ScanReport) -> str:
        try:
            with zipfile.ZipFile(self.root / rel) as zf:
                members = [m for m in zf.infolist() if not m.is_dir()]
                if len(members) > MAX_ZIP_MEMBERS:
                    self._skip(db, rel, "", f"more than {MAX_ZIP_MEMBERS} members", report)
                    return "skipped"
                for info in members:
                    self._read_member(db, zf, rel, info, report)
        except (zipfile.BadZipFile, OSError, ValueError, NotImplementedError, RuntimeError) as exc:
            self._skip(db, rel, "", f"unreadable zip archive ({type(exc).__name__})", report)
            return "skipped"
        return "zip"

    def _read_member(self, db, zf: zipfile.ZipFile, rel: str, info: zipfile.ZipInfo, report: ScanReport) -> None:
        name = info.filename
        if Path(name).name.startswith(".") or Path(name).name.upper() == "DICOMDIR":
            return
        if info.file_size > MAX_MEMBER_BYTES or info.file_size > MAX_ZIP_RATIO * max(info.compress_size, 1) + 4096:
            self._skip(db, rel, name, "member too large or too compressed (zip bomb guard)", report)
            return
        with zf.open(info) as member:
            head = member.read(132)
        if head[128:132] != b"DICM" and Path(name).suffix.lower() not in DICOM_SUFFIXES:
            return
        try:
            record = read_bytes_record(zf.read(info))
        except Skipped as exc:
            self._skip(db, rel, name, exc.reason, report)
            return
        self._add(db, rel, name, record, report)

    def _add(self, db: sqlite3.Connection, rel: str, member: str, record: InstanceRecord, report: ScanReport) -> None:
        row = record.as_row()
        names = ["path", "member", *_RECORD_FIELDS]
        values = [rel, member, *(row[n] for n in _RECORD_FIELDS)]
        db.execute(
            f"INSERT OR REPLACE INTO instances ({','.join(names)}) VALUES ({','.join('?' * len(names))})",  # noqa: S608
            values,
        )
        report.added += 1

    def _skip(self, db: sqlite3.Connection, rel: str, member: str, reason: str, report: ScanReport) -> None:
        db.execute("INSERT OR REPLACE INTO skipped VALUES (?,?,?)", (rel, member, reason))
        report.skipped += 1

    # -- queries -------------------------------------------------------------------------------------------------

    def _rows(self, sql: str, params: tuple = ()) -> list[dict[str, Any]]:
        with self._connect() as db:
            return [dict(r) for r in db.execute(sql, params)]

    def patients(self, name: str = "", patient_id: str = "") -> list[dict[str, Any]]:
        where, params = _filters({"patient_name": name, "patient_id": patient_id})
        return self._rows(f"SELECT * FROM patients {where} ORDER BY patient_name, patient_id", params)  # noqa: S608 - constant column names, values bound

    def studies(
        self,
        *,
        patient_name: str = "",
        patient_id: str = "",
        study_date: str = "",
        modality: str = "",
        accession: str = "",
        study_uid: str = "",
    ) -> list[dict[str, Any]]:
        """Studies matching DICOM-style filters: ``*`` wildcards in names, ``YYYYMMDD-YYYYMMDD`` date ranges."""
        where, params = _filters(
            {"patient_name": patient_name, "patient_id": patient_id, "accession": accession, "study_uid": study_uid},
            study_date=study_date,
        )
        if modality:
            where += (" AND " if where else "WHERE ") + "(',' || modalities || ',') LIKE ?"
            params += (f"%,{modality.upper()},%",)
        return self._rows(f"SELECT * FROM studies {where} ORDER BY study_date DESC, study_time DESC", params)  # noqa: S608 - constant column names, values bound

    def series(self, study_uid: str = "", modality: str = "", series_uid: str = "") -> list[dict[str, Any]]:
        where, params = _filters({"study_uid": study_uid, "modality": modality.upper(), "series_uid": series_uid})
        return self._rows(f"SELECT * FROM series {where} ORDER BY series_number, series_uid", params)  # noqa: S608 - constant column names, values bound

    def instances(self, series_uid: str = "", study_uid: str = "", sop_uid: str = "") -> list[dict[str, Any]]:
        where, params = _filters({"series_uid": series_uid, "study_uid": study_uid, "sop_instance_uid": sop_uid})
        return self._rows(f"SELECT * FROM instances {where} ORDER BY instance_number, sop_instance_uid", params)  # noqa: S608 - constant column names, values bound

    def skipped(self) -> list[dict[str, Any]]:
        return self._rows("SELECT * FROM skipped ORDER BY path, member")

    def loadables(self, series_uid: str) -> list[Loadable]:
        """The volumes of a series, split and sorted (:mod:`.series`), with reasons for what cannot load."""
        items = list({i["sop_instance_uid"]: i for i in reversed(self.instances(series_uid=series_uid))}.values())
        if not items:
            raise NotFound("no such series in the DICOM index; rescan the data root or check the UID")
        return loadables(items)

    def locate(self, sop_uid: str) -> InstanceLocation:
        rows = self.instances(sop_uid=sop_uid)
        if not rows:
            raise NotFound("no such instance in the DICOM index")
        return InstanceLocation(rows[0]["path"], rows[0]["member"])

    def read_bytes(self, location: InstanceLocation | dict[str, Any]) -> bytes:
        """The bytes of an indexed instance (from its file or its zip member)."""
        if isinstance(location, dict):
            location = InstanceLocation(location["path"], location["member"])
        full = (self.root / location.path).resolve()
        if not full.is_relative_to(self.root):
            raise NotFound("the instance's file is outside the data root")
        try:
            if location.member:
                with zipfile.ZipFile(full) as zf:
                    return zf.read(location.member)
            return full.read_bytes()
        except (OSError, KeyError, zipfile.BadZipFile):
            raise InvalidData("an indexed DICOM file changed or disappeared; rescan the data root") from None

    def file_path(self, location: dict[str, Any]) -> Path | None:
        """The file of an instance that is a plain file (None for zip members)."""
        return None if location["member"] else self.root / location["path"]


def _has_dicom_marker(path: Path) -> bool:
    try:
        with path.open("rb") as f:
            return f.read(132)[128:132] == b"DICM"
    except OSError:
        return False


def _filters(values: dict[str, str], study_date: str = "") -> tuple[str, tuple]:
    """SQL WHERE for DICOM matching: exact, or ``*``/``?`` wildcards (case-insensitive for names)."""
    clauses: list[str] = []
    params: list[Any] = []
    for column, value in values.items():
        if not value:
            continue
        if "*" in value or "?" in value:
            clauses.append(f"{column} LIKE ? ESCAPE '\\'")
            escaped = value.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
            params.append(escaped.replace("*", "%").replace("?", "_"))
        elif column == "patient_name":
            clauses.append(f"{column} LIKE ? ESCAPE '\\'")
            params.append(value.replace("%", "\\%").replace("_", "\\_") + "%")
        else:
            clauses.append(f"{column} = ?")
            params.append(value)
    if study_date:
        low, dash, high = study_date.replace(".", "").partition("-")
        if dash:
            if low:
                clauses.append("study_date >= ?")
                params.append(low)
            if high:
                clauses.append("study_date <= ?")
                params.append(high)
        else:
            clauses.append("study_date = ?")
            params.append(low)
    return ("WHERE " + " AND ".join(clauses) if clauses else ""), tuple(params)
