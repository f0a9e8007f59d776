"""What every built-in module shares: the SEM command line (``--xml``, flags, index arguments, return parameters),
progress reporting in Slicer's ``<filter-...>`` protocol, and image/model file helpers.

A module file is ``XML = '''<executable>...'''`` plus ``def run(values, progress) -> dict | None`` and
``if __name__ == "__main__": raise SystemExit(main(XML, run))``.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, TextIO

from ..sem.model import ModuleDescription, Parameter
from ..sem.parser import parse_description
from ..sem.values import SemValueError, check_constraints, format_value, parse_value

RunFunction = Callable[[dict[str, Any], "Progress"], "dict[str, Any] | None"]


class Progress:
    """Slicer's progress protocol on stdout: ``<filter-start>``, ``<filter-progress>``, ``<filter-comment>``,
    ``<filter-end>``. ``stage(name, start, end)`` maps the next 0-1 progress reports into ``[start, end]``."""

    def __init__(self, name: str, out: TextIO | None = None) -> None:
        self.name = name
        self.out = out or sys.stdout
        self.started = time.monotonic()
        self._span = (0.0, 1.0)
        self._last = -1.0

    def _write(self, text: str) -> None:
        self.out.write(text + "\n")
        self.out.flush()

    def start(self, comment: str) -> None:
        self._write(
            f"<filter-start>\n<filter-name>{self.name}</filter-name>\n<filter-comment>{comment}</filter-comment>\n"
            "</filter-start>"
        )
        self.report(0.0)

    def stage(self, comment: str, start: float, end: float) -> None:
        self._span = (start, end)
        self._write(f"<filter-comment>{comment}</filter-comment>")
        self.report(0.0)

    def report(self, fraction: float) -> None:
        """Progress within the current stage (0-1)."""
        lo, hi = self._span
        overall = lo + (hi - lo) * min(max(fraction, 0.0), 1.0)
        if overall - self._last >= 0.01 or overall >= 1.0:
            self._last = overall
            self._write(f"<filter-progress>{overall:.4f}</filter-progress>")

    def watch(self, itk_filter: Any) -> Any:
        """Report a SimpleITK filter's progress events as this stage's progress; returns the filter."""
        import SimpleITK as sitk

        itk_filter.AddCommand(sitk.sitkProgressEvent, lambda: self.report(itk_filter.GetProgress()))
        return itk_filter

    def end(self) -> None:
        self._span = (0.0, 1.0)
        self.report(1.0)
        elapsed = time.monotonic() - self.started
        self._write(
            f"<filter-end>\n<filter-name>{self.name}</filter-name>\n<filter-time>{elapsed:.3f}</filter-time>\n"
            "</filter-end>"
        )


def _argument_parser(description: ModuleDescription, prog: str) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog=prog, description=description.description or description.title)
    parser.add_argument("--xml", action="store_true", help="print the SEM XML description and exit")
    parser.add_argument("--returnparameterfile", default=None, help="file to write output parameters to")
    parser.add_argument("--processinformationaddress", default=None, help=argparse.SUPPRESS)
    for param in sorted(description.parameters, key=lambda p: (p.index is None, p.index or 0)):
        if param.is_return_value:
            continue
        if param.index is not None:
            parser.add_argument(param.name, nargs="?", default=None, help=param.description)
            continue
        switches = [f"-{param.flag}"] if param.flag else []
        switches += [f"--{param.longflag}"] if param.longflag else []
        if param.tag == "boolean":
            parser.add_argument(*switches, dest=param.name, action="store_true", help=param.description)
        elif param.multiple:
            parser.add_argument(*switches, dest=param.name, action="append", default=None, help=param.description)
        else:
            parser.add_argument(*switches, dest=param.name, default=None, help=param.description)
    return parser


def parse_arguments(description: ModuleDescription, argv: list[str], prog: str) -> tuple[dict[str, Any], str | None]:
    """(values by parameter name with defaults applied, return-parameter file) from a SEM command line."""
    parser = _argument_parser(description, prog)
    namespace = parser.parse_args(argv)
    values: dict[str, Any] = {}
    problems: list[str] = []
    for param in description.parameters:
        if param.is_return_value:
            continue
        raw = getattr(namespace, param.name, None)
        if param.tag == "boolean" and param.index is None:
            raw = True if raw else param.default or "false"
        if raw is None:
            raw = param.default if param.default not in (None, "") else None
        if raw is None:
            if param.index is not None and not param.is_output:
                problems.append(f"{param.name} is required")
            values[param.name] = None
            continue
        try:
            if param.multiple and isinstance(raw, list) and param.tag in ("point", "region"):
                value = [parse_value(_single(param), item) for item in raw]
            else:
                value = parse_value(param, raw)
        except SemValueError as exc:
            problems.append(f"{param.name}: {exc}")
            continue
        problems += [f"{param.name}: {p}" for p in check_constraints(param, value)]
        values[param.name] = value
    if problems:
        parser.error("; ".join(problems))
    return values, namespace.returnparameterfile


def _single(param: Parameter) -> Parameter:
    from dataclasses import replace

    return replace(param, multiple=False)


def write_return_parameters(path: str, description: ModuleDescription, results: dict[str, Any]) -> None:
    """``name = value`` lines, the format Slicer reads back for output parameters of simple types."""
    lines = []
    for param in description.parameters:
        if param.is_return_value and param.name in results:
            lines.append(f"{param.name} = {','.join(format_value(param, results[param.name]))}")
    Path(path).write_text("\n".join(lines) + "\n", encoding="utf-8")


def main(xml: str, run: RunFunction, argv: list[str] | None = None, prog: str | None = None) -> int:
    """Entry point of a module: ``--xml`` prints the description; otherwise parse, run and report progress."""
    args = sys.argv[1:] if argv is None else argv
    if "--xml" in args:
        sys.stdout.write(xml.strip() + "\n")
        return 0
    description = parse_description(xml)
    name = description.title or (prog or "module")
    values, return_file = parse_arguments(description, args, prog or name)
    progress = Progress(name)
    progress.start(description.title)
    try:
        results = run(values, progress) or {}
    except (ValueError, RuntimeError, OSError) as exc:
        sys.stderr.write(f"{name} failed: {exc}\n")
        return 1
    if return_file:
        write_return_parameters(return_file, description, results)
    progress.end()
    return 0


# -- file helpers ------------------------------------------------------------------------------------------------


def read_image(path: str) -> Any:
    """A SimpleITK image; a clear error for files that are not images."""
    import SimpleITK as sitk

    try:
        return sitk.ReadImage(str(path))
    except RuntimeError:
        raise ValueError(f"{Path(path).name} could not be read as an image") from None


def write_image(image: Any, path: str) -> None:
    """Write with compression, unless ``SLICER_CLOUD_COMPRESS=0`` (set by the job manager: its outputs are read
    back at once by the same machine, where compressing only costs time)."""
    import os

    import SimpleITK as sitk

    Path(path).parent.mkdir(parents=True, exist_ok=True)
    sitk.WriteImage(image, str(path), useCompression=os.environ.get("SLICER_CLOUD_COMPRESS", "1") != "0")


def require(values: dict[str, Any], *names: str) -> None:
    missing = [n for n in names if not values.get(n)]
    if missing:
        raise ValueError(f"missing {', '.join(missing)}")
