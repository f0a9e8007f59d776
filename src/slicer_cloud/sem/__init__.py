"""Slicer Execution Model (SEM): module descriptions (XML), their JSON form, validation and command lines."""

from __future__ import annotations

from .model import ModuleDescription, Parameter, ParameterGroup
from .parser import SemError, parse_description

__all__ = ["ModuleDescription", "Parameter", "ParameterGroup", "SemError", "parse_description"]
