"""Relevance decisions: overrides first, then the first rule of ``rules.yaml`` whose conditions all hold."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from .catalog import Catalog, Overrides, Rule
from .links import clean
from .model import Topic


@dataclass(frozen=True)
class Decision:
    keep: bool
    rule: str
    reason: str


def cites_catalog(topic: Topic, catalog: Catalog) -> bool:
    """True when one of the topic's links belongs to a catalog technology."""
    return any((c := clean(link.url)) and catalog.classify(c) for link in topic.links)


def _holds(rule: Rule, topic: Topic, catalog: Catalog) -> str | None:
    """What matched when all of ``rule``'s conditions hold for ``topic``, else None."""
    body = f"{topic.title}\n{topic.text}"
    matched: list[str] = []
    if rule.title:
        hit = next((m for p in rule.title if (m := p.search(topic.title))), None)
        if not hit:
            return None
        matched.append(f"title: {hit.group(0)!r}")
    if rule.text:
        hit = next((m for p in rule.text if (m := p.search(body))), None)
        if not hit:
            return None
        matched.append(f"text: {' '.join(hit.group(0).split())[:80]!r}")
    if rule.not_text and any(p.search(body) for p in rule.not_text):
        return None
    if rule.categories:
        if topic.category.lower() not in rule.categories:
            return None
        matched.append(f"category: {topic.category}")
    if rule.tags:
        tags = {t.lower() for t in topic.tags} & rule.tags
        if not tags:
            return None
        matched.append(f"tags: {', '.join(sorted(tags))}")
    if rule.catalog is not None:
        if cites_catalog(topic, catalog) != rule.catalog:
            return None
        matched.append("cites a catalog technology" if rule.catalog else "cites no catalog technology")
    return "; ".join(matched) or "default rule"


def decide(topic: Topic, rules: Sequence[Rule], catalog: Catalog, overrides: Overrides) -> Decision:
    """Keep or drop ``topic``, and why (the rule that fired and what it matched)."""
    note = overrides.notes.get(topic.id, "")
    if topic.id in overrides.include:
        return Decision(True, "override:include", note or "listed under include in the overrides file")
    if topic.id in overrides.exclude:
        return Decision(False, "override:exclude", note or "listed under exclude in the overrides file")
    for rule in rules:
        matched = _holds(rule, topic, catalog)
        if matched is not None:
            return Decision(rule.action == "keep", rule.name, matched)
    return Decision(False, "no-rule", "no rule matched")
