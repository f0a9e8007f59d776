"""Command lines of SEM modules: parsed values -> arguments, as Slicer builds them for a CLI module."""

from __future__ import annotations

from typing import Any

from .model import ModuleDescription
from .values import format_value


def build_arguments(description: ModuleDescription, values: dict[str, Any]) -> list[str]:
    """Arguments for the module: flagged parameters first, then index parameters in order.

    ``values`` maps parameter names to parsed values (data parameters: file names). A boolean with a flag is passed
    as the bare flag when true and left out when false, as Slicer does; ``multiple`` parameters repeat their flag.
    """
    args: list[str] = []
    positional: dict[int, list[str]] = {}
    for param in description.parameters:
        if param.name not in values or values[param.name] is None:
            continue
        value = values[param.name]
        if param.index is not None:
            positional[param.index] = format_value(param, value)
            continue
        switch = f"--{param.longflag}" if param.longflag else f"-{param.flag}" if param.flag else None
        if switch is None:
            continue  # a return value: the module writes it to --returnparameterfile
        if param.tag == "boolean":
            if value:
                args.append(switch)
            continue
        for item in format_value(param, value):
            # A value starting with "-" (e.g. a negative coordinate) must stick to its flag to not read as one.
            if item.startswith("-"):
                args.append(f"{switch}={item}" if switch.startswith("--") else f"{switch}{item}")
            else:
                args += [switch, item]
    for index in sorted(positional):
        args += positional[index]
    return args
