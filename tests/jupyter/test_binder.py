"""The Binder configuration is consistent: the files repo2docker reads are there, every package they name exists
(PyPI names in the project's dependencies or the installed environment, Debian names in the apt index), and the
notebook a Binder link opens exists."""

from __future__ import annotations

import os
import re
import subprocess
from importlib import metadata
from pathlib import Path

try:
    import tomllib
except ImportError:  # Python 3.10
    import tomli as tomllib

REPO = Path(__file__).parents[2]
BINDER = REPO / "binder"
LAUNCH_NOTEBOOK = "examples/quickstart.ipynb"


def names(path: Path) -> list[str]:
    lines = [line.split("#", 1)[0].strip() for line in path.read_text().splitlines()]
    return [line for line in lines if line]


def requirement_name(line: str) -> str:
    return re.split(r"[<>=!~\[; ]", line, maxsplit=1)[0].strip().lower().replace("_", "-")


def project_dependency_names() -> set[str]:
    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    lines = list(project["dependencies"])
    for extra in project.get("optional-dependencies", {}).values():
        lines += extra
    return {requirement_name(line) for line in lines}


def test_the_files_repo2docker_reads_are_present():
    assert (BINDER / "requirements.txt").is_file()
    assert (BINDER / "apt.txt").is_file()
    post_build = BINDER / "postBuild"
    assert post_build.is_file() and os.access(post_build, os.X_OK)
    assert post_build.read_text().startswith("#!")
    assert re.fullmatch(r"python-3\.(1[0-3])", (BINDER / "runtime.txt").read_text().strip())
    assert (REPO / LAUNCH_NOTEBOOK).is_file()


def test_postbuild_installs_this_repository():
    text = (BINDER / "postBuild").read_text()
    assert re.search(r"pip install (--no-cache-dir )?\.$", text, re.MULTILINE)
    assert (REPO / "pyproject.toml").is_file()


def test_every_python_requirement_is_a_known_distribution():
    known = project_dependency_names()
    for line in names(BINDER / "requirements.txt"):
        name = requirement_name(line)
        # a project dependency (so it is what the suite runs with) and installed here (so the name resolves)
        assert name in known, f"{name} is not a dependency in pyproject.toml"
        metadata.version(name)


def test_every_apt_package_is_in_the_debian_index():
    packages = names(BINDER / "apt.txt")
    found = subprocess.run(["apt-cache", "show", *packages], capture_output=True, text=True, timeout=120)
    listed = set(re.findall(r"^Package: (\S+)$", found.stdout, re.MULTILINE))
    assert not set(packages) - listed, f"not Debian packages: {sorted(set(packages) - listed)}"
