from __future__ import annotations

from pathlib import Path

import pytest
from fakeforum import FakeForum

from slicer_cloud.survey.run import SurveyOptions, SurveyResult, run_survey


@pytest.fixture
def forum():
    """A fresh fixture forum on loopback (its one-time faults not yet spent)."""
    fake = FakeForum().start()
    yield fake
    fake.stop()


def survey(forum: FakeForum, out: Path, on_topic=None, **options) -> SurveyResult:
    """One run against ``forum`` without pacing and with short back-off, as the CLI would do it."""
    options.setdefault("rate", 0)
    options.setdefault("backoff", 0.05)
    options.setdefault("progress", False)
    return run_survey(SurveyOptions(out=out, forum=forum.base, **options), on_topic=on_topic)


@pytest.fixture
def run(forum):
    def _run(out: Path, on_topic=None, **options) -> SurveyResult:
        return survey(forum, out, on_topic=on_topic, **options)

    return _run
