"""Confine every client-supplied path to one data root.

Clients only ever speak in POSIX paths *relative* to the data root. :class:`DataRoot` turns them into absolute
server paths after rejecting anything that could leave the root: ``..`` components, absolute or drive paths,
backslashes, NUL/control characters and symlinks that resolve outside the root. Containment is checked with
:meth:`pathlib.Path.is_relative_to` on fully resolved paths, never with string prefixes.
"""

from __future__ import annotations

import logging
import os
import re
import stat
from pathlib import Path
from typing import Any

from slicer_cloud.errors import AlreadyExists, BadRequest, NotFound, UnsafePath

logger = logging.getLogger(__name__)

_DRIVE_RE = re.compile(r"^[A-Za-z]:")
_MAX_REL_LEN = 4096


def _has_control_chars(text: str) -> bool:
    return any(ord(ch) < 32 or ord(ch) == 127 for ch in text)


def split_client_path(rel: str) -> list[str]:
    """Validate a client relative path lexically and return its components ('' and '.' mean the root: ``[]``).

    Raises :class:`UnsafePath` for NUL/control characters, backslashes, absolute or drive paths and ``..``.
    """
    if not isinstance(rel, str):
        raise BadRequest("A path must be a text string relative to the data folder.")
    if len(rel) > _MAX_REL_LEN:
        raise UnsafePath("That path is too long; use a shorter path inside the data folder.")
    if "\x00" in rel or _has_control_chars(rel):
        raise UnsafePath("Paths may not contain control characters; rename the file and try again.")
    if "\\" in rel:
        raise UnsafePath("Use '/' as the folder separator; backslashes are not allowed in paths.")
    if rel.startswith("/") or _DRIVE_RE.match(rel):
        raise UnsafePath("Use a path relative to the data folder, not an absolute path.")
    parts = [p for p in rel.split("/") if p not in ("", ".")]
    if ".." in parts:
        raise UnsafePath("'..' is not allowed in paths; use a path inside the data folder.")
    return parts


class DataRoot:
    """The folder that holds all user data; every client path is resolved inside it."""

    def __init__(self, root: Path) -> None:
        root = Path(root).expanduser()
        root.mkdir(parents=True, exist_ok=True)
        self.root: Path = root.resolve(strict=True)

    def __repr__(self) -> str:
        return f"DataRoot({str(self.root)!r})"

    def _inside(self, path: Path) -> bool:
        return path == self.root or path.is_relative_to(self.root)

    def resolve(self, rel: str, *, must_exist: bool = False) -> Path:
        """Turn a client relative POSIX path into a resolved absolute path inside the root.

        Raises :class:`UnsafePath` if the path is malformed or (following symlinks) leaves the root, and
        :class:`NotFound` when ``must_exist`` is set and nothing is there.
        """
        parts = split_client_path(rel)
        candidate = self.root.joinpath(*parts)
        try:
            resolved = candidate.resolve(strict=False)
        except (OSError, RuntimeError) as exc:  # symlink loops, permission problems
            logger.info("cannot resolve client path %r: %s", rel, exc)
            raise UnsafePath(f"'{rel}' cannot be resolved (symlink loop?); use another path.") from None
        if not self._inside(resolved):
            logger.warning("client path %r escapes the data root", rel)
            raise UnsafePath(f"'{rel}' points outside the data folder; use a path inside it.")
        if must_exist and not resolved.exists():
            raise NotFound(f"'{rel}' does not exist; check the name or refresh the file list.")
        return resolved

    def relative(self, p: Path) -> str:
        """Return the POSIX path of ``p`` relative to the root ('' for the root itself).

        Raises :class:`UnsafePath` if ``p`` is not inside the root.
        """
        path = Path(p)
        if not path.is_absolute():
            path = self.root / path
        resolved = path.resolve(strict=False)
        if not self._inside(resolved):
            raise UnsafePath("That file is outside the data folder.")
        rel = resolved.relative_to(self.root).as_posix()
        return "" if rel == "." else rel

    def listdir(self, rel: str = "") -> list[dict[str, Any]]:
        """List a folder: dicts with ``name``, ``path`` (relative), ``kind`` ('dir'|'file'), ``size``, ``mtime``.

        Folders come first, then files, each sorted by name. Hidden entries and symlinks that leave the root
        (or are broken) are left out.
        """
        folder = self.resolve(rel, must_exist=True)
        if not folder.is_dir():
            raise BadRequest(f"'{rel}' is a file, not a folder; open its parent folder instead.")
        prefix = "/".join(split_client_path(rel))
        dirs: list[dict[str, Any]] = []
        files: list[dict[str, Any]] = []
        try:
            entries = list(os.scandir(folder))
        except OSError as exc:
            logger.warning("cannot list %s: %s", folder, exc)
            raise BadRequest(f"'{rel}' cannot be listed; check the folder permissions on the server.") from None
        for entry in entries:
            item = self._entry_info(entry, prefix)
            if item is not None:
                (dirs if item["kind"] == "dir" else files).append(item)
        dirs.sort(key=lambda d: d["name"])
        files.sort(key=lambda d: d["name"])
        return dirs + files

    def _entry_info(self, entry: os.DirEntry[str], prefix: str) -> dict[str, Any] | None:
        """Describe one directory entry, or None if it must be hidden from clients."""
        name = entry.name
        if name.startswith(".") or _has_control_chars(name) or "\\" in name:
            return None
        try:
            if entry.is_symlink():
                target = Path(entry.path).resolve(strict=True)
                if not self._inside(target):
                    return None
            st = entry.stat(follow_symlinks=True)
        except (OSError, RuntimeError):
            return None  # broken link, loop, or vanished meanwhile
        if stat.S_ISDIR(st.st_mode):
            kind, size = "dir", 0
        elif stat.S_ISREG(st.st_mode):
            kind, size = "file", st.st_size
        else:
            return None  # sockets, fifos, devices
        path = f"{prefix}/{name}" if prefix else name
        return {"name": name, "path": path, "kind": kind, "size": size, "mtime": st.st_mtime}

    def new_file_path(self, rel: str, *, overwrite: bool) -> Path:
        """Resolve a destination for writing a file, creating missing parent folders inside the root.

        Raises :class:`UnsafePath` for unsafe or hidden destinations (e.g. ``.slicer-cloud/x``),
        :class:`AlreadyExists` if a file is there and ``overwrite`` is false, and :class:`BadRequest` if the
        destination is a folder or a parent is a file.
        """
        parts = split_client_path(rel)
        if not parts:
            raise BadRequest("Give a file name to save to, not the data folder itself.")
        if any(p.startswith(".") for p in parts):
            raise UnsafePath(f"'{rel}' is inside a hidden folder or is hidden; choose a name not starting with '.'.")
        target = self.resolve(rel)
        inner = target.relative_to(self.root).parts
        if any(p.startswith(".") for p in inner):
            raise UnsafePath(f"'{rel}' leads into a hidden folder; choose another destination.")
        if target.is_dir():
            raise BadRequest(f"'{rel}' is a folder; choose a file name inside it.")
        if target.exists() and not overwrite:
            raise AlreadyExists(f"'{rel}' already exists; choose another name or allow overwriting.")
        self._make_parent(target, rel)
        return target

    def _make_parent(self, target: Path, rel: str) -> None:
        """Create ``target``'s parent folders and re-check that they are still inside the root."""
        parent = target.parent
        try:
            parent.mkdir(parents=True, exist_ok=True)
        except (FileExistsError, NotADirectoryError):
            raise BadRequest(f"A parent of '{rel}' is a file, not a folder; choose another destination.") from None
        except OSError as exc:
            logger.warning("cannot create %s: %s", parent, exc)
            raise BadRequest(f"The folder for '{rel}' cannot be created; check server permissions.") from None
        if not self._inside(parent.resolve(strict=True)):
            raise UnsafePath(f"'{rel}' points outside the data folder; use a path inside it.")
