"""SEM parameter values: text <-> Python values, as modules receive them on the command line."""

from __future__ import annotations

import math
from typing import Any

from .model import ENUMERATION_TYPES, NUMERIC_BASES, Parameter, base_type

TRUE_WORDS, FALSE_WORDS = {"true", "1", "yes", "on"}, {"false", "0", "no", "off"}


class SemValueError(ValueError):
    """A value that does not fit its parameter; the message says what is expected."""


def parse_scalar(kind: str, text: str) -> Any:
    """One value of an ``integer``/``float``/``double``/``boolean``/``string`` from text."""
    text = text.strip() if kind != "string" else text
    if kind == "integer":
        try:
            return int(text)
        except ValueError:
            raise SemValueError("expected an integer") from None
    if kind in ("float", "double"):
        try:
            value = float(text)
        except ValueError:
            raise SemValueError("expected a number") from None
        if not math.isfinite(value):
            raise SemValueError("expected a finite number")
        return value
    if kind == "boolean":
        if text.lower() in TRUE_WORDS:
            return True
        if text.lower() in FALSE_WORDS:
            return False
        raise SemValueError("expected true or false")
    return text


def _split(text: str) -> list[str]:
    return [t for t in text.split(",")] if text.strip() else []


def parse_value(param: Parameter, value: Any) -> Any:
    """A Python value for ``param`` from text (command line, XML default) or JSON; raise :class:`SemValueError`."""
    tag = param.tag
    base = base_type(tag)
    if (
        param.multiple
        and tag in ("point", "region")
        and isinstance(value, list)
        and value
        and isinstance(value[0], (list, tuple, str))
    ):
        return [_parse_geometry(param, v) for v in value]
    if tag.endswith("-vector"):
        items = _split(value) if isinstance(value, str) else value
        if not isinstance(items, list):
            raise SemValueError(f"expected a list of {base} values (or comma-separated text)")
        return [_coerce(base, v) for v in items]
    if tag in ("point", "region"):
        if param.multiple and isinstance(value, str) and ";" in value:
            return [_parse_geometry(param, v) for v in value.split(";")]
        point = _parse_geometry(param, value)
        return [point] if param.multiple else point
    if tag in ENUMERATION_TYPES:
        parsed = _coerce(base, value)
        allowed = [parse_scalar(base, e) for e in param.elements]
        if parsed not in allowed:
            raise SemValueError(f"must be one of: {', '.join(param.elements)}")
        return parsed
    if param.is_data:
        if param.multiple and isinstance(value, list):
            return [_coerce("string", v) for v in value]
        return _coerce("string", value)
    return _coerce(base, value)


def _parse_geometry(param: Parameter, value: Any) -> list[float]:
    items = _split(value) if isinstance(value, str) else value
    size = 3 if param.tag == "point" else 6
    if not isinstance(items, (list, tuple)) or len(items) != size:
        what = "x,y,z" if size == 3 else "x,y,z,rx,ry,rz (centre and radius)"
        raise SemValueError(f"expected {size} numbers: {what}")
    return [_coerce("double", v) for v in items]


def _coerce(kind: str, value: Any) -> Any:
    if isinstance(value, str):
        return parse_scalar(kind, value)
    if kind == "integer":
        if isinstance(value, bool) or not isinstance(value, int):
            if isinstance(value, float) and value.is_integer():
                return int(value)
            raise SemValueError("expected an integer")
        return value
    if kind in ("float", "double"):
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
            raise SemValueError("expected a finite number")
        return float(value)
    if kind == "boolean":
        if not isinstance(value, bool):
            raise SemValueError("expected true or false")
        return value
    if not isinstance(value, (str, int, float)) or isinstance(value, bool):
        raise SemValueError("expected text")
    return str(value)


def check_constraints(param: Parameter, value: Any) -> list[str]:
    """Problems of a parsed numeric value (or vector) against ``<constraints>`` minimum/maximum."""
    c = param.constraints
    if c is None or base_type(param.tag) not in NUMERIC_BASES:
        return []
    problems = []
    for v in value if isinstance(value, list) else [value]:
        if c.minimum is not None and v < c.minimum:
            problems.append(f"{v} is below the minimum {c.minimum:g}")
        if c.maximum is not None and v > c.maximum:
            problems.append(f"{v} is above the maximum {c.maximum:g}")
    return problems


def format_value(param: Parameter, value: Any) -> list[str]:
    """Command-line text for a parsed value: one item, or one per repetition for ``multiple`` parameters."""

    def one(v: Any) -> str:
        if isinstance(v, (list, tuple)):
            return ",".join(one(x) for x in v)
        if isinstance(v, bool):
            return "true" if v else "false"
        if isinstance(v, float):
            return repr(v)
        return str(v)

    if param.multiple and isinstance(value, list) and (param.is_data or param.tag in ("point", "region")):
        return [one(v) for v in value]
    return [one(value)]
