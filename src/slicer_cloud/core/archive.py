"""Safe ZIP extraction: no zip-slip, no links, no decompression bombs.

Every member is validated *before* anything is written. Extraction then streams member by member with a hard
byte counter that never trusts the sizes declared in the archive. On any failure everything this call created
is removed again, so the destination never holds partial output.
"""

from __future__ import annotations

import logging
import os
import re
import stat
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

from slicer_cloud.errors import AlreadyExists, InvalidData, TooLarge, UnsafeArchive, UnsupportedFormat

logger = logging.getLogger(__name__)

_CHUNK = 1 << 20
# Members smaller than this are exempt from the per-member ratio check: a few KiB of zeros compress a
# thousandfold but are harmless. The total-size limit and the total ratio still apply to them.
_RATIO_MIN_BYTES = 1 << 20
_DRIVE_RE = re.compile(r"^[A-Za-z]:")
_BAD_ZIP = (zipfile.BadZipFile, zipfile.LargeZipFile, EOFError, ValueError)


def _gb(n: float) -> str:
    return f"{n / 1e9:.2f} GB"


def is_zip(path: Path) -> bool:
    """Return True if ``path`` is a readable file that looks like a ZIP archive."""
    try:
        return Path(path).is_file() and zipfile.is_zipfile(path)
    except OSError:
        return False


def _member_parts(info: zipfile.ZipInfo) -> list[str]:
    """Validate one member name and return its path components; raise UnsafeArchive if it is unsafe."""
    raw = info.orig_filename
    name = info.filename
    shown = name[:200]
    if "\x00" in raw or any(ord(c) < 32 or ord(c) == 127 for c in raw):
        raise UnsafeArchive(f"Archive entry '{shown}' has control characters in its name; re-create the archive.")
    if "\\" in raw:
        raise UnsafeArchive(f"Archive entry '{shown}' uses backslashes; re-create the archive with '/' separators.")
    if raw.startswith("/") or _DRIVE_RE.match(raw):
        raise UnsafeArchive(f"Archive entry '{shown}' has an absolute path; re-create the archive with relative paths.")
    parts = [p for p in raw.split("/") if p not in ("", ".")]
    if ".." in parts:
        raise UnsafeArchive(f"Archive entry '{shown}' contains '..'; re-create the archive without parent references.")
    if not parts:
        raise UnsafeArchive("The archive has an entry with an empty name; re-create the archive.")
    mode = info.external_attr >> 16
    if stat.S_ISLNK(mode):
        raise UnsafeArchive(f"Archive entry '{shown}' is a symbolic link; links are not allowed, archive real files.")
    if info.flag_bits & 0x1:
        raise UnsupportedFormat(f"Archive entry '{shown}' is encrypted; upload an archive without a password.")
    return parts


@dataclass
class _Plan:
    """Validated members: (info, relative parts), in archive order."""

    files: list[tuple[zipfile.ZipInfo, list[str]]] = field(default_factory=list)
    dirs: list[list[str]] = field(default_factory=list)
    declared_total: int = 0


def _check_ratio(size: int, packed: int, max_ratio: float, what: str) -> None:
    if size >= _RATIO_MIN_BYTES and size > max_ratio * max(packed, 1):
        raise UnsafeArchive(
            f"{what} expands {size / max(packed, 1):.0f}-fold (limit {max_ratio:g}); this looks like a "
            "decompression bomb. Upload the files uncompressed or in a normally compressed archive."
        )


def _plan(zf: zipfile.ZipFile, *, max_total_bytes: int, max_ratio: float, max_members: int) -> _Plan:
    """Validate every member of ``zf`` before anything is extracted."""
    infos = zf.infolist()
    if len(infos) > max_members:
        raise TooLarge(f"The archive has {len(infos)} entries; the limit is {max_members}. Split it into smaller ones.")
    plan = _Plan()
    seen: set[str] = set()
    packed_total = 0
    for info in infos:
        parts = _member_parts(info)
        key = "/".join(parts)
        if key in seen:
            raise UnsafeArchive(f"Archive entry '{key[:200]}' appears twice; re-create the archive.")
        seen.add(key)
        if info.is_dir():
            plan.dirs.append(parts)
            continue
        if info.file_size < 0 or info.compress_size < 0:
            raise InvalidData("The archive declares negative sizes; it is corrupt. Re-create it and upload again.")
        _check_ratio(info.file_size, info.compress_size, max_ratio, f"Archive entry '{key[:200]}'")
        plan.declared_total += info.file_size
        packed_total += info.compress_size
        plan.files.append((info, parts))
    if plan.declared_total > max_total_bytes:
        raise TooLarge(
            f"The archive would extract to {_gb(plan.declared_total)}; the limit is {_gb(max_total_bytes)}. "
            "Upload a smaller archive or ask the administrator to raise the upload limit."
        )
    _check_ratio(plan.declared_total, packed_total, max_ratio, "The archive")
    return plan


class _Extraction:
    """Tracks what one extraction created so that a failure can undo it."""

    def __init__(self, dest: Path, budget: int) -> None:
        self.dest = dest
        self.budget = budget
        self.written = 0
        self.files: list[Path] = []
        self.dirs: list[Path] = []

    def target(self, parts: list[str]) -> Path:
        path = self.dest.joinpath(*parts)
        if not path.resolve(strict=False).is_relative_to(self.dest):
            raise UnsafeArchive(f"Archive entry '{'/'.join(parts)[:200]}' would be written outside the folder.")
        return path

    def mkdirs(self, path: Path) -> None:
        missing = [p for p in [path, *path.parents] if p.is_relative_to(self.dest) and not p.exists()]
        for p in reversed(missing):
            p.mkdir()
            self.dirs.append(p)
        if not path.resolve(strict=True).is_relative_to(self.dest):
            raise UnsafeArchive("An archive folder would be created outside the destination folder.")

    def write_member(self, zf: zipfile.ZipFile, info: zipfile.ZipInfo, parts: list[str]) -> None:
        path = self.target(parts)
        self.mkdirs(path.parent)
        flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0)
        try:
            fd = os.open(path, flags, 0o644)
        except FileExistsError:
            raise AlreadyExists(
                f"'{'/'.join(parts)[:200]}' already exists in the destination; extract into an empty folder."
            ) from None
        self.files.append(path)
        member_bytes = 0
        with os.fdopen(fd, "wb") as out, zf.open(info) as src:
            while chunk := src.read(_CHUNK):
                member_bytes += len(chunk)
                self.written += len(chunk)
                if member_bytes > info.file_size or self.written > self.budget:
                    raise TooLarge(
                        f"Archive entry '{'/'.join(parts)[:200]}' holds more data than it declares; the archive is "
                        "unsafe or corrupt. Re-create it and upload again."
                    )
                out.write(chunk)

    def undo(self) -> None:
        for p in reversed(self.files):
            try:
                p.unlink()
            except OSError as exc:
                logger.warning("cannot remove partial file %s: %s", p, exc)
        for d in reversed(self.dirs):
            try:
                d.rmdir()
            except OSError as exc:
                logger.warning("cannot remove folder %s: %s", d, exc)


def safe_extract_zip(
    zip_path: Path, dest: Path, *, max_total_bytes: int, max_ratio: float, max_members: int = 10000
) -> list[Path]:
    """Extract ``zip_path`` into ``dest`` safely and return the extracted file paths.

    Raises :class:`UnsafeArchive` (unsafe names, links, bomb-like ratios), :class:`TooLarge` (too many entries,
    declared or actual size above ``max_total_bytes``), :class:`InvalidData` (not a ZIP / corrupt),
    :class:`UnsupportedFormat` (encryption, unknown compression) or :class:`AlreadyExists`.
    Nothing is left behind in ``dest`` when an error is raised.
    """
    dest = Path(dest)
    dest.mkdir(parents=True, exist_ok=True)
    dest = dest.resolve(strict=True)
    try:
        zf = zipfile.ZipFile(zip_path)
    except (*_BAD_ZIP, OSError):
        raise InvalidData("The upload is not a valid ZIP archive; re-create it and upload again.") from None
    with zf:
        try:
            plan = _plan(zf, max_total_bytes=max_total_bytes, max_ratio=max_ratio, max_members=max_members)
        except _BAD_ZIP:
            raise InvalidData("The ZIP archive is corrupt; re-create it and upload again.") from None
        job = _Extraction(dest, budget=min(plan.declared_total, max_total_bytes))
        try:
            try:
                _run(zf, plan, job)
            except BaseException:
                job.undo()
                raise
        except (NotImplementedError, OSError, *_BAD_ZIP) as exc:
            raise _translate(exc) from None
    logger.info("extracted %d files (%d bytes) from archive", len(job.files), job.written)
    return list(job.files)


def _run(zf: zipfile.ZipFile, plan: _Plan, job: _Extraction) -> None:
    for parts in plan.dirs:
        job.mkdirs(job.target(parts))
    for info, parts in plan.files:
        job.write_member(zf, info, parts)


def _translate(exc: Exception) -> Exception:
    """Map low-level extraction failures to slicer-cloud errors."""
    if isinstance(exc, NotImplementedError):
        return UnsupportedFormat("The archive uses an unsupported compression method; re-create it as a standard ZIP.")
    if isinstance(exc, _BAD_ZIP):
        return InvalidData(
            "The ZIP archive is corrupt (bad checksum or truncated data); re-create it and upload again."
        )
    if isinstance(exc, (FileExistsError, NotADirectoryError, IsADirectoryError)):
        return UnsafeArchive("The archive has a file and a folder with the same name; re-create the archive.")
    if isinstance(exc, OSError):
        logger.warning("archive extraction failed: %s", exc)
        return InvalidData("The archive could not be extracted (disk full or unreadable data); try again later.")
    return exc
