"""One survey run, wired: data files -> client -> collect -> analyse -> write. The CLI and the tests call this."""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass, field
from pathlib import Path

from . import DEFAULT_FORUM, DEFAULT_KEYWORDS
from .analysis import Analysis, analyse
from .catalog import OVERRIDES_TEMPLATE, load_catalog, load_overrides, load_rules
from .client import DiscourseClient
from .collect import OnTopic, collect
from .report import RunInfo, write_reports, write_tables

logger = logging.getLogger(__name__)


@dataclass
class SurveyOptions:
    """Everything a run needs; the defaults are those of ``slicer-cloud survey``."""

    out: Path
    forum: str = DEFAULT_FORUM
    keywords: list[str] = field(default_factory=lambda: list(DEFAULT_KEYWORDS))
    since: dt.date | None = None
    cache: Path | None = None  # default: OUT/.cache/http.sqlite
    overrides: Path | None = None  # default: OUT/overrides.yaml (created empty on the first run)
    catalogs: list[Path] = field(default_factory=list)
    rules: Path | None = None
    workers: int = 2
    rate: float = 3.0
    retries: int = 5
    backoff: float = 1.0
    max_pages: int = 50
    offline: bool = False
    progress: bool = True

    @property
    def cache_path(self) -> Path:
        return self.cache or self.out / ".cache" / "http.sqlite"

    @property
    def overrides_path(self) -> Path:
        return self.overrides or self.out / "overrides.yaml"


@dataclass
class SurveyResult:
    analysis: Analysis
    info: RunInfo
    files: list[Path]


def _progress(enabled: bool):
    if not enabled:
        return None
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    return Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=Console(stderr=True),  # stdout carries the result lines
    )


def run_survey(options: SurveyOptions, on_topic: OnTopic | None = None) -> SurveyResult:
    """Collect, decide, count and write; returns the figures and the files written.

    Data-file problems raise :class:`~slicer_cloud.survey.errors.SurveyDataError` before any request is made; an
    unreachable forum raises :class:`~slicer_cloud.survey.errors.ForumError` (what was fetched stays cached).
    """
    catalog = load_catalog(options.catalogs)
    rules = load_rules(options.rules)
    options.out.mkdir(parents=True, exist_ok=True)
    overrides_path = options.overrides_path
    if options.overrides is None and not overrides_path.exists():
        overrides_path.write_text(OVERRIDES_TEMPLATE, encoding="utf-8")
    overrides = load_overrides(overrides_path)
    with DiscourseClient(
        options.forum,
        options.cache_path,
        concurrency=options.workers,
        rate=options.rate,
        retries=options.retries,
        backoff=options.backoff,
        offline=options.offline,
    ) as client:
        found = collect(
            client,
            options.keywords,
            since=options.since,
            max_pages=options.max_pages,
            workers=options.workers,
            progress=_progress(options.progress),
            on_topic=on_topic,
        )
        topics = sorted(found.topics.values(), key=lambda t: t.id)
        analysis = analyse(topics, rules, catalog, overrides, client.host, found.problems)
        info = RunInfo(
            forum=client.base,
            keywords=list(options.keywords),
            since=options.since.isoformat() if options.since else "",
            generated=dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
            rules_source=str(options.rules) if options.rules else "bundled rules",
            overrides_source=f"{overrides_path} ({len(overrides.include)} included, {len(overrides.exclude)} excluded)",
            stats=client.stats.as_dict(),
        )
    files = write_tables(analysis, options.out) + write_reports(analysis, info, options.out)
    logger.info("survey written to %s", options.out)
    return SurveyResult(analysis, info, files)
