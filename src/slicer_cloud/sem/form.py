"""The parameter form a GUI builds from a module description (as Slicer's GUI does), from its JSON form.

Each field says which widget shows it: ``number`` (with min/max/step), ``checkbox``, ``text``, ``select`` (from the
enumeration's elements), ``vector`` (comma-separated), ``point``/``region``, ``input`` (a scene node or file of the
given kind) or ``output`` (a new node). Hidden parameters are left out.
"""

from __future__ import annotations

from typing import Any

from .model import ENUMERATION_TYPES, NUMERIC_BASES, base_type

NODE_KIND = {
    "image": "volume",
    "geometry": "model",
    "transform": "transform",
    "table": "table",
    "pointfile": "markups",
    "measurement": "table",
    "file": "file",
    "directory": "directory",
}


def _widget(param: dict[str, Any]) -> str:
    tag = param["tag"]
    if tag in NODE_KIND:
        return "output" if param.get("channel") == "output" else "input"
    if tag in ENUMERATION_TYPES:
        return "select"
    if tag.endswith("-vector"):
        return "vector"
    if tag in ("point", "region"):
        return tag
    if tag == "boolean":
        return "checkbox"
    if tag in NUMERIC_BASES:
        return "number"
    return "text"


def _kind(param: dict[str, Any]) -> str | None:
    tag = param["tag"]
    if tag == "image" and param.get("type") == "label":
        return "labelmap"
    return NODE_KIND.get(tag)


def form_fields(description: dict[str, Any]) -> list[dict[str, Any]]:
    """Fields of the form for a module description's JSON form, group by group, in XML order."""
    out: list[dict[str, Any]] = []
    for group in description.get("groups", []):
        for param in group.get("parameters", []):
            if param.get("hidden"):
                continue
            if param.get("channel") == "output" and param["tag"] not in NODE_KIND:
                continue  # return values are shown with the result
            field: dict[str, Any] = {
                "name": param["name"],
                "label": param.get("label") or param["name"],
                "help": param.get("description", ""),
                "group": group.get("label", ""),
                "advanced": bool(group.get("advanced")),
                "widget": _widget(param),
                "default": param.get("default"),
                "required": bool(param.get("required")),
            }
            if field["widget"] == "number":
                constraints = param.get("constraints") or {}
                field.update(
                    minimum=constraints.get("minimum"),
                    maximum=constraints.get("maximum"),
                    step=constraints.get("step") or (1 if base_type(param["tag"]) == "integer" else None),
                    integer=base_type(param["tag"]) == "integer",
                )
            if field["widget"] == "select":
                field["items"] = list(param.get("elements", []))
            if field["widget"] in ("input", "output"):
                field["kind"] = _kind(param)
            out.append(field)
    return out
