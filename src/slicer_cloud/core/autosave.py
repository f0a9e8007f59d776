"""Autosave: the scene as MRB in ``DATA/.slicer-cloud/autosave/`` when it changed, on a timer and at shutdown."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from pathlib import Path

logger = logging.getLogger(__name__)

PREFIX = "autosave-"


class Autosaver:
    """Saves a scene when its fingerprint changed since the last save.

    :param save: writes the scene as MRB to the given path (e.g. :meth:`SceneLoader.save_scene`).
    :param fingerprint: a cheap value that changes whenever the scene does.
    """

    def __init__(self, folder: Path, save: Callable[[Path], None], fingerprint: Callable[[], object], keep: int = 5):
        self.folder = folder
        self._save = save
        self._fingerprint = fingerprint
        self._keep = max(1, keep)
        self._saved: object = fingerprint()

    def mark_saved(self) -> None:
        """Treat the current scene as saved (after loading the start-up data)."""
        self._saved = self._fingerprint()

    @property
    def changed(self) -> bool:
        return self._fingerprint() != self._saved

    def save_if_changed(self) -> Path | None:
        """Write an autosave when the scene changed; return its path, or None when nothing changed."""
        if not self.changed:
            return None
        return self.save_now()

    def save_now(self) -> Path:
        self.folder.mkdir(parents=True, exist_ok=True)
        dest = self.folder / f"{PREFIX}{time.strftime('%Y%m%d-%H%M%S')}-{time.time_ns() % 10**9:09d}.mrb"
        started = time.perf_counter()
        self._save(dest)
        self._saved = self._fingerprint()
        logger.info("autosaved the scene in %.2f s", time.perf_counter() - started)
        self._prune()
        return dest

    def newest(self) -> Path | None:
        return newest_autosave(self.folder)

    def _prune(self) -> None:
        saves = sorted(self.folder.glob(f"{PREFIX}*.mrb"))
        for old in saves[: -self._keep]:
            old.unlink(missing_ok=True)


def newest_autosave(folder: Path) -> Path | None:
    """The most recent autosave file in ``folder`` or None."""
    saves = sorted(folder.glob(f"{PREFIX}*.mrb")) if folder.is_dir() else []
    return saves[-1] if saves else None
