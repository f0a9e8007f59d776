"""One typed settings object, built in ``main()``: defaults -> TOML file -> ``SLICER_CLOUD_*`` env -> CLI flags.

Nothing here reads the environment at import time; :func:`load_settings` is called by the CLI.
"""

from __future__ import annotations

import dataclasses
import ipaddress
import os

try:
    import tomllib
except ImportError:  # Python 3.10
    import tomli as tomllib  # type: ignore[no-redef]
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .errors import ConfigError

ENV_PREFIX = "SLICER_CLOUD_"


def _setting(default: Any, help: str, **kwargs: Any) -> Any:  # noqa: A002 - "help" reads like argparse
    if isinstance(default, list):
        return field(default_factory=lambda: list(default), metadata={"help": help, **kwargs})
    return field(default=default, metadata={"help": help, **kwargs})


@dataclass
class Settings:
    """Settings of one session. Every field carries ``help`` shown by ``slicer-cloud serve --help``."""

    host: str = _setting(
        "127.0.0.1", "Address to bind. Anything other than loopback exposes the session to the network."
    )
    port: int = _setting(8080, "TCP port to listen on (0 picks a free port).")
    data: Path = _setting(Path("."), "Data root: the only server folder the session reads from or writes to.")
    token: str | None = _setting(None, "Access token (default: a random one printed at start).", secret=True)
    view_token: str | None = _setting(None, "Token of the read-only share link (default: a random one).", secret=True)
    no_auth: bool = _setting(False, "Disable authentication. Refused unless the server binds to loopback only.")
    allowed_origins: list[str] = _setting(
        [], "Extra browser origins (scheme://host:port) allowed to open the WebSocket, besides the server's own."
    )
    restore: bool = _setting(False, "Reopen the newest autosave of the data root instead of the sample.")
    sample: bool = _setting(True, "Load the bundled sample brain MRI when no file is given and the data root is empty.")
    autosave_interval: float = _setting(120.0, "Seconds between autosaves of a changed scene (0 disables the timer).")
    autosave_keep: int = _setting(5, "Number of autosave files kept in DATA/.slicer-cloud/autosave/.")
    max_image_voxels: int = _setting(2_000_000_000, "Largest image (voxels, as declared in its header) accepted.")
    max_image_bytes: int = _setting(8 * 1024**3, "Largest image (bytes, as declared in its header) accepted.")
    max_upload_bytes: int = _setting(4 * 1024**3, "Largest file accepted by upload.")
    max_archive_bytes: int = _setting(8 * 1024**3, "Largest total uncompressed size of a zip/MRB archive.")
    max_archive_ratio: float = _setting(200.0, "Largest compression ratio of a zip/MRB archive (bomb guard).")
    vr_preset: str = _setting("MR-Default", "Volume rendering preset used for the sample and loaded volumes.")
    jpeg_quality: int = _setting(90, "JPEG quality of still frames.")
    interactive_quality: int = _setting(50, "JPEG quality of frames sent while the user interacts.")
    interactive_scale: float = _setting(
        0.5, "Image scale of the 3D view while its camera moves (1 disables down-scaling)."
    )
    target_fps: float = _setting(30.0, "Frame rate a view aims for while interacted with.")
    enable_exec: bool = _setting(
        False, "Allow POST /slicer/exec to run Python code in the session (audited). Off: it grants server access."
    )
    allowed_url_hosts: list[str] = _setting(
        [], "Hosts that POST /slicer/mrml?url= may download from (empty: URL loading is refused)."
    )
    max_jobs: int = _setting(
        0, "Processing jobs run at once; more wait in the queue (0: one per CPU core).", command=("serve", "batch")
    )
    module_path: list[Path] = _setting(
        [],
        "Extra folders searched for processing modules: executables or Python files that answer --xml (SEM).",
        command=("serve", "batch"),
    )
    job_timeout: float = _setting(
        3600.0, "Seconds a processing job may run before it is stopped (0: no limit).", command=("serve", "batch")
    )
    job_memory_mb: int = _setting(
        0, "Address-space limit of a processing job in MiB (RLIMIT_AS; 0: no limit).", command=("serve", "batch")
    )
    dicomweb: list[str] = _setting(
        [],
        "DICOMweb servers to browse and push to, NAME=URL (credentials: SLICER_CLOUD_DICOMWEB_<NAME>_TOKEN, "
        "or _USER and _PASSWORD).",
        command=("serve", "dicom"),
    )
    log_level: str = _setting("INFO", "Logging level: DEBUG, INFO, WARNING or ERROR.")
    files: list[Path] = _setting([], "Files or folders to load at start.", cli=False)
    geometry: str = _setting("1600x1000", "Desktop size WIDTHxHEIGHT in pixels.", command="desktop")
    app: str | None = _setting(
        None,
        "Desktop app command line (default: Slicer from SLICER_EXECUTABLE or PATH, else the built-in native viewer).",
        command="desktop",
    )
    exit_with_app: bool = _setting(
        False, "End the desktop when the app exits, with the app's exit code.", command="desktop"
    )

    @property
    def is_loopback(self) -> bool:
        return is_loopback_host(self.host)

    def validate(self) -> Settings:
        """Check cross-field rules; raise :class:`ConfigError` with what to change."""
        if not 0 <= self.port <= 65535:
            raise ConfigError(f"port {self.port} is out of range: use 0-65535")
        if self.no_auth and not self.is_loopback:
            raise ConfigError(
                f"--no-auth is refused when binding to {self.host}: bind to 127.0.0.1 or ::1, or use a token"
            )
        if self.token is not None and len(self.token) < 8:
            raise ConfigError("the token must be at least 8 characters long")
        if self.token is not None and self.token == self.view_token:
            raise ConfigError("the view-only token must differ from the access token")
        if self.log_level.upper() not in {"DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"}:
            raise ConfigError(f"unknown log level {self.log_level!r}: use DEBUG, INFO, WARNING or ERROR")
        if self.max_jobs < 0:
            raise ConfigError("max_jobs must be >= 0 (0: one per CPU core)")
        if self.job_timeout < 0 or self.job_memory_mb < 0:
            raise ConfigError("job_timeout and job_memory_mb must be >= 0 (0: no limit)")
        if self.autosave_interval < 0:
            raise ConfigError("autosave_interval must be >= 0 seconds")
        if not 0.05 <= self.interactive_scale <= 1.0:
            raise ConfigError("interactive_scale must be between 0.05 and 1")
        width, _, height = self.geometry.partition("x")
        if not (width.isdigit() and height.isdigit() and 64 <= int(width) <= 8192 and 64 <= int(height) <= 8192):
            raise ConfigError(f"geometry {self.geometry!r} is not WIDTHxHEIGHT (64-8192 pixels each), e.g. 1600x1000")
        return self


def is_loopback_host(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def fields() -> list[dataclasses.Field]:
    return list(dataclasses.fields(Settings))


def _coerce(f: dataclasses.Field, value: Any, source: str) -> Any:
    kind = str(f.type)
    try:
        if kind.startswith("bool"):
            if isinstance(value, bool):
                return value
            text = str(value).strip().lower()
            if text in {"1", "true", "yes", "on"}:
                return True
            if text in {"0", "false", "no", "off", ""}:
                return False
            raise ValueError(value)
        if kind.startswith("int"):
            return int(value)
        if kind.startswith("float"):
            return float(value)
        if kind.startswith("Path"):
            return Path(value).expanduser()
        if kind.startswith("list"):
            items = value if isinstance(value, list) else [v for v in str(value).split(",") if v.strip()]
            return [Path(v) for v in items] if "Path" in kind else [str(v).strip() for v in items]
        return None if value is None else str(value)
    except (TypeError, ValueError):
        raise ConfigError(f"{source}: {f.name} has an invalid value {value!r} (expected {kind})") from None


def load_settings(
    config_file: Path | None = None,
    environ: Mapping[str, str] | None = None,
    flags: Mapping[str, Any] | None = None,
) -> Settings:
    """Build settings from defaults, then a TOML file, then ``SLICER_CLOUD_*`` variables, then flags."""
    values: dict[str, Any] = {}
    by_name = {f.name: f for f in fields()}
    if config_file is not None:
        try:
            table = tomllib.loads(Path(config_file).read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise ConfigError(f"config file {config_file} does not exist") from None
        except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
            raise ConfigError(f"config file {config_file} is not valid TOML: {exc}") from None
        table = table.get("serve", table)
        for key, value in table.items():
            name = key.replace("-", "_")
            if name not in by_name:
                raise ConfigError(f"config file {config_file}: unknown setting {key!r}")
            values[name] = _coerce(by_name[name], value, str(config_file))
    environ = os.environ if environ is None else environ
    for name, f in by_name.items():
        env_name = ENV_PREFIX + name.upper()
        if env_name in environ:
            values[name] = _coerce(f, environ[env_name], env_name)
    for name, value in (flags or {}).items():
        if value is not None and name in by_name:
            values[name] = _coerce(by_name[name], value, f"--{name.replace('_', '-')}")
    return Settings(**values).validate()
