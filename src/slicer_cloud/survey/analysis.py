"""From collected topics to the survey's figures: decisions, the funnel, links per technology and approach."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from .catalog import Catalog, Overrides, Rule
from .links import clean, is_external, normalise
from .model import Topic
from .relevance import decide


@dataclass
class LinkStat:
    """One normalised link (per technology): clicks summed over the kept topics that cite it."""

    url: str
    technology: str = ""
    approach: str = ""
    clicks: int = 0
    topics: set[int] = field(default_factory=set)
    variants: set[str] = field(default_factory=set)
    title: str = ""


@dataclass
class TechnologyRow:
    name: str
    approach: str
    description: str
    clicks: int
    links: int
    topics: int


@dataclass
class ApproachTable:
    key: str
    title: str
    description: str
    rows: list[TechnologyRow]
    clicks: int
    topics: int


@dataclass
class Analysis:
    """The figures of one survey run."""

    topics: list[Topic]
    links: list[LinkStat]
    funnel: list[tuple[str, int]]
    approaches: list[ApproachTable]
    uncategorised: list[LinkStat]
    problems: dict[str, list[str]]


def link_stats(topics: Sequence[Topic], catalog: Catalog, forum_host: str) -> list[LinkStat]:
    """The external links of ``topics``, one row per (normalised link, technology), by clicks then URL."""
    stats: dict[tuple[str, str], LinkStat] = {}
    for topic in topics:
        for link in topic.links:
            cleaned, key = clean(link.url), normalise(link.url)
            if not cleaned or not key or not is_external(link.url, forum_host):
                continue
            tech = catalog.classify(cleaned)
            stat = stats.get((key, tech.name if tech else ""))
            if stat is None:
                stat = stats[(key, tech.name if tech else "")] = LinkStat(
                    key, tech.name if tech else "", tech.approach if tech else ""
                )
            stat.clicks += link.clicks
            stat.topics.add(topic.id)
            stat.variants.add(cleaned)
            stat.title = stat.title or link.title
    return sorted(stats.values(), key=lambda s: (-s.clicks, s.url, s.technology))


def approach_tables(links: Sequence[LinkStat], catalog: Catalog) -> list[ApproachTable]:
    """One table per approach (catalog order): its cited technologies by clicks, then links, then name."""
    tables = []
    for approach in catalog.approaches.values():
        rows = []
        approach_topics: set[int] = set()
        for tech in catalog.by_approach(approach.key):
            mine = [s for s in links if s.technology == tech.name]
            if not mine:
                continue
            topics = set().union(*(s.topics for s in mine))
            approach_topics |= topics
            rows.append(
                TechnologyRow(
                    tech.name, approach.key, tech.description, sum(s.clicks for s in mine), len(mine), len(topics)
                )
            )
        rows.sort(key=lambda r: (-r.clicks, -r.links, r.name))
        tables.append(
            ApproachTable(
                approach.key,
                approach.title,
                approach.description,
                rows,
                sum(r.clicks for r in rows),
                len(approach_topics),
            )
        )
    return tables


def analyse(
    topics: Sequence[Topic],
    rules: Sequence[Rule],
    catalog: Catalog,
    overrides: Overrides,
    forum_host: str,
    problems: Sequence[str] = (),
) -> Analysis:
    """Decide every fetched topic and compute the funnel, the link table and the per-approach tables."""
    for topic in topics:
        if topic.status in ("vanished", "failed", "malformed"):
            continue
        decision = decide(topic, rules, catalog, overrides)
        topic.status = "kept" if decision.keep else "dropped"
        topic.rule, topic.reason = decision.rule, decision.reason
    kept = [t for t in topics if t.status == "kept"]
    links = link_stats(kept, catalog, forum_host)
    cited = {tid for s in links for tid in s.topics}
    classified = {tid for s in links if s.technology for tid in s.topics}
    funnel = [
        ("collected", len(topics)),
        ("read", sum(t.status in ("kept", "dropped") for t in topics)),
        ("relevant", len(kept)),
        ("with links", len(cited)),
        ("with catalog links", len(classified)),
    ]
    found = {
        "vanished": [f"{t.id}: {t.problem}" for t in topics if t.status == "vanished"],
        "failed": [f"{t.id}: {t.problem}" for t in topics if t.status == "failed"],
        "malformed JSON": [f"{t.id}: {t.problem}" for t in topics if t.status == "malformed"],
        "malformed HTML": [f"{t.id}: {t.malformed_html} post(s)" for t in topics if t.malformed_html],
        "search and categories": list(problems),
    }
    return Analysis(
        topics=list(topics),
        links=links,
        funnel=funnel,
        approaches=approach_tables(links, catalog),
        uncategorised=[s for s in links if not s.technology],
        problems=found,
    )
