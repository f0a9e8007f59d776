"""Finding modules: the built-in ones, plus every executable or Python file on the module path that answers
``--xml`` with a valid SEM description (the contract of Slicer's command-line modules)."""

from __future__ import annotations

import importlib
import logging
import os
import re
import subprocess
import sys
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from ..errors import NotFound
from .model import ModuleDescription
from .parser import SemError, parse_description

logger = logging.getLogger(__name__)

XML_TIMEOUT_S = 20.0
NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,99}$")


@dataclass
class ModuleEntry:
    """A runnable module: its name, command line prefix, parsed description and raw XML."""

    name: str
    command: list[str]
    description: ModuleDescription
    xml: str
    source: str  # "builtin" or the file it came from

    def summary(self) -> dict[str, str]:
        d = self.description
        return {
            "name": self.name,
            "title": d.title,
            "category": d.category,
            "description": d.description,
            "version": d.version,
            "source": "builtin" if self.source == "builtin" else "module_path",
        }


@dataclass
class ModuleRegistry:
    """The modules a session or a batch can run, by name. Built-ins win over same-named path modules."""

    modules: dict[str, ModuleEntry] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)

    def get(self, name: str) -> ModuleEntry:
        entry = self.modules.get(name)
        if entry is None:
            raise NotFound(f"no module {name!r}; GET /api/v1/modules lists the available ones")
        return entry

    def names(self) -> list[str]:
        return sorted(self.modules)


def builtin_entries() -> list[ModuleEntry]:
    """The built-in modules, described from their XML without starting a process."""
    from ..modules import BUILTIN

    entries = []
    for name in BUILTIN:
        module = importlib.import_module(f"slicer_cloud.modules.{name}")
        entries.append(
            ModuleEntry(
                name=name,
                command=[sys.executable, "-m", f"slicer_cloud.modules.{name}"],
                description=parse_description(module.XML),
                xml=module.XML,
                source="builtin",
            )
        )
    return entries


def command_for(path: Path) -> list[str] | None:
    """How to run a candidate file: Python files with this interpreter, other executables directly."""
    if not path.is_file() or path.name.startswith((".", "_")):
        return None
    if path.suffix == ".py":
        return [sys.executable, str(path)]
    if os.access(path, os.X_OK):
        return [str(path)]
    return None


def describe_command(name: str, command: list[str], source: str) -> ModuleEntry:
    """Ask a program for ``--xml`` and parse the answer; raise :class:`SemError` saying what is wrong."""
    try:
        answer = subprocess.run(
            [*command, "--xml"], capture_output=True, timeout=XML_TIMEOUT_S, stdin=subprocess.DEVNULL, check=False
        )
    except subprocess.TimeoutExpired:
        raise SemError(f"{name}: no answer to --xml within {XML_TIMEOUT_S:g} s") from None
    except OSError as exc:
        raise SemError(f"{name}: cannot run it ({exc.strerror})") from None
    if answer.returncode != 0:
        raise SemError(f"{name}: --xml exited with status {answer.returncode}")
    text = answer.stdout.decode("utf-8", errors="replace")
    start = text.find("<?xml") if "<?xml" in text else text.find("<executable")
    if start < 0:
        raise SemError(f"{name}: --xml printed no <executable> description")
    xml = text[start:]
    try:
        description = parse_description(xml)
    except SemError as exc:
        raise SemError(f"{name}: {exc.message}") from None
    return ModuleEntry(name=name, command=command, description=description, xml=xml, source=source)


def _candidates(folders: Iterable[Path]) -> list[tuple[str, list[str], str]]:
    found = []
    for folder in folders:
        folder = Path(folder).expanduser()
        if not folder.is_dir():
            logger.warning("module path %s is not a folder; skipped", folder)
            continue
        for path in sorted(folder.iterdir()):
            command = command_for(path)
            name = path.stem if path.suffix == ".py" else path.name
            if command is not None and NAME_RE.match(name):
                found.append((name, command, str(path)))
    return found


def discover(module_path: Iterable[Path] = ()) -> ModuleRegistry:
    """Built-ins plus the modules found on ``module_path``; files that do not answer ``--xml`` are noted in
    ``problems`` and left out."""
    registry = ModuleRegistry()
    for entry in builtin_entries():
        registry.modules[entry.name] = entry
    candidates = [c for c in _candidates(module_path) if c[0] not in registry.modules]
    if not candidates:
        return registry
    with ThreadPoolExecutor(max_workers=4) as pool:
        futures = [(c, pool.submit(describe_command, *c)) for c in candidates]
        for (name, _, source), future in futures:
            try:
                entry = future.result()
            except SemError as exc:
                logger.warning("module %s left out: %s", source, exc.message)
                registry.problems.append(exc.message)
                continue
            registry.modules.setdefault(name, entry)
    return registry
