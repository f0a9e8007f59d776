"""The docs stay in step with the code: the catalog tables of docs/choosing.md, the flags of docs/survey.md."""

from __future__ import annotations

import re
from pathlib import Path

from slicer_cloud.cli import build_parser
from slicer_cloud.survey.catalog import load_catalog
from slicer_cloud.survey.docs import END, START, catalog_markdown, replace_block

DOCS = Path(__file__).parents[2] / "docs"


def test_choosing_lists_the_catalog_as_generated():
    page = (DOCS / "choosing.md").read_text()
    assert replace_block(page, catalog_markdown(load_catalog())) == page, (
        "docs/choosing.md is out of date: run python -m slicer_cloud.survey.docs docs/choosing.md"
    )
    block = page.split(START)[1].split(END)[0]
    for tech in load_catalog().technologies:
        assert f"| {tech.name} |" in block


def test_choosing_quotes_no_survey_figures():
    page = (DOCS / "choosing.md").read_text()
    assert "slicer-cloud survey" in page and "come only from running the tool" in page
    assert not re.search(r"\d+\s*(clicks|topics)\b", page)


def test_every_survey_flag_is_documented():
    parser = build_parser()
    survey = parser._subparsers._group_actions[0].choices["survey"]
    manual = (DOCS / "survey.md").read_text()
    flags = [s for a in survey._actions for s in a.option_strings if s.startswith("--") and s != "--help"]
    missing = [f for f in flags if f"`{f}" not in manual and f != "--log-level"]
    assert not missing, f"docs/survey.md does not document {missing}"
