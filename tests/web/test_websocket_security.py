"""The viewer's WebSocket: Origin and credentials are checked at the upgrade, the wslink secret before any RPC,
read-only clients cannot change anything, and errors carry no traceback."""

from __future__ import annotations

import asyncio

import aiohttp
import pytest

from helpers.wslink_client import WslinkClient

pytestmark = pytest.mark.server


async def _connect(server, *, token=None, origin=None, cookie_jar=None):
    headers = {}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    if origin:
        headers["Origin"] = origin
    session = aiohttp.ClientSession(cookie_jar=cookie_jar)
    try:
        ws = await session.ws_connect(f"ws://127.0.0.1:{server.port}/ws", headers=headers, max_msg_size=0)
    except BaseException:
        await session.close()
        raise
    return session, WslinkClient(ws)


def _secret(server, token):
    status, body = server.request("POST", "/paraview/", token=token, body=b"{}")
    assert status == 200
    return body["secret"], body["role"]


def run(coro):
    return asyncio.run(coro)


def test_a_websocket_upgrade_from_a_foreign_origin_is_refused(server):
    async def scenario():
        with pytest.raises(aiohttp.WSServerHandshakeError) as err:
            await _connect(server, token=server.token, origin="http://evil.example:8080")
        assert err.value.status == 403

    run(scenario())


def test_a_websocket_upgrade_without_credentials_is_refused(server):
    async def scenario():
        with pytest.raises(aiohttp.WSServerHandshakeError) as err:
            await _connect(server, origin=server.base)
        assert err.value.status == 401

    run(scenario())


def test_the_connect_endpoint_hands_a_random_secret_per_role_only_to_token_holders(server):
    status, _ = server.request("POST", "/paraview/", token=None, body=b"{}")
    assert status == 401
    edit_secret, edit_role = _secret(server, server.token)
    view_secret, view_role = _secret(server, server.view_token)
    assert (edit_role, view_role) == ("edit", "view")
    assert edit_secret != view_secret
    assert "wslink-secret" not in (edit_secret, view_secret)
    assert len(edit_secret) >= 32


def test_a_client_with_the_wrong_secret_gets_no_rpc(server):
    async def scenario():
        session, client = await _connect(server, token=server.token, origin=server.base)
        async with session:
            for wrong in ("wslink-secret", "x" * 43, ""):
                reply = await client.hello(wrong)
                assert "error" in reply and "result" not in reply
            reply = await client.call("trame.state.get")
            assert "error" in reply
            assert "result" not in reply
            assert "Unauthorized" in reply["error"]["message"]

    run(scenario())


def test_an_editor_reads_and_changes_state(server):
    async def scenario():
        secret, _ = _secret(server, server.token)
        session, client = await _connect(server, token=server.token, origin=server.base)
        async with session:
            assert "result" in await client.hello(secret)
            state = await client.call("trame.state.get")
            assert "result" in state
            update = await client.call("trame.state.update", [{"key": "slicer_cloud_probe", "value": 1}])
            assert "error" not in update

    run(scenario())


def test_a_share_link_client_watches_but_cannot_edit(server):
    async def scenario():
        secret, _ = _secret(server, server.view_token)
        session, client = await _connect(server, token=server.view_token, origin=server.base)
        async with session:
            assert "result" in await client.hello(secret)
            assert "result" in await client.call("trame.state.get")
            for method, args in [
                ("trame.state.update", [[{"key": "ViewerLayoutState__is_drawer_visible", "value": True}]]),
                ("trame.trigger", ["anything", [], {}]),
                ("trame.rca.event", ["view", "origin", {"type": "MouseMove", "x": 1, "y": 1}]),
            ]:
                reply = await client.call(method, *args)
                assert "error" in reply, method
                assert "read-only" in reply["error"]["message"]

    run(scenario())


def test_a_share_link_client_cannot_upgrade_itself_with_the_edit_secret(server):
    async def scenario():
        edit_secret, _ = _secret(server, server.token)
        session, client = await _connect(server, token=server.view_token, origin=server.base)
        async with session:
            assert "result" in await client.hello(edit_secret)  # accepted, but only as a viewer
            reply = await client.call("trame.trigger", "anything", [], {})
            assert "read-only" in reply["error"]["message"]

    run(scenario())


def test_rpc_errors_carry_no_traceback(server):
    async def scenario():
        secret, _ = _secret(server, server.token)
        session, client = await _connect(server, token=server.token, origin=server.base)
        async with session:
            await client.hello(secret)
            reply = await client.call("trame.trigger", "no-such-trigger-name", [], {})
            text = repr(reply)
            assert "Traceback" not in text and 'File "' not in text and "site-packages" not in text

    run(scenario())


def test_behind_a_tls_prefix_proxy_the_websocket_address_follows_the_forwarded_headers(server):
    headers = {"X-Forwarded-Proto": "https", "X-Forwarded-Prefix": "/user/alice/slicer/<script>"}
    status, body = server.request("POST", "/paraview/", body=b"{}", headers=headers)
    assert status == 200
    assert body["sessionURL"] == f"wss://127.0.0.1:{server.port}/user/alice/slicer/script/ws"
    status, body = server.request("POST", "/paraview/", body=b"{}")
    assert body["sessionURL"] == f"ws://127.0.0.1:{server.port}/ws"


def test_a_websocket_upgrade_from_the_https_origin_of_a_tls_proxy_is_accepted(server):
    async def upgrade(forwarded_proto):
        headers = {"Authorization": f"Bearer {server.token}", "Origin": f"https://127.0.0.1:{server.port}"}
        if forwarded_proto:
            headers["X-Forwarded-Proto"] = forwarded_proto
        async with aiohttp.ClientSession() as session:
            try:
                async with session.ws_connect(f"ws://127.0.0.1:{server.port}/ws", headers=headers):
                    return 101
            except aiohttp.WSServerHandshakeError as err:
                return err.status

    assert run(upgrade(None)) == 403  # an https origin on a plain-http server: foreign
    assert run(upgrade("https")) == 101  # the proxy says the browser reached it over https
