"""What a user gets: the command line end to end, the report (Markdown, HTML with its tables, charts), progress."""

from __future__ import annotations

import io
import os
import subprocess
import sys
from pathlib import Path

import pandas as pd

from slicer_cloud import cli

SLICER_CLOUD = [sys.executable, "-m", "slicer_cloud"]


def html_table(out: Path, **attrs) -> pd.DataFrame:
    html = (out / "report.html").read_text(encoding="utf-8")
    (table,) = pd.read_html(io.StringIO(html), flavor="lxml", attrs=attrs)
    return table


def test_the_command_line_writes_every_output(forum, tmp_path):
    forum.rate_limit_once.add("/t/113.json")
    out = tmp_path / "survey"
    done = subprocess.run(
        [
            *SLICER_CLOUD,
            "survey",
            "--forum",
            forum.base,
            "--out",
            str(out),
            "--keywords",
            "web,cloud",
            "internet",
            "remote",
            "--rate",
            "0",
            "--no-progress",
        ],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "SLICER_CLOUD_LOG_LEVEL": "WARNING"},
    )
    assert done.returncode == 0, done.stderr
    assert "collected 47, read 45, relevant 12, with links 11, with catalog links 10" in done.stdout
    assert "Problems (see the report): vanished 1, malformed JSON 1, malformed HTML 1" in done.stdout
    for name in (
        "topics.csv",
        "topics.json",
        "links.csv",
        "report.md",
        "report.html",
        "overrides.yaml",
        "clicks_by_approach.png",
        "clicks_by_approach.svg",
        "clicks_by_technology.png",
        "clicks_by_technology.svg",
        ".cache/http.sqlite",
    ):
        assert (out / name).stat().st_size > 0, name
    for png in out.glob("*.png"):
        assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    svg = (out / "clicks_by_technology.svg").read_text()
    assert svg.lstrip().startswith("<?xml") and "<svg" in svg and "SlicerDockers" in svg
    assert forum.statuses("/t/113.json") == [429, 200]

    sent = forum.count()
    again = subprocess.run(
        [*SLICER_CLOUD, "survey", "--forum", forum.base, "--out", str(out), "--no-progress"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert again.returncode == 0, again.stderr
    assert forum.count() == sent  # the same keywords by default: all cached


def test_the_html_report_holds_the_funnel_and_one_table_per_approach(run, tmp_path):
    out = tmp_path / "out"
    run(out)
    funnel = html_table(out, **{"class": "funnel"})
    assert dict(zip(funnel["Stage"], funnel["Topics"])) == {
        "collected": 47,
        "read": 45,
        "relevant": 12,
        "with links": 11,
        "with catalog links": 10,
    }
    desktop = html_table(out, **{"data-approach": "remote-desktop"})
    body = desktop.iloc[:-1]  # the last row is the total
    assert list(body["Technology"]) == ["SlicerDockers", "noVNC", "VirtualGL", "X2Go / NoMachine"]
    assert list(body["Clicks"]) == [140, 16, 5, 2] and list(body["#"]) == [1, 2, 3, 4]
    assert desktop.iloc[-1]["Clicks"] == 163
    web = html_table(out, **{"data-approach": "web-ui"}).iloc[:-1]
    assert dict(zip(web["Technology"], web["Clicks"])) == {
        "trame / trame-slicer": 10,
        "OHIF": 6,
        "SliceDrop": 5,
        "vtk.js": 3,
    }
    other = html_table(out, **{"class": "other"})
    assert set(other["Link"]) == {"example.org/annotator", "some-blog.example.org/post"}
    html = (out / "report.html").read_text()
    assert 'src="clicks_by_approach.svg"' in html and 'src="clicks_by_technology.svg"' in html


def test_the_markdown_report_has_the_same_tables(run, tmp_path):
    out = tmp_path / "out"
    run(out)
    md = (out / "report.md").read_text()
    assert "| relevant | 12 |" in md
    assert (
        "| 1 | SlicerDockers | Docker images that run the Slicer desktop behind noVNC in a browser. | 140 | 1 | 3 |"
        in md
    )
    assert "| | **total** | | **163** | | **5** |" in md
    assert "## Jupyter" in md and "| 1 | SlicerJupyter |" in md
    assert "![Clicks per approach](clicks_by_approach.png)" in md


def test_forum_text_cannot_inject_html_into_the_report(forum, run, tmp_path):
    forum.topics[117].links = [('https://example.org/"><script>alert(1)</script>', 3, "")]
    out = tmp_path / "out"
    run(out)
    html = (out / "report.html").read_text()
    assert "<script>" not in html and "&lt;script&gt;" in html


def test_the_progress_bar_counts_the_topics(run, tmp_path, capsys):
    run(tmp_path / "out", progress=True)
    err = capsys.readouterr().err
    assert "search pages" in err and "topics" in err and "47/47" in err


def test_an_unreachable_forum_exits_1_with_what_to_do(tmp_path, caplog):
    code = cli.main(["survey", "--forum", "http://127.0.0.1:9", "--out", str(tmp_path / "o"), "--no-progress"])
    assert code == 1
    assert "cannot reach http://127.0.0.1:9" in caplog.text and "rerun" in caplog.text


def test_a_broken_catalog_exits_2_and_names_the_entry(tmp_path, caplog):
    extra = tmp_path / "mine.yaml"
    extra.write_text("technologies:\n  Mine:\n    approach: telepathy\n    patterns: ['x']\n")
    code = cli.main(["survey", "--catalog", str(extra), "--out", str(tmp_path / "o"), "--no-progress"])
    assert code == 2
    assert "technology 'Mine' has approach 'telepathy'" in caplog.text


def test_a_forum_that_answers_no_search_is_a_clear_error(forum, tmp_path, caplog):
    forum.malformed.update(f"/search.json?page=1&q={w}" for w in ("web", "cloud"))
    code = cli.main(
        [
            "survey",
            "--forum",
            forum.base,
            "--keywords",
            "web,cloud",
            "--out",
            str(tmp_path / "o"),
            "--no-progress",
            "--rate",
            "0",
        ]
    )
    assert code == 1
    assert "answered no search" in caplog.text and "public Discourse forum" in caplog.text
    assert forum.count("/t/") == 0


def test_an_output_folder_that_cannot_be_written_exits_2(tmp_path, caplog):
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    code = cli.main(["survey", "--out", str(blocker / "out"), "--no-progress"])
    assert code == 2 and "choose another --out" in caplog.text
