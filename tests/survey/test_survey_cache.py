"""The cache (a rerun asks nothing), resuming after an interruption, overrides, and the forum's rate limits."""

from __future__ import annotations

import socket

import pytest

from slicer_cloud.survey.errors import ForumError


class Interrupted(Exception):
    pass


def figures(result):
    return (
        result.analysis.funnel,
        [(t.key, t.clicks, t.topics, [(r.name, r.clicks) for r in t.rows]) for t in result.analysis.approaches],
        [(t.id, t.status, t.rule) for t in result.analysis.topics],
    )


def test_a_rerun_makes_zero_requests_and_gives_the_same_figures(run, forum, tmp_path):
    out = tmp_path / "out"
    first = run(out)
    sent = forum.count()
    assert sent > 47 and first.info.stats["requests"] == sent
    second = run(out)
    assert forum.count() == sent, "the rerun asked the forum again"
    assert second.info.stats["requests"] == 0 and second.info.stats["cached"] > 47
    assert figures(second) == figures(first)


def test_an_interrupted_run_resumes_without_asking_twice(run, forum, tmp_path):
    out = tmp_path / "out"
    done = []

    def stop_after_five(topic):
        done.append(topic.id)
        if len(done) == 5:
            raise Interrupted

    with pytest.raises(Interrupted):
        run(out, on_topic=stop_after_five)
    topics_asked_first = {p for p, s, _ in forum.requests if p.startswith("/t/")}
    assert 5 <= len(topics_asked_first) < 47
    result = run(out)
    answered = [p for p, s, _ in forum.requests if s in (200, 404)]
    assert len(answered) == len(set(answered)), "some request was answered twice"
    assert dict(result.analysis.funnel)["relevant"] == 12


def test_overrides_change_the_result_as_written_and_are_read_back(run, forum, tmp_path):
    out = tmp_path / "out"
    first = run(out)
    template = (out / "overrides.yaml").read_text()
    assert "include: []" in template  # written on the first run, for the user to fill
    (out / "overrides.yaml").write_text("include: [115]\nexclude: [105]\nnotes:\n  115: a PACS in the cloud\n")
    sent = forum.count()
    second = run(out)
    assert forum.count() == sent  # deciding again needs no request
    by_id = {t.id: t for t in second.analysis.topics}
    assert (by_id[115].status, by_id[115].rule, by_id[115].reason) == (
        "kept",
        "override:include",
        "a PACS in the cloud",
    )
    assert (by_id[105].status, by_id[105].rule) == ("dropped", "override:exclude")
    web_ui = {t.key: t for t in second.analysis.approaches}["web-ui"]
    assert [(r.name, r.clicks) for r in web_ui.rows] == [("SliceDrop", 5)]
    assert dict(second.analysis.funnel)["relevant"] == dict(first.analysis.funnel)["relevant"]  # one in, one out
    assert "orthanc-server.com" in {s.url for s in second.analysis.uncategorised}


def test_a_bad_overrides_file_is_refused_with_the_reason(run, tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    (out / "overrides.yaml").write_text("include: [abc]\n")
    from slicer_cloud.survey.errors import SurveyDataError

    with pytest.raises(SurveyDataError, match="topic ids"):
        run(out)


def test_429_waits_for_retry_after_and_5xx_is_retried(run, forum, tmp_path):
    forum.rate_limit_once.add("/t/113.json")
    result = run(tmp_path / "out")
    assert forum.statuses("/t/113.json") == [429, 200]
    first, second = forum.times("/t/113.json")
    assert second - first >= 0.9  # Retry-After: 1
    assert forum.statuses("/t/112.json") == [500, 200]
    assert forum.statuses("/search.json?page=2&q=web") == [500, 200]
    assert result.info.stats["rate_limited"] == 1 and result.info.stats["server_errors"] == 2
    kept = {t.id for t in result.analysis.topics if t.status == "kept"}
    assert {112, 113} <= kept


def test_a_topic_that_keeps_failing_is_reported_and_asked_again_next_time(run, forum, tmp_path):
    forum.fail_always.add("/t/104.json")
    out = tmp_path / "out"
    result = run(out, retries=2)
    assert forum.statuses("/t/104.json") == [500, 500, 500]
    assert [p.split(":")[0] for p in result.analysis.problems["failed"]] == ["104"]
    assert "jupyter" not in {t.key for t in result.analysis.approaches if t.rows}
    forum.fail_always.clear()
    again = run(out)
    assert forum.statuses("/t/104.json")[-1] == 200  # not cached: an error is not an answer
    assert not again.analysis.problems["failed"]


def test_offline_answers_from_the_cache_only(run, forum, tmp_path):
    out = tmp_path / "out"
    run(out)
    sent = forum.count()
    result = run(out, offline=True, keywords=["web", "cloud", "internet", "remote", "vnc"])
    assert forum.count() == sent
    assert any("'vnc' page 1: not in the cache" in p for p in result.analysis.problems["search and categories"])


def test_an_unreachable_forum_is_a_clear_error(tmp_path):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # closed again: nothing listens there
    from slicer_cloud.survey.run import SurveyOptions, run_survey

    options = SurveyOptions(
        out=tmp_path / "out", forum=f"http://127.0.0.1:{port}", retries=1, backoff=0, progress=False
    )
    with pytest.raises(ForumError, match="cannot reach"):
        run_survey(options)


def test_a_malformed_search_page_and_the_page_limit_are_reported(run, forum, tmp_path):
    forum.malformed.add("/search.json?page=1&q=cloud")
    result = run(tmp_path / "out", max_pages=2)
    problems = result.analysis.problems["search and categories"]
    assert any(p.startswith("search 'cloud' page 1: malformed JSON") for p in problems), problems
    assert any("search 'web': stopped after --max-pages 2" in p for p in problems), problems
    assert forum.count("/search.json?page=3") == 0
    assert dict(result.analysis.funnel)["collected"] < 47
