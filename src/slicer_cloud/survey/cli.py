"""``slicer-cloud survey``: mine a Discourse forum for remote-use questions and group the links they cite.

Command module of :mod:`slicer_cloud.extensions`: ``add_command`` adds the sub-parser, ``run`` executes it. The
import stays light; the survey's libraries load inside :func:`run`.
"""

from __future__ import annotations

import argparse
import datetime as dt
import logging
import sys
from pathlib import Path
from typing import Any

from . import DEFAULT_FORUM
from . import DEFAULT_KEYWORDS as _WORDS

logger = logging.getLogger(__name__)
DEFAULT_KEYWORDS = ",".join(_WORDS)


def _date(value: str) -> dt.date:
    try:
        return dt.date.fromisoformat(value)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"{value!r} is not a date; write it as YYYY-MM-DD") from exc


def _keywords(values: list[str]) -> list[str]:
    words = [w.strip() for v in values for w in v.split(",") if w.strip()]
    return list(dict.fromkeys(words))


def add_command(commands: Any, add_setting_flags: Any) -> None:
    """Add ``survey`` to the ``slicer-cloud`` sub-commands."""
    parser = commands.add_parser(
        "survey",
        help="mine a Discourse forum for questions about using Slicer remotely and group the links they cite",
        description="Search a Discourse forum for keywords, keep the topics about using Slicer remotely (rules in "
        "YAML), and count the external links they cite per technology and approach. Writes topics.csv/.json, "
        "links.csv, report.md, report.html and bar charts (PNG/SVG) to --out. Every answer is cached on disk, so a "
        "rerun or a resumed run asks the forum nothing twice.",
    )
    parser.add_argument("--forum", default=DEFAULT_FORUM, help=f"forum address (default: {DEFAULT_FORUM})")
    parser.add_argument(
        "--keywords",
        nargs="+",
        default=[DEFAULT_KEYWORDS],
        metavar="WORD",
        help=f"search words, comma- or space-separated (default: {DEFAULT_KEYWORDS})",
    )
    parser.add_argument(
        "--since", type=_date, default=None, metavar="DATE", help="only topics created on or after DATE (YYYY-MM-DD)"
    )
    parser.add_argument(
        "--out", type=Path, default=Path("survey"), metavar="DIR", help="output folder (default: ./survey)"
    )
    parser.add_argument(
        "--cache", type=Path, default=None, metavar="FILE", help="HTTP cache file (default: OUT/.cache/http.sqlite)"
    )
    parser.add_argument("--refresh", action="store_true", help="delete the cache first: ask the forum everything again")
    parser.add_argument("--offline", action="store_true", help="answer from the cache only; uncached requests fail")
    parser.add_argument(
        "--overrides",
        type=Path,
        default=None,
        metavar="FILE",
        help="YAML of topic ids to include/exclude (default: OUT/overrides.yaml, created empty on the first run)",
    )
    parser.add_argument(
        "--catalog",
        type=Path,
        action="append",
        default=[],
        metavar="FILE",
        help="extra technology catalog YAML, added to the bundled one (same name: replaces); repeatable",
    )
    parser.add_argument(
        "--rules", type=Path, default=None, metavar="FILE", help="relevance rules YAML replacing the bundled rules"
    )
    parser.add_argument("--workers", type=int, default=2, help="topics fetched at once (default: 2)")
    parser.add_argument(
        "--rate", type=float, default=3.0, help="requests per second at most, 0 for no limit (default: 3)"
    )
    parser.add_argument("--max-pages", type=int, default=50, help="search pages per keyword at most (default: 50)")
    parser.add_argument("--no-progress", dest="progress", action="store_false", help="no progress bar")
    add_setting_flags(parser, "survey", shared={"log_level"})
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace, settings: Any) -> int:
    """Run the survey; 0 when the report was written, 1 when the forum could not be read, 2 for bad input."""
    from .errors import SurveyError
    from .run import SurveyOptions, run_survey

    keywords = _keywords(args.keywords)
    if not keywords:
        logger.error("--keywords needs at least one word")
        return 2
    if args.workers < 1 or args.max_pages < 1 or args.rate < 0:
        logger.error("--workers and --max-pages must be at least 1, --rate at least 0")
        return 2
    options = SurveyOptions(
        out=args.out,
        forum=args.forum,
        keywords=keywords,
        since=args.since,
        cache=args.cache,
        overrides=args.overrides,
        catalogs=list(args.catalog),
        rules=args.rules,
        workers=args.workers,
        rate=args.rate,
        max_pages=args.max_pages,
        offline=args.offline,
        progress=args.progress and sys.stderr.isatty(),
    )
    if args.refresh:
        options.cache_path.unlink(missing_ok=True)
    try:
        result = run_survey(options)
    except SurveyError as exc:
        logger.error("%s", exc.message)
        return 1 if exc.status >= 500 else 2
    except OSError as exc:  # the output folder or the cache cannot be written
        logger.error("cannot write %s: %s; choose another --out or --cache", exc.filename or args.out, exc.strerror)
        return 2
    except KeyboardInterrupt:
        logger.error("interrupted; run the same command again to resume (answers so far are cached)")
        return 130
    funnel = ", ".join(f"{stage} {count}" for stage, count in result.analysis.funnel)
    print(f"Survey of {result.info.forum}: {funnel}", flush=True)
    print(f"Report: {(options.out / 'report.html').resolve()}", flush=True)
    problems = {k: len(v) for k, v in result.analysis.problems.items() if v}
    if problems:
        print("Problems (see the report): " + ", ".join(f"{k} {n}" for k, n in problems.items()), flush=True)
    return 0
