"""Writing a survey's results: topics.csv/.json, links.csv, report.md, report.html and the charts."""

from __future__ import annotations

import csv
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape

from .analysis import Analysis
from .charts import write_charts

TOPIC_FIELDS = [
    "id",
    "status",
    "rule",
    "reason",
    "title",
    "url",
    "created_at",
    "category",
    "tags",
    "keywords",
    "posts_count",
    "links",
    "clicks",
    "malformed_html",
    "problem",
]
LINK_FIELDS = ["url", "technology", "approach", "clicks", "topic_count", "topics", "variants", "title"]
OTHER_LINKS_SHOWN = 25


@dataclass
class RunInfo:
    """What the report says about how it was made."""

    forum: str
    keywords: list[str]
    since: str = ""
    generated: str = ""
    rules_source: str = "bundled rules"
    overrides_source: str = "none"
    stats: dict[str, int] = field(default_factory=dict)


def _md(value: Any) -> str:
    return str(value).replace("|", "\\|").replace("\n", " ")


def _environment() -> Environment:
    env = Environment(
        loader=PackageLoader("slicer_cloud.survey", "data"),
        # *.html.j2 is HTML-escaped; report.md.j2 is Markdown, its cells escaped by the "md" filter instead
        autoescape=select_autoescape(
            enabled_extensions=("html.j2",), disabled_extensions=("md.j2",), default_for_string=True, default=True
        ),
        undefined=StrictUndefined,
        keep_trailing_newline=True,
    )
    env.filters["md"] = _md
    return env


def write_tables(analysis: Analysis, out: Path) -> list[Path]:
    """topics.csv, topics.json (every collected topic and why it was kept or dropped) and links.csv."""
    rows = [t.as_row() for t in analysis.topics]
    with open(out / "topics.csv", "w", newline="", encoding="utf-8") as f:
        writer = csv.DictWriter(f, fieldnames=TOPIC_FIELDS, extrasaction="ignore")
        writer.writeheader()
        writer.writerows(rows)
    (out / "topics.json").write_text(json.dumps(rows, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    with open(out / "links.csv", "w", newline="", encoding="utf-8") as f:
        writer = csv.DictWriter(f, fieldnames=LINK_FIELDS)
        writer.writeheader()
        for s in analysis.links:
            writer.writerow(
                {
                    "url": s.url,
                    "technology": s.technology,
                    "approach": s.approach,
                    "clicks": s.clicks,
                    "topic_count": len(s.topics),
                    "topics": ";".join(str(t) for t in sorted(s.topics)),
                    "variants": ";".join(sorted(s.variants)),
                    "title": s.title,
                }
            )
    return [out / "topics.csv", out / "topics.json", out / "links.csv"]


def write_reports(analysis: Analysis, info: RunInfo, out: Path) -> list[Path]:
    """report.md, report.html and the four chart files."""
    context = {
        "forum": info.forum,
        "keywords": info.keywords,
        "since": info.since,
        "generated": info.generated,
        "rules_source": info.rules_source,
        "overrides_source": info.overrides_source,
        "stats": info.stats,
        "funnel": analysis.funnel,
        "approaches": analysis.approaches,
        "uncategorised": analysis.uncategorised,
        "other_links": analysis.uncategorised[:OTHER_LINKS_SHOWN],
        "problems": analysis.problems,
    }
    paths = write_charts(analysis.approaches, out)
    env = _environment()
    for name in ("report.md", "report.html"):
        text = env.get_template(f"{name}.j2").render(context)
        (out / name).write_text(text, encoding="utf-8")
        paths.append(out / name)
    return paths
