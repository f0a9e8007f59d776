"""The survey's data files: the technology catalog, the relevance rules and the overrides, read from YAML.

The bundled files live in ``slicer_cloud/survey/data/``; users extend the catalog (``--catalog``), replace the rules
(``--rules``) and decide single topics (``OUT/overrides.yaml``) without touching code. Every problem in a file is a
:class:`~slicer_cloud.survey.errors.SurveyDataError` that names the file and the entry.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

import yaml

from .errors import SurveyDataError

KNOWN_APPROACHES: tuple[str, ...] = ("remote-desktop", "headless-node", "jupyter", "web-ui", "cloud-provider")
RULE_ACTIONS = ("keep", "drop")
RULE_CONDITIONS = ("title", "text", "not_text", "categories", "tags", "catalog")


@dataclass(frozen=True)
class Approach:
    """One way of using Slicer remotely, a group of technologies."""

    key: str
    title: str
    description: str


@dataclass(frozen=True)
class Technology:
    """A catalog entry: links matching one of ``patterns`` count for this technology."""

    name: str
    approach: str
    description: str
    patterns: tuple[re.Pattern[str], ...]

    def matches(self, link: str) -> bool:
        return any(p.search(link) for p in self.patterns)


@dataclass(frozen=True)
class Catalog:
    """Approaches and technologies, in file order (the first matching technology claims a link)."""

    approaches: dict[str, Approach]
    technologies: tuple[Technology, ...]

    def classify(self, link: str) -> Technology | None:
        """The technology of a cleaned link (host + path, no scheme), or None."""
        for tech in self.technologies:
            if tech.matches(link):
                return tech
        return None

    def by_approach(self, approach: str) -> list[Technology]:
        return [t for t in self.technologies if t.approach == approach]


@dataclass(frozen=True)
class Rule:
    """A relevance rule; see the header of ``data/rules.yaml`` for the conditions."""

    name: str
    action: str
    description: str = ""
    title: tuple[re.Pattern[str], ...] = ()
    text: tuple[re.Pattern[str], ...] = ()
    not_text: tuple[re.Pattern[str], ...] = ()
    categories: frozenset[str] = frozenset()
    tags: frozenset[str] = frozenset()
    catalog: bool | None = None


@dataclass
class Overrides:
    """Per-topic decisions written by a person: topic ids to include or exclude whatever the rules say."""

    include: set[int] = field(default_factory=set)
    exclude: set[int] = field(default_factory=set)
    notes: dict[int, str] = field(default_factory=dict)


def _read_yaml(path: Path | None, bundled: str) -> tuple[Any, str]:
    if path is None:
        text = resources.files("slicer_cloud.survey").joinpath("data", bundled).read_text(encoding="utf-8")
        where = f"bundled {bundled}"
    else:
        try:
            text = Path(path).read_text(encoding="utf-8")
        except OSError as exc:
            raise SurveyDataError(f"cannot read {path}: {exc.strerror}; check the path") from exc
        where = str(path)
    try:
        return yaml.safe_load(text), where
    except yaml.YAMLError as exc:
        raise SurveyDataError(f"{where} is not valid YAML ({exc}); fix the file") from exc


def _patterns(values: Any, where: str) -> tuple[re.Pattern[str], ...]:
    if values is None:
        return ()
    if isinstance(values, str):
        values = [values]
    if not isinstance(values, list) or not all(isinstance(v, str) for v in values):
        raise SurveyDataError(f"{where}: patterns must be a list of strings")
    compiled = []
    for value in values:
        try:
            compiled.append(re.compile(value, re.IGNORECASE))
        except re.error as exc:
            raise SurveyDataError(f"{where}: pattern {value!r} is not a valid regular expression ({exc})") from exc
    return tuple(compiled)


def _mapping(value: Any, where: str) -> Mapping[str, Any]:
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise SurveyDataError(f"{where} must be a mapping of names to entries")
    return value


def _parse_catalog(data: Any, where: str, base: Catalog | None = None) -> Catalog:
    if not isinstance(data, Mapping):
        raise SurveyDataError(f"{where}: expected 'approaches' and/or 'technologies' at the top level")
    approaches = dict(base.approaches) if base else {}
    for key, entry in _mapping(data.get("approaches"), f"{where}: approaches").items():
        if key not in KNOWN_APPROACHES:
            raise SurveyDataError(f"{where}: approach {key!r} is not one of {', '.join(KNOWN_APPROACHES)}")
        entry = _mapping(entry, f"{where}: approach {key}")
        approaches[key] = Approach(key, str(entry.get("title", key)), str(entry.get("description", "")))
    techs: dict[str, Technology] = {t.name: t for t in base.technologies} if base else {}
    for name, entry in _mapping(data.get("technologies"), f"{where}: technologies").items():
        entry = _mapping(entry, f"{where}: technology {name}")
        approach = entry.get("approach")
        if approach not in KNOWN_APPROACHES:
            raise SurveyDataError(
                f"{where}: technology {name!r} has approach {approach!r}; use one of {', '.join(KNOWN_APPROACHES)}"
            )
        patterns = _patterns(entry.get("patterns"), f"{where}: technology {name!r}")
        if not patterns:
            raise SurveyDataError(f"{where}: technology {name!r} has no URL patterns")
        techs.pop(str(name), None)  # a replaced entry moves to the end of the order, like a new one
        techs[str(name)] = Technology(str(name), approach, str(entry.get("description", "")), patterns)
    missing = sorted({t.approach for t in techs.values()} - approaches.keys())
    for key in missing:
        approaches[key] = Approach(key, key.replace("-", " ").capitalize(), "")
    ordered = {k: approaches[k] for k in KNOWN_APPROACHES if k in approaches}
    return Catalog(ordered, tuple(techs.values()))


def load_catalog(extra: Iterable[Path] = ()) -> Catalog:
    """The bundled catalog, extended (and, for equal names, replaced) by each file of ``extra`` in turn."""
    data, where = _read_yaml(None, "catalog.yaml")
    catalog = _parse_catalog(data, where)
    for path in extra:
        data, where = _read_yaml(path, "")
        catalog = _parse_catalog(data, where, base=catalog)
    return catalog


def _names(values: Any, where: str) -> frozenset[str]:
    if values is None:
        return frozenset()
    if isinstance(values, str):
        values = [values]
    if not isinstance(values, list):
        raise SurveyDataError(f"{where} must be a list of names")
    return frozenset(str(v).lower() for v in values)


def load_rules(path: Path | None = None) -> list[Rule]:
    """The relevance rules, in order: the bundled ones, or those of ``path`` instead."""
    data, where = _read_yaml(path, "rules.yaml")
    entries = data.get("rules") if isinstance(data, Mapping) else None
    if not isinstance(entries, list) or not entries:
        raise SurveyDataError(f"{where}: expected a non-empty 'rules' list")
    rules = []
    for i, entry in enumerate(entries):
        if not isinstance(entry, Mapping) or not entry.get("name"):
            raise SurveyDataError(f"{where}: rule #{i + 1} needs a 'name'")
        label = f"{where}: rule {entry['name']!r}"
        unknown = set(entry) - {"name", "action", "description", *RULE_CONDITIONS}
        if unknown:
            raise SurveyDataError(f"{label} has unknown keys {sorted(unknown)}; known: {', '.join(RULE_CONDITIONS)}")
        if entry.get("action") not in RULE_ACTIONS:
            raise SurveyDataError(f"{label}: action must be 'keep' or 'drop'")
        catalog = entry.get("catalog")
        if catalog is not None and not isinstance(catalog, bool):
            raise SurveyDataError(f"{label}: catalog must be true or false")
        rules.append(
            Rule(
                name=str(entry["name"]),
                action=entry["action"],
                description=str(entry.get("description", "")),
                title=_patterns(entry.get("title"), label),
                text=_patterns(entry.get("text"), label),
                not_text=_patterns(entry.get("not_text"), label),
                categories=_names(entry.get("categories"), f"{label}: categories"),
                tags=_names(entry.get("tags"), f"{label}: tags"),
                catalog=catalog,
            )
        )
    return rules


OVERRIDES_TEMPLATE = """\
# Overrides of `slicer-cloud survey`: topic ids kept or dropped whatever the relevance rules say.
# Read back on every run; see topics.csv for the ids and the rule that fired.
#
# include:
#   - 12345
# exclude:
#   - 67890
# notes:            # optional, shown in topics.csv
#   12345: asks how to run Slicer on a lab server
include: []
exclude: []
"""


def _ids(values: Any, where: str) -> set[int]:
    if values is None:
        return set()
    if not isinstance(values, list):
        raise SurveyDataError(f"{where} must be a list of topic ids")
    try:
        return {int(v) for v in values}
    except (TypeError, ValueError) as exc:
        raise SurveyDataError(f"{where} must hold topic ids (numbers); found {values!r}") from exc


def load_overrides(path: Path) -> Overrides:
    """The overrides of ``path``; an absent file means no overrides."""
    if not Path(path).exists():
        return Overrides()
    data, where = _read_yaml(path, "")
    if data is None:
        return Overrides()
    if not isinstance(data, Mapping):
        raise SurveyDataError(f"{where}: expected 'include', 'exclude' and 'notes' at the top level")
    include = _ids(data.get("include"), f"{where}: include")
    exclude = _ids(data.get("exclude"), f"{where}: exclude")
    both = include & exclude
    if both:
        raise SurveyDataError(f"{where}: topics {sorted(both)} are both included and excluded; keep one")
    notes_map = _mapping(data.get("notes"), f"{where}: notes")
    _ids(list(notes_map), f"{where}: notes")  # checks that every key is a topic id
    notes = {int(k): str(v) for k, v in notes_map.items()}
    return Overrides(include, exclude, notes)
