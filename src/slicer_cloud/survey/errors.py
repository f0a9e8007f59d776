"""Errors of the forum survey; each message says what to do."""

from __future__ import annotations

from ..errors import SlicerCloudError


class SurveyError(SlicerCloudError):
    """Base class of the survey's errors."""

    code = "survey_error"


class SurveyDataError(SurveyError):
    """A catalog, rules or overrides file is unreadable or invalid."""

    code = "invalid_survey_data"


class ForumError(SurveyError):
    """The forum cannot be reached or does not answer like a public Discourse instance."""

    status = 502
    code = "forum_error"
