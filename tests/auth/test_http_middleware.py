"""The auth middleware on a real aiohttp server with a plain handler behind it."""

from __future__ import annotations

import asyncio
import base64

from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from slicer_cloud.auth.http import ROLE_KEY, AuthMiddleware
from slicer_cloud.auth.responses import error_middleware
from slicer_cloud.auth.tokens import TokenAuth

AUTH = TokenAuth(token="edit-token-1", view_token="view-token-1")


async def whoami(request: web.Request) -> web.Response:
    return web.json_response({"role": request[ROLE_KEY]})


async def health(request: web.Request) -> web.Response:
    return web.json_response({"status": "ok"})


def scenario(coro_fn):
    async def run():
        app = web.Application(middlewares=[error_middleware, AuthMiddleware(AUTH).middleware()])
        app.router.add_get("/healthz", health)
        app.router.add_get("/who", whoami)
        app.router.add_post("/who", whoami)
        async with TestClient(TestServer(app)) as client:
            await coro_fn(client)

    asyncio.run(run())


def test_health_is_public_and_everything_else_needs_a_token():
    async def check(client):
        assert (await client.get("/healthz")).status == 200
        response = await client.get("/who")
        assert response.status == 401
        assert "Basic" in response.headers["WWW-Authenticate"]
        assert (await response.json())["error"] == "unauthorized"

    scenario(check)


def test_bearer_and_basic_credentials_carry_the_role():
    async def check(client):
        r = await client.get("/who", headers={"Authorization": "Bearer view-token-1"})
        assert (await r.json())["role"] == "view"
        basic = base64.b64encode(b"me:edit-token-1").decode()
        r = await client.get("/who", headers={"Authorization": f"Basic {basic}"})
        assert (await r.json())["role"] == "edit"
        r = await client.get("/who", headers={"Authorization": "Basic !!notbase64"})
        assert r.status == 401

    scenario(check)


def test_a_query_token_becomes_a_cookie_and_a_clean_redirect():
    async def check(client):
        r = await client.get("/who?token=edit-token-1&x=1", allow_redirects=False)
        assert r.status == 302
        assert r.headers["Location"] == "/who?x=1"
        assert "HttpOnly" in r.headers.getall("Set-Cookie")[0]
        r = await client.get("/who")  # the cookie jar now authenticates
        assert (await r.json())["role"] == "edit"

    scenario(check)


def test_cookie_mutations_need_the_xsrf_header_and_bearer_ones_do_not():
    async def check(client):
        await client.get("/who?token=edit-token-1", allow_redirects=False)
        assert (await client.post("/who")).status == 403
        xsrf = client.session.cookie_jar.filter_cookies(client.make_url("/"))["_xsrf"].value
        assert (await client.post("/who", headers={"X-XSRF-Token": xsrf})).status == 200
        assert (await client.post("/who", headers={"X-XSRF-Token": xsrf + "x"})).status == 403
        client.session.cookie_jar.clear()
        assert (await client.post("/who", headers={"Authorization": "Bearer edit-token-1"})).status == 200

    scenario(check)


def test_viewers_cannot_mutate_and_foreign_origins_are_refused():
    async def check(client):
        r = await client.post("/who", headers={"Authorization": "Bearer view-token-1"})
        assert r.status == 403 and (await r.json())["error"] == "read_only"
        r = await client.get("/who", headers={"Authorization": "Bearer edit-token-1", "Origin": "http://evil.test"})
        assert r.status == 403
        own = str(client.make_url("/")).rstrip("/")
        r = await client.get("/who", headers={"Authorization": "Bearer edit-token-1", "Origin": own})
        assert r.status == 200

    scenario(check)


def test_no_cors_wildcard_is_ever_sent():
    async def check(client):
        for headers in ({}, {"Authorization": "Bearer edit-token-1"}):
            r = await client.get("/who", headers=headers)
            assert "Access-Control-Allow-Origin" not in r.headers

    scenario(check)
