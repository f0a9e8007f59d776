"""Parsing SEM XML (the ``--xml`` answer of a Slicer command-line module) into a :class:`ModuleDescription`.

The XML comes from third-party programs, so it is parsed without network access, DTD loading or entity expansion
(lxml), and every problem is reported with the line and the element it is about.
"""

from __future__ import annotations

import re

from lxml import etree

from ..errors import InvalidData
from .model import (
    CHANNELS,
    COORDINATE_SYSTEMS,
    ENUMERATION_TYPES,
    GEOMETRY_KINDS,
    IMAGE_TYPES,
    NUMERIC_BASES,
    PARAMETER_TYPES,
    TRANSFORM_TYPES,
    Constraints,
    ModuleDescription,
    Parameter,
    ParameterGroup,
    base_type,
)
from .values import SemValueError, parse_scalar

MAX_XML_BYTES = 1 << 20
NAME_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
METADATA = {
    "category": "category",
    "title": "title",
    "description": "description",
    "version": "version",
    "documentation-url": "documentation_url",
    "license": "license",
    "contributor": "contributor",
    "acknowledgements": "acknowledgements",
}
TYPE_ATTRIBUTE = {"image": IMAGE_TYPES, "geometry": GEOMETRY_KINDS, "transform": TRANSFORM_TYPES}


class SemError(InvalidData):
    """A module description that is not valid SEM XML; the message names the line and element."""

    code = "invalid_module_description"


def _fail(element: etree._Element | None, message: str) -> SemError:
    if element is None:
        return SemError(message)
    return SemError(f"line {element.sourceline}: <{element.tag}>: {message}")


def _text(element: etree._Element | None) -> str:
    return "".join(element.itertext()).strip() if element is not None else ""


def _bool_attribute(element: etree._Element, name: str) -> bool:
    value = element.get(name, "false").strip().lower()
    if value not in ("true", "false"):
        raise _fail(element, f'attribute {name}="{value}" must be "true" or "false"')
    return value == "true"


def parse_description(xml: str | bytes) -> ModuleDescription:
    """Parse SEM XML; raise :class:`SemError` naming the line and element of the first problem."""
    data = xml.encode("utf-8") if isinstance(xml, str) else xml
    if len(data) > MAX_XML_BYTES:
        raise SemError(f"the module description is larger than {MAX_XML_BYTES // 1024} KiB")
    parser = etree.XMLParser(
        resolve_entities=False, no_network=True, load_dtd=False, remove_comments=True, huge_tree=False
    )
    try:
        root = etree.fromstring(data.strip(), parser=parser)
    except etree.XMLSyntaxError as exc:
        line = exc.lineno if exc.lineno else "?"
        raise SemError(f"line {line}: not well-formed XML: {exc.msg}") from None
    if root.getroottree().docinfo.internalDTD is not None:
        raise SemError("line 1: <!DOCTYPE>: module descriptions may not declare a DTD or entities")
    if root.tag != "executable":
        raise _fail(root, "the root element of a module description must be <executable>")
    description = ModuleDescription()
    for child in root:
        if not isinstance(child.tag, str):
            continue
        if child.tag in METADATA:
            setattr(description, METADATA[child.tag], _text(child))
        elif child.tag == "parameters":
            description.groups.append(_parse_group(child))
        # Other elements (e.g. <acknowledgements> variants, <index-html>) are ignored, as Slicer does.
    _check_module(description, root)
    return description


def _parse_group(element: etree._Element) -> ParameterGroup:
    group = ParameterGroup(advanced=_bool_attribute(element, "advanced"))
    for child in element:
        if not isinstance(child.tag, str):
            continue
        if child.tag == "label":
            group.label = _text(child)
        elif child.tag == "description":
            group.description = _text(child)
        elif child.tag in PARAMETER_TYPES:
            group.parameters.append(_parse_parameter(child))
        else:
            raise _fail(child, f"unknown parameter type; use one of: {', '.join(PARAMETER_TYPES)}")
    return group


def _parse_parameter(element: etree._Element) -> Parameter:
    tag = element.tag
    param = Parameter(tag=tag, name="", line=element.sourceline)
    param.multiple = _bool_attribute(element, "multiple")
    param.hidden = _bool_attribute(element, "hidden")
    param.coordinate_system = element.get("coordinateSystem")
    if param.coordinate_system is not None and param.coordinate_system not in COORDINATE_SYSTEMS:
        raise _fail(element, f"coordinateSystem must be one of: {', '.join(COORDINATE_SYSTEMS)}")
    param.type = element.get("type")
    allowed = TYPE_ATTRIBUTE.get(tag)
    if allowed and param.type is not None and param.type not in allowed:
        raise _fail(element, f'type="{param.type}" is not one of: {", ".join(allowed)}')
    if tag == "image" and param.type is None:
        param.type = "scalar"
    extensions = element.get("fileExtensions", "")
    param.file_extensions = [e.strip() for e in extensions.split(",") if e.strip()]
    param.reference = element.get("reference")
    for child in element:
        if not isinstance(child.tag, str):
            continue
        _parse_parameter_child(param, child)
    if not param.name:
        raise _fail(element, "a parameter needs a <name>")
    if not param.label:
        param.label = param.name
    _check_parameter(param, element)
    return param


def _parse_parameter_child(param: Parameter, child: etree._Element) -> None:
    text = _text(child)
    match child.tag:
        case "name":
            if not NAME_RE.match(text):
                raise _fail(child, f"{text!r} is not a valid name (letters, digits and _; not starting with a digit)")
            param.name = text
        case "label":
            param.label = text
        case "description":
            param.description = text
        case "flag":
            param.flag = text.lstrip("-")
            if len(param.flag) != 1:
                raise _fail(child, f"a flag is one character (use <longflag> for {text!r})")
        case "longflag":
            param.longflag = text.lstrip("-")
            if not param.longflag:
                raise _fail(child, "empty longflag")
        case "index":
            if not text.isdigit():
                raise _fail(child, f"index {text!r} must be a non-negative integer")
            param.index = int(text)
        case "default":
            param.default = text
        case "channel":
            if text not in CHANNELS:
                raise _fail(child, f"channel {text!r} must be input or output")
            param.channel = text
        case "element":
            param.elements.append(text)
        case "constraints":
            param.constraints = _parse_constraints(param, child)
        case _:
            pass  # Slicer ignores unknown children too (e.g. <flag alias=...> extras, <reference>)


def _parse_constraints(param: Parameter, element: etree._Element) -> Constraints:
    if base_type(param.tag) not in NUMERIC_BASES:
        raise _fail(element, f"constraints only apply to numeric parameters, not <{param.tag}>")
    constraints = Constraints()
    for child in element:
        if not isinstance(child.tag, str):
            continue
        if child.tag not in ("minimum", "maximum", "step"):
            raise _fail(child, "constraints hold <minimum>, <maximum> and <step> only")
        try:
            value = float(_text(child))
        except ValueError:
            raise _fail(child, f"{_text(child)!r} is not a number") from None
        setattr(constraints, child.tag, value)
    if (
        constraints.minimum is not None
        and constraints.maximum is not None
        and constraints.minimum > constraints.maximum
    ):
        raise _fail(element, "minimum is larger than maximum")
    return constraints


def _check_parameter(param: Parameter, element: etree._Element) -> None:
    if param.tag in ENUMERATION_TYPES:
        if not param.elements:
            raise _fail(element, f"{param.name}: an enumeration needs at least one <element>")
        for item in param.elements:
            try:
                parse_scalar(base_type(param.tag), item)
            except SemValueError as exc:
                raise _fail(element, f"{param.name}: element {item!r}: {exc}") from None
    if param.default is not None and param.default != "":
        from .values import parse_value

        try:
            parse_value(param, param.default)
        except SemValueError as exc:
            raise _fail(element, f"{param.name}: default {param.default!r}: {exc}") from None
    has_switch = param.flag or param.longflag or param.index is not None
    if not has_switch and not param.is_return_value:
        raise _fail(element, f"{param.name}: give a <flag>, <longflag> or <index> so the module can receive it")
    if param.index is not None and (param.flag or param.longflag):
        raise _fail(element, f"{param.name}: a parameter has either an <index> or flags, not both")


def _check_module(description: ModuleDescription, root: etree._Element) -> None:
    seen: dict[str, Parameter] = {}
    flags: dict[str, Parameter] = {}
    indices: dict[int, Parameter] = {}
    for param in description.parameters:
        where = f"line {param.line}: <{param.tag}>"
        if param.name in seen:
            raise SemError(f"{where}: duplicate parameter name {param.name!r} (first on line {seen[param.name].line})")
        seen[param.name] = param
        for switch in filter(None, (param.flag, param.longflag)):
            if switch in flags:
                raise SemError(f"{where}: {param.name}: flag {switch!r} is used by {flags[switch].name} too")
            flags[switch] = param
        if param.index is not None:
            if param.index in indices:
                raise SemError(f"{where}: {param.name}: index {param.index} is used by {indices[param.index].name}")
            indices[param.index] = param
    if sorted(indices) != list(range(len(indices))):
        raise _fail(root, f"indices must be 0..{len(indices) - 1} without gaps, got {sorted(indices)}")
