"""Python code sent to ``/slicer/exec``: refused unless the server runs with ``--enable-exec``; then every call is
written to ``DATA/.slicer-cloud/exec-audit.log`` (one JSON line: time, client, role, SHA-256 and size of the code)
before the code runs in the session, with the original's ``__execResult`` convention.

Code sent here has the full power of the server process: enable it only for trusted users.
"""

from __future__ import annotations

import hashlib
import json
import logging
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..errors import BadRequest, Forbidden

if TYPE_CHECKING:
    from .session import Session

logger = logging.getLogger(__name__)

AUDIT_LOG = "exec-audit.log"
MAX_CODE_BYTES = 1 << 20


class ExecRunner:
    """Runs code in one namespace per session (like the original's module globals), with ``slicer`` imported and
    ``session``, ``scene`` and ``app`` bound."""

    def __init__(self, session: Session) -> None:
        self._session = session
        self._namespace: dict[str, Any] | None = None

    @property
    def audit_path(self) -> Path:
        return self._session.state_dir / AUDIT_LOG

    def check_enabled(self) -> None:
        if not self._session.settings.enable_exec:
            raise Forbidden(
                "running Python code is off: start the server with --enable-exec (or SLICER_CLOUD_ENABLE_EXEC=1) "
                "to allow /slicer/exec; every call is then audited"
            )

    def audit(self, code: bytes, client: str, role: str) -> str:
        """Append one audit line and return the code's SHA-256."""
        digest = hashlib.sha256(code).hexdigest()
        line = {
            "time": datetime.now(timezone.utc).isoformat(timespec="milliseconds"),
            "client": client,
            "role": role,
            "sha256": digest,
            "bytes": len(code),
        }
        self.audit_path.parent.mkdir(parents=True, exist_ok=True)
        with self.audit_path.open("a", encoding="utf-8") as log:
            log.write(json.dumps(line) + "\n")
        return digest

    def run(self, code: bytes, client: str, role: str) -> Any:
        """Audit, then run ``code``; return what it put in ``__execResult`` (must be JSON-serialisable)."""
        self.check_enabled()
        if len(code) > MAX_CODE_BYTES:
            raise BadRequest("the code is larger than 1 MiB")
        try:
            source = code.decode("utf-8")
        except UnicodeDecodeError:
            raise BadRequest("the code must be UTF-8 text") from None
        digest = self.audit(code, client, role)
        logger.warning("exec by %s (%s): sha256 %s", client, role, digest)
        namespace = self._globals()
        namespace["__execResult"] = {}
        try:
            exec(compile(source, "<slicer-exec>", "exec"), namespace)  # noqa: S102 - the feature; opt-in + audited
        except Exception as exc:  # the caller's code failing is the caller's error, the session lives on
            raise BadRequest(f"the code raised {type(exc).__name__}: {str(exc)[:500]}") from None
        result = namespace.get("__execResult", {})
        try:
            json.dumps(result)
        except (TypeError, ValueError):
            raise BadRequest("__execResult must hold JSON-serialisable values") from None
        return result

    def _globals(self) -> dict[str, Any]:
        if self._namespace is None:
            import slicer

            self._namespace = {
                "__name__": "__slicer_exec__",
                "slicer": slicer,
                "session": self._session,
                "scene": self._session.scene,
                "app": self._session.app,
            }
        return self._namespace
