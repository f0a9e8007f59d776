"""Tokens, roles and browser sessions. Pure logic: no web framework here.

Two roles: ``edit`` (the access token) and ``view`` (the read-only share link). Secrets are compared in constant
time. Browsers trade ``?token=`` for an opaque cookie session id; the WebSocket gets a per-process random wslink
secret per role, handed out only to authenticated clients.
"""

from __future__ import annotations

import hmac
import secrets
from dataclasses import dataclass, field
from typing import Literal

Role = Literal["edit", "view"]
ROLES: tuple[Role, ...] = ("view", "edit")  # weakest first


def weakest(a: Role | None, b: Role | None) -> Role | None:
    """The lesser of two roles (None = no access)."""
    if a is None or b is None:
        return None
    return a if ROLES.index(a) <= ROLES.index(b) else b


def new_secret() -> str:
    return secrets.token_urlsafe(32)


def _equal(a: str, b: str) -> bool:
    return hmac.compare_digest(a.encode("utf-8", "surrogatepass"), b.encode("utf-8", "surrogatepass"))


@dataclass
class TokenAuth:
    """Who may do what in one session.

    :param token: the access (edit) token.
    :param view_token: the share-link (view-only) token.
    :param enabled: False only for ``--no-auth`` on loopback: everyone is an editor.
    """

    token: str = field(default_factory=new_secret)
    view_token: str = field(default_factory=new_secret)
    enabled: bool = True
    ws_secrets: dict[Role, str] = field(default_factory=lambda: {"edit": new_secret(), "view": new_secret()})
    _sessions: dict[str, Role] = field(default_factory=dict, repr=False)

    def role_for_token(self, presented: str | None) -> Role | None:
        """Role granted by a presented token (Bearer, Basic password or ``?token=``)."""
        if not self.enabled:
            return "edit"
        if not presented:
            return None
        # Compare against both, always, so timing does not tell which one was close.
        is_edit = _equal(presented, self.token)
        is_view = _equal(presented, self.view_token)
        if is_edit:
            return "edit"
        return "view" if is_view else None

    def open_browser_session(self, role: Role) -> str:
        """A new opaque cookie value for a browser that presented a valid token."""
        session_id = secrets.token_urlsafe(32)
        self._sessions[session_id] = role
        return session_id

    def role_for_session(self, session_id: str | None) -> Role | None:
        if not self.enabled:
            return "edit"
        if not session_id:
            return None
        for known, role in self._sessions.items():
            if _equal(session_id, known):
                return role
        return None

    def ws_secret_for(self, role: Role) -> str:
        return self.ws_secrets[role]

    def role_for_ws_secret(self, presented: str | None) -> Role | None:
        if not presented:
            return None
        found: Role | None = None
        for role, secret in self.ws_secrets.items():
            if _equal(presented, secret):
                found = role
        return found
