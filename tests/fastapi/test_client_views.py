"""The FastAPI client views with a real browser session, oidc-provider and the example MCP server.

The "web app" below runs under uvicorn: ``/connect`` starts a connection and redirects,
``/oauth/callback`` is :func:`complete_oauth_handler`, ``/notes`` calls a tool. A
``requests.Session`` plays the browser (it keeps the signed binding cookie).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any
from urllib.parse import urljoin

import pytest
import requests
from fastapi import FastAPI
from fastapi import Request as FastAPIRequest
from fastapi.responses import JSONResponse

from mcp_tools.client import BINDING_COOKIE, McpClient, UrlGuard, aget_client_by_session_id
from mcp_tools.stores import MemoryStore
from mcp_tools_fastapi import complete_oauth_handler, connect_handler
from tests.core.client import conftest as client_fixtures
from tests.core.client.conftest import AuthServer
from tests.support.servers import free_port, uvicorn_thread

# The real authorization server and MCP server of the core client tests.
oauth_as_installed = client_fixtures.oauth_as_installed
auth_server = client_fixtures.auth_server
mcp_server = client_fixtures.mcp_server

SECRET = "fastapi-client-views-test-secret"
GUARD = UrlGuard(allow_loopback=True)


@pytest.fixture(scope="module")
def web_app() -> Iterator[tuple[str, MemoryStore]]:
    store = MemoryStore()
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    app = FastAPI()
    app.add_api_route(
        "/connect",
        connect_handler(
            store,
            secret=SECRET,
            oauth_redirect_url=f"{base}/oauth/callback",
            mcp_client_name="fastapi-app",
            mcp_client_version="1.0",
            url_guard=GUARD,
        ),
        methods=["GET"],
    )

    async def connected(client: McpClient, request: FastAPIRequest) -> JSONResponse:
        return JSONResponse({"session_id": client.session_id})

    app.add_api_route(
        "/oauth/callback",
        complete_oauth_handler(store, connected, secret=SECRET, url_guard=GUARD),
        methods=["GET"],
    )

    @app.get("/notes")
    async def notes(session_id: str) -> Any:
        client = await aget_client_by_session_id(session_id=session_id, store=store, url_guard=GUARD)
        async with client.connect() as mcp:
            return (await mcp.call_tool("read_notes", {})).structured_content

    with uvicorn_thread(app, port):
        yield base, store


def browse_to_callback(browser: requests.Session, base: str, start: str) -> str:
    """Follow redirects from ``start`` (app, then authorization server) up to our callback URL."""
    url = start
    for _ in range(12):
        response = browser.get(url, allow_redirects=False, timeout=15)
        location = response.headers.get("location")
        assert location, f"{url}: {response.status_code} {response.text[:300]}"
        url = urljoin(url, location)
        if url.startswith(f"{base}/oauth/callback"):
            return url
    raise AssertionError("never reached the callback")


def test_connect_consent_callback_and_call(web_app: tuple[str, MemoryStore], mcp_server: str) -> None:
    base, _store = web_app
    browser = requests.Session()
    first = browser.get(
        f"{base}/connect", params={"mcp_endpoint": mcp_server}, allow_redirects=False, timeout=15
    )
    assert first.status_code == 303
    cookie = first.headers["set-cookie"]
    assert cookie.startswith(f"{BINDING_COOKIE}=")
    assert "HttpOnly" in cookie
    assert "SameSite=Lax" in cookie
    callback = browse_to_callback(browser, base, first.headers["location"])
    done = browser.get(callback, timeout=15)
    assert done.status_code == 200, done.text
    session_id = done.json()["session_id"]
    assert BINDING_COOKIE not in browser.cookies  # cleared after use
    notes = browser.get(f"{base}/notes", params={"session_id": session_id}, timeout=15)
    assert notes.status_code == 200
    assert isinstance(notes.json()["result"], list)


def test_callback_in_another_browser_is_refused(web_app: tuple[str, MemoryStore], mcp_server: str) -> None:
    base, store = web_app

    def authorized() -> int:
        return sum(1 for k in store.keys("session_") if "accessToken" in (store.read(k) or {}))

    before = authorized()
    victim_browser = requests.Session()
    attacker = requests.Session()
    first = attacker.get(
        f"{base}/connect", params={"mcp_endpoint": mcp_server}, allow_redirects=False, timeout=15
    )
    callback = browse_to_callback(attacker, base, first.headers["location"])
    refused = victim_browser.get(callback, timeout=15)  # the attacker's callback link, opened by a victim
    assert refused.status_code == 400
    assert refused.json()["code"] == "browser_mismatch"
    assert authorized() == before  # nothing was authorized
    replay = attacker.get(callback, timeout=15)  # and the state is spent now
    assert replay.status_code == 400
    assert replay.json()["code"] == "invalid_state"


def test_ts_bodies_and_access_denied(
    web_app: tuple[str, MemoryStore], mcp_server: str, auth_server: AuthServer
) -> None:
    base, _store = web_app
    assert requests.get(f"{base}/oauth/callback?code=x", timeout=5).json() == {"error": "State missing"}
    missing_code = requests.get(f"{base}/oauth/callback?state=x", timeout=5)
    assert missing_code.status_code == 400
    assert missing_code.json() == {"error": "Authorization code missing"}
    browser = requests.Session()
    first = browser.get(
        f"{base}/connect", params={"mcp_endpoint": mcp_server}, allow_redirects=False, timeout=15
    )
    auth_server.deny_next()
    denied = browser.get(browse_to_callback(browser, base, first.headers["location"]), timeout=15)
    assert denied.status_code == 403
    assert denied.json()["code"] == "consent_denied"


def test_connect_refuses_unsafe_urls(web_app: tuple[str, MemoryStore]) -> None:
    base, store = web_app
    before = set(store.keys())
    missing = requests.get(f"{base}/connect", timeout=5)
    assert missing.status_code == 400
    unsafe = requests.get(f"{base}/connect", params={"mcp_endpoint": "http://169.254.169.254/mcp"}, timeout=5)
    assert unsafe.status_code == 502
    assert unsafe.json()["code"] == "unsafe_url"
    assert set(store.keys()) == before
