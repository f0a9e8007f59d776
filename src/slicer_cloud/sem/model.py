"""The parsed form of a SEM module description, and its JSON form (what ``GET /api/v1/modules/{name}`` returns)."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields
from typing import Any

SCALAR_TYPES = ("integer", "float", "double", "boolean", "string")
VECTOR_TYPES = ("integer-vector", "float-vector", "double-vector", "string-vector")
ENUMERATION_TYPES = ("integer-enumeration", "float-enumeration", "double-enumeration", "string-enumeration")
GEOMETRY_TYPES = ("point", "region")
FILE_TYPES = ("pointfile", "file", "directory", "image", "geometry", "transform", "table", "measurement")
PARAMETER_TYPES = SCALAR_TYPES + VECTOR_TYPES + ENUMERATION_TYPES + GEOMETRY_TYPES + FILE_TYPES
NUMERIC_BASES = ("integer", "float", "double")

IMAGE_TYPES = ("scalar", "label", "tensor", "diffusion-weighted", "vector", "model")
GEOMETRY_KINDS = ("model", "fiberbundle")
TRANSFORM_TYPES = ("linear", "nonlinear", "bspline")
COORDINATE_SYSTEMS = ("ijk", "lps", "ras")
CHANNELS = ("input", "output")


def base_type(tag: str) -> str:
    """``integer`` for ``integer-vector``/``integer-enumeration``; the tag itself otherwise."""
    return tag.split("-")[0] if tag.endswith(("-vector", "-enumeration")) else tag


@dataclass
class Constraints:
    """``<constraints>``: bounds and step of a numeric parameter (None where not given)."""

    minimum: float | None = None
    maximum: float | None = None
    step: float | None = None


@dataclass
class Parameter:
    """One parameter element (``<integer>``, ``<image type="label">``...)."""

    tag: str
    name: str
    label: str = ""
    description: str = ""
    flag: str | None = None
    longflag: str | None = None
    index: int | None = None
    default: str | None = None
    channel: str | None = None
    constraints: Constraints | None = None
    elements: list[str] = field(default_factory=list)
    multiple: bool = False
    hidden: bool = False
    type: str | None = None
    coordinate_system: str | None = None
    file_extensions: list[str] = field(default_factory=list)
    reference: str | None = None
    line: int | None = None

    @property
    def is_data(self) -> bool:
        """Passed as a file name: images, models, transforms, tables, files, folders, point files, measurements."""
        return self.tag in FILE_TYPES

    @property
    def is_output(self) -> bool:
        return self.channel == "output"

    @property
    def is_return_value(self) -> bool:
        """An output of a simple type: the module writes it to ``--returnparameterfile``."""
        return self.is_output and not self.is_data

    @property
    def required(self) -> bool:
        """Index (positional) inputs without a default must be given, as Slicer's GUI requires them."""
        return self.index is not None and not self.is_output and self.default is None and not self.hidden

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["coordinateSystem"] = data.pop("coordinate_system")
        data["fileExtensions"] = data.pop("file_extensions")
        data["required"] = self.required
        return data

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Parameter:
        values = dict(data)
        values["coordinate_system"] = values.pop("coordinateSystem", None)
        values["file_extensions"] = values.pop("fileExtensions", [])
        values.pop("required", None)
        if values.get("constraints") is not None:
            values["constraints"] = Constraints(**values["constraints"])
        known = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in values.items() if k in known})


@dataclass
class ParameterGroup:
    """``<parameters>``: a labelled group (``advanced="true"`` groups are collapsed in GUIs)."""

    label: str = ""
    description: str = ""
    advanced: bool = False
    parameters: list[Parameter] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return {
            "label": self.label,
            "description": self.description,
            "advanced": self.advanced,
            "parameters": [p.to_json() for p in self.parameters],
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> ParameterGroup:
        return cls(
            label=data.get("label", ""),
            description=data.get("description", ""),
            advanced=bool(data.get("advanced", False)),
            parameters=[Parameter.from_json(p) for p in data.get("parameters", [])],
        )


@dataclass
class ModuleDescription:
    """``<executable>``: metadata and parameter groups of one command-line module."""

    title: str = ""
    category: str = ""
    description: str = ""
    version: str = ""
    documentation_url: str = ""
    license: str = ""
    contributor: str = ""
    acknowledgements: str = ""
    groups: list[ParameterGroup] = field(default_factory=list)

    @property
    def parameters(self) -> list[Parameter]:
        return [p for g in self.groups for p in g.parameters]

    def parameter(self, name: str) -> Parameter | None:
        return next((p for p in self.parameters if p.name == name), None)

    @property
    def inputs(self) -> list[Parameter]:
        return [p for p in self.parameters if p.is_data and not p.is_output]

    @property
    def outputs(self) -> list[Parameter]:
        return [p for p in self.parameters if p.is_output]

    def to_json(self) -> dict[str, Any]:
        return {
            "title": self.title,
            "category": self.category,
            "description": self.description,
            "version": self.version,
            "documentationUrl": self.documentation_url,
            "license": self.license,
            "contributor": self.contributor,
            "acknowledgements": self.acknowledgements,
            "groups": [g.to_json() for g in self.groups],
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> ModuleDescription:
        return cls(
            title=data.get("title", ""),
            category=data.get("category", ""),
            description=data.get("description", ""),
            version=data.get("version", ""),
            documentation_url=data.get("documentationUrl", ""),
            license=data.get("license", ""),
            contributor=data.get("contributor", ""),
            acknowledgements=data.get("acknowledgements", ""),
            groups=[ParameterGroup.from_json(g) for g in data.get("groups", [])],
        )
