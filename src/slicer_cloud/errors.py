"""One error vocabulary for slicer-cloud.

Every error a client can cause is a :class:`SlicerCloudError` subclass whose message says what to do.
Front ends map them to HTTP/JSON in one place (``slicer_cloud.auth.responses``); messages never carry
tracebacks, server paths or patient data.
"""

from __future__ import annotations


class SlicerCloudError(Exception):
    """Base class: ``status`` is the HTTP status a front end should answer with."""

    status: int = 400
    code: str = "bad_request"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    def to_dict(self) -> dict[str, str]:
        return {"error": self.code, "message": self.message}


class BadRequest(SlicerCloudError):
    """The request itself is malformed."""


class UnsafePath(SlicerCloudError):
    """A client path that would leave the data root (``..``, absolute, symlink escape, NUL...)."""

    code = "unsafe_path"


class NotFound(SlicerCloudError):
    status = 404
    code = "not_found"


class AlreadyExists(SlicerCloudError):
    status = 409
    code = "already_exists"


class TooLarge(SlicerCloudError):
    """Declared or actual size above a configured limit."""

    status = 413
    code = "too_large"


class UnsafeArchive(SlicerCloudError):
    """Archive members escaping the extraction folder, links, or a decompression bomb."""

    code = "unsafe_archive"


class UnsupportedFormat(SlicerCloudError):
    status = 415
    code = "unsupported_format"


class InvalidData(SlicerCloudError):
    """A parser (ITK, VTK, pydicom, nibabel) could not read the file."""

    status = 422
    code = "invalid_data"


class Unauthorized(SlicerCloudError):
    status = 401
    code = "unauthorized"


class Forbidden(SlicerCloudError):
    status = 403
    code = "forbidden"


class ReadOnly(Forbidden):
    """A view-only (share link) client tried to change the session."""

    code = "read_only"


class ConfigError(SlicerCloudError):
    """Invalid settings (file, environment or flags)."""

    code = "config_error"
