from __future__ import annotations

from slicer_cloud.auth.tokens import TokenAuth, weakest


def test_the_access_token_grants_edit_and_the_share_token_view():
    auth = TokenAuth(token="edit-token-1", view_token="view-token-1")
    assert auth.role_for_token("edit-token-1") == "edit"
    assert auth.role_for_token("view-token-1") == "view"
    for wrong in (None, "", "edit-token-", "edit-token-12", "EDIT-TOKEN-1", "view-token-1 "):
        assert auth.role_for_token(wrong) is None


def test_random_tokens_and_secrets_differ_per_instance():
    a, b = TokenAuth(), TokenAuth()
    assert a.token != b.token and a.view_token != b.view_token
    assert a.ws_secret_for("edit") != a.ws_secret_for("view")
    assert len(a.token) >= 40


def test_browser_sessions_are_opaque_and_keep_their_role():
    auth = TokenAuth(token="edit-token-1", view_token="view-token-1")
    sid = auth.open_browser_session("view")
    assert "view-token-1" not in sid
    assert auth.role_for_session(sid) == "view"
    assert auth.role_for_session(sid[:-1]) is None
    assert auth.role_for_session(None) is None


def test_ws_secrets_map_to_roles():
    auth = TokenAuth()
    assert auth.role_for_ws_secret(auth.ws_secret_for("edit")) == "edit"
    assert auth.role_for_ws_secret(auth.ws_secret_for("view")) == "view"
    assert auth.role_for_ws_secret("wslink-secret") is None


def test_weakest_role_wins():
    assert weakest("edit", "view") == "view"
    assert weakest("edit", "edit") == "edit"
    assert weakest(None, "edit") is None


def test_no_auth_makes_everyone_an_editor():
    auth = TokenAuth(enabled=False)
    assert auth.role_for_token(None) == "edit"
    assert auth.role_for_session(None) == "edit"
