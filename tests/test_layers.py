"""Dependencies point one way: core/ never imports the web, auth or Jupyter layers (ARCHITECTURE.md)."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

SRC = Path(__file__).parents[1] / "src" / "slicer_cloud"
FEATURES = (
    "slicer_cloud.jobs",
    "slicer_cloud.dicom",
    "slicer_cloud.survey",
    "slicer_cloud.hub",
    "slicer_cloud.jupyter",
)
FRONT_ENDS = ("slicer_cloud.web", "slicer_cloud.api", "slicer_cloud.server", "slicer_cloud.cli")
FORBIDDEN = {
    "core": ("trame", "aiohttp", "wslink", "slicer_cloud.web", "slicer_cloud.auth", "jupyter", "ipywidgets", *FEATURES),
    # the Slicer Execution Model and the modules are plain libraries and CLIs: no scene, no server
    "sem": ("trame", "aiohttp", "slicer", "slicer_cloud.core", *FRONT_ENDS, *FEATURES),
    "modules": ("trame", "aiohttp", "slicer", "slicer_cloud.core", *FRONT_ENDS, *FEATURES),
    # the survey knows nothing of Slicer or the session
    "survey": (
        "trame",
        "slicer",
        "vtk",
        "slicer_cloud.core",
        *FRONT_ENDS,
        *(f for f in FEATURES if f != "slicer_cloud.survey"),
    ),
    # features plug in through slicer_cloud.extensions: they never reach into the server or each other
    "jobs": ("slicer_cloud.server", "slicer_cloud.cli", "slicer_cloud.dicom", "slicer_cloud.hub"),
    "dicom": ("slicer_cloud.server", "slicer_cloud.cli", "slicer_cloud.jobs", "slicer_cloud.hub"),
    "auth": ("trame", "slicer", "vtk", "slicer_cloud.web", "slicer_cloud.core", "slicer_cloud.api"),
    "web": ("slicer_cloud.api", "slicer_cloud.server", "slicer_cloud.cli"),
    "desktop": ("slicer_cloud.web", "slicer_cloud.api", "slicer_cloud.server", "slicer_cloud.cli"),
    "api": ("slicer_cloud.web", "slicer_cloud.server", "slicer_cloud.cli", "trame"),
}


def imported_modules(path: Path) -> set[str]:
    tree = ast.parse(path.read_text())
    found = set()
    package = "slicer_cloud." + ".".join(path.relative_to(SRC).with_suffix("").parts[:-1])
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                found.add(".".join(base + ([node.module] if node.module else [])))
            else:
                found.add(node.module or "")
    return found


@pytest.mark.parametrize("layer", sorted(FORBIDDEN))
def test_a_layer_never_imports_the_layers_above_it(layer):
    offenders = []
    for path in sorted((SRC / layer).rglob("*.py")):
        for module in imported_modules(path):
            if any(module == bad or module.startswith(bad + ".") for bad in FORBIDDEN[layer]):
                offenders.append(f"{path.relative_to(SRC)} imports {module}")
    assert not offenders, offenders


def test_library_code_does_not_print():
    offenders = []
    for path in sorted(SRC.rglob("*.py")):
        if path.name == "cli.py" or path.parent.name == "modules":  # command lines print by design
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Call) and getattr(node.func, "id", None) == "print":
                offenders.append(str(path.relative_to(SRC)))
    assert not offenders
