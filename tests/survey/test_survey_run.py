"""End to end against the fixture forum: funnel, per-approach tables and click sums as the fixture implies."""

from __future__ import annotations

import csv
import datetime as dt
import json

import pytest
from fakeforum import FakeForum, fixture_topics

from slicer_cloud.survey.run import SurveyOptions, run_survey

EXPECTED_TECH_CLICKS = {  # by hand from fixture_topics(): kept topics only, 114 included (no --since)
    "SlicerDockers": 30 + 8 + 2 + 100,
    "noVNC": 12 + 4,
    "VirtualGL": 5,
    "X2Go / NoMachine": 2,
    "SlicerWeb / WebServer": 15 + 7,
    "girder slicer_cli_web": 9,
    "SlicerJupyter": 20,
    "Binder": 11,
    "Google Colab": 4,
    "OHIF": 6,
    "vtk.js": 3,
    "trame / trame-slicer": 10,
    "SliceDrop": 5,
    "AWS": 5,
    "Azure": 1,
    "Jetstream": 3,
    "Google Cloud": 2,
}
EXPECTED_APPROACHES = {  # approach: (clicks, topics)
    "remote-desktop": (140 + 16 + 5 + 2, 5),
    "headless-node": (22 + 9, 1),
    "jupyter": (20 + 11 + 4, 1),
    "web-ui": (6 + 3 + 10 + 5, 2),
    "cloud-provider": (5 + 1 + 3 + 2, 1),
}


@pytest.fixture(scope="module")
def surveyed(tmp_path_factory):
    """(result, out folder) of one run over the fixture forum; these tests only read it."""
    forum = FakeForum().start()
    out = tmp_path_factory.mktemp("survey") / "out"
    try:
        yield run_survey(SurveyOptions(out=out, forum=forum.base, rate=0, backoff=0.05, progress=False)), out
    finally:
        forum.stop()


def read_csv(path):
    with open(path, newline="", encoding="utf-8") as f:
        return list(csv.DictReader(f))


def test_the_funnel_counts_are_those_of_the_fixture(surveyed):
    result, _ = surveyed
    assert dict(result.analysis.funnel) == {
        "collected": 47,  # 16 topics + the vanished one + 30 webinar fillers
        "read": 45,  # less the vanished (404) and the malformed JSON
        "relevant": 12,
        "with links": 11,  # 116 cites nothing
        "with catalog links": 10,  # 117 cites only an uncategorised page
    }


def test_the_rules_keep_exactly_the_topics_a_reader_would(surveyed):
    result, _ = surveyed
    kept = {t.id for t in result.analysis.topics if t.status == "kept"}
    assert kept == {t.id for t in fixture_topics() if t.relevant}
    by_id = {t.id: t for t in result.analysis.topics}
    assert by_id[101].rule == "remote-desktop-question"
    assert by_id[103].rule == "headless-or-server"
    assert by_id[104].rule == "notebook-or-hosted"
    assert by_id[109].rule == "cites-remote-technology"
    assert by_id[107].rule == "download-or-network-problem" and by_id[107].status == "dropped"
    assert by_id[108].rule == "no-remote-use-signal"


def test_click_sums_per_technology_and_approach_match_the_fixture(surveyed):
    result, _ = surveyed
    clicks = {row.name: row.clicks for table in result.analysis.approaches for row in table.rows}
    assert clicks == EXPECTED_TECH_CLICKS
    # the same sums, computed from the fixture's own labels rather than by hand
    kept = {t.id for t in fixture_topics() if t.relevant}
    labelled: dict[str, int] = {}
    for topic in fixture_topics():
        for _, n, tech in topic.links:
            if topic.id in kept and tech:
                labelled[tech] = labelled.get(tech, 0) + n
    assert clicks == labelled
    approaches = {t.key: (t.clicks, t.topics) for t in result.analysis.approaches}
    assert approaches == EXPECTED_APPROACHES


def test_links_of_one_repository_or_page_count_once(surveyed):
    _, out = surveyed
    links = {(r["url"], r["technology"]): r for r in read_csv(out / "links.csv")}
    dockers = links[("github.com/pieper/slicerdockers", "SlicerDockers")]
    assert dockers["clicks"] == "140" and dockers["topics"] == "101;102;114" and dockers["topic_count"] == "3"
    assert len([k for k in links if k[1] == "SlicerDockers"]) == 1
    assert ("slicer.readthedocs.io/user_guide/modules/webserver.html", "SlicerWeb / WebServer") in links
    assert links[("some-blog.example.org/post", "")]["clicks"] == "2"  # tracking parameter dropped, uncategorised
    urls = {k[0] for k in links}
    assert not any("uploads" in u or "self-link" in u or "another-topic" in u for u in urls)  # internal/attachments
    assert "github.com/slicer/extensionsindex" not in urls  # cited only by a dropped topic


def test_topics_files_say_why_each_topic_was_kept_or_dropped(surveyed):
    _, out = surveyed
    rows = {int(r["id"]): r for r in read_csv(out / "topics.csv")}
    assert len(rows) == 47
    assert rows[110]["status"] == "vanished" and "404" in rows[110]["problem"]
    assert rows[111]["status"] == "malformed"
    assert rows[106]["category"] == "Extensions"  # a subcategory name from /categories.json
    assert rows[101]["tags"] == "remote-access"
    assert rows[101]["reason"].startswith("text:")
    assert rows[112]["malformed_html"] == "1" and rows[112]["status"] == "kept"
    as_json = {r["id"]: r for r in json.loads((out / "topics.json").read_text())}
    assert as_json[103]["rule"] == "headless-or-server" and as_json[103]["clicks"] == 31


def test_malformed_json_html_and_a_vanished_topic_are_reported_not_fatal(surveyed):
    result, out = surveyed
    problems = result.analysis.problems
    assert [p.split(":")[0] for p in problems["vanished"]] == ["110"]
    assert [p.split(":")[0] for p in problems["malformed JSON"]] == ["111"]
    assert [p.split(":")[0] for p in problems["malformed HTML"]] == ["112"]
    report = (out / "report.md").read_text()
    assert "- vanished: 1 (110:" in report and "- malformed JSON: 1" in report and "- malformed HTML: 1" in report


def test_since_leaves_out_older_topics(run, tmp_path, forum):
    result = run(tmp_path / "out", since=dt.date(2018, 1, 1))
    ids = {t.id for t in result.analysis.topics}
    assert 114 not in ids and len(ids) == 46
    assert all("after:2018-01-01" in path for path in (p for p, _, _ in forum.requests) if "search" in path)
    clicks = {row.name: row.clicks for table in result.analysis.approaches for row in table.rows}
    assert clicks["SlicerDockers"] == 40
