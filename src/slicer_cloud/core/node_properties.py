"""Turn a VTK/MRML ``PrintSelf`` text into a nested dict, as Slicer's WebServer ``/slicer/mrml/properties`` does."""

from __future__ import annotations

import re
from typing import Any

_VECTOR = re.compile(r"[\(\[]([0-9,.\- ]+)[\)\]]")
_BARE_VECTOR = re.compile(r"^([0-9,.\- ]+)$")
_NUMBER = re.compile(r"^([0-9.\-]+)$")
_WORDS = {"(none)": None, "true": True, "false": False, "on": True, "off": False}


def _numbers(text: str, is_float: bool) -> list | None:
    parts = re.split(r",[ ]*| +", text.strip())
    try:
        return [float(p) if is_float else int(p) for p in parts]
    except ValueError:
        return None


def string_to_data(text: str) -> Any:
    """A printed value as Python data: None/bool words, numeric vectors, numbers, else the text."""
    lowered = text.lower()
    if lowered in _WORDS:
        return _WORDS[lowered]
    match = _VECTOR.match(text)
    if match:
        values = _numbers(match[1], "." in text)
        if values is not None:
            return values
    match = _BARE_VECTOR.match(text)
    if match and len(re.split(r",[ ]*| +", match[1].strip())) > 1:
        values = _numbers(match[1], "." in text)
        if values is not None:
            return values
    if _NUMBER.match(text):
        try:
            return float(text) if "." in text else int(text)
        except ValueError:
            return text
    return text


def _container(content: dict, keys: list[str]) -> dict:
    current = content
    for key in keys:
        if not isinstance(current.get(key), dict):
            current[key] = {}
        current = current[key]
    return current


def parse_print_self(text: str) -> dict:
    """Nested dict of ``key: value`` lines; indentation opens groups (the original's algorithm)."""
    content: dict = {}
    keys: list[str] = []
    levels = [0, 2]
    previous = 2
    key = ""
    for line in text.split("\n"):
        if not line.strip():
            continue
        level = len(line) - len(line.lstrip())
        if level == 0:
            continue  # class name and pointer
        level = max(level, 2)
        if level > previous:
            keys.append(key)
            levels.append(level)
            previous = level
        elif level < previous:
            while len(levels) > 2 and level < levels[-1]:
                levels.pop()
                keys.pop()
            previous = levels[-1]
        if ":" in line:
            key, value = line.split(":", maxsplit=1)
            key = key.strip()
            parsed = string_to_data(value.strip())
            if parsed is not None:
                _container(content, keys)[key] = parsed
        else:
            key = line.strip()
    return content
