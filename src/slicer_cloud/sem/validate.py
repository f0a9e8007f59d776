"""Checking the values a client sends for a module against its description, reporting every problem at once."""

from __future__ import annotations

from typing import Any

from .model import ModuleDescription
from .values import SemValueError, check_constraints, parse_value


def validate_values(description: ModuleDescription, values: dict[str, Any]) -> tuple[dict[str, Any], list[str]]:
    """(parsed values with defaults filled in, problems). Data inputs stay as the client gave them (a node ID or a
    data-root path) for the caller to resolve; outputs are not filled in here."""
    problems: list[str] = []
    parsed: dict[str, Any] = {}
    known = {p.name for p in description.parameters}
    for name in values:
        if name not in known:
            problems.append(f"{name}: no such parameter (known: {', '.join(sorted(known))})")
    for param in description.parameters:
        given = values.get(param.name)
        if param.is_output:
            if given is not None:
                parsed[param.name] = given
            continue
        if given is None or given == "":
            if param.required:
                problems.append(f"{param.name}: required ({param.label})")
            elif param.default not in (None, "") and not param.is_data:
                parsed[param.name] = parse_value(param, param.default)
            continue
        if param.is_data:
            parsed[param.name] = given  # a node ID or data-root path, resolved by the caller
            continue
        if param.hidden:
            problems.append(f"{param.name}: a hidden parameter cannot be set")
            continue
        try:
            value = parse_value(param, given)
        except SemValueError as exc:
            problems.append(f"{param.name}: {exc}")
            continue
        problems += [f"{param.name}: {p}" for p in check_constraints(param, value)]
        parsed[param.name] = value
    return parsed, problems
