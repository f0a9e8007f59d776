"""Size limits applied to untrusted input before anything is allocated."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Limits:
    """Limits of one session (built from :class:`slicer_cloud.settings.Settings`)."""

    max_image_voxels: int = 2_000_000_000
    max_image_bytes: int = 8 * 1024**3
    max_upload_bytes: int = 4 * 1024**3
    max_archive_bytes: int = 8 * 1024**3
    max_archive_ratio: float = 200.0

    @classmethod
    def from_settings(cls, settings: object) -> Limits:
        return cls(**{name: getattr(settings, name) for name in cls.__dataclass_fields__})
