"""The client-side views contract: connect, consent, callback, call a tool; and the refusals.

Each framework's test module subclasses :class:`ClientViewsContract` and provides the
``web_app`` fixture: ``(base_url, store)`` of a web app served on 127.0.0.1 with ``/connect``
(the adapter's ``connect_handler``), ``/oauth/callback`` (its ``complete_oauth_handler``, whose
callback answers ``{"session_id": ...}``) and ``/notes?session_id=`` (calls ``read_notes``).
A ``requests.Session`` plays the browser; oidc-provider and the FastAPI example MCP server are
the real peers (fixtures of the core client tests).
"""

from __future__ import annotations

from urllib.parse import urljoin

import requests

from mcp_tools.client import BINDING_COOKIE, UrlGuard
from mcp_tools.stores import MemoryStore
from tests.core.client import conftest as client_fixtures
from tests.core.client.conftest import AuthServer

SECRET = "client-views-contract-test-secret"
GUARD = UrlGuard(allow_loopback=True)
WebApp = tuple[str, MemoryStore]

# The real authorization server and MCP server of the core client tests.
oauth_as_installed = client_fixtures.oauth_as_installed
auth_server = client_fixtures.auth_server
mcp_server = client_fixtures.mcp_server


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


def start(browser: requests.Session, base: str, mcp_url: str) -> requests.Response:
    return browser.get(f"{base}/connect", params={"mcp_endpoint": mcp_url}, allow_redirects=False, timeout=15)


class ClientViewsContract:
    """Subclass and provide the ``web_app`` fixture."""

    def test_connect_consent_callback_and_call(self, web_app: WebApp, mcp_server: str) -> None:
        base, _store = web_app
        browser = requests.Session()
        first = start(browser, base, mcp_server)
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

    def test_callback_in_another_browser_is_refused(self, web_app: WebApp, mcp_server: str) -> None:
        base, store = web_app

        def authorized() -> int:
            return sum(1 for k in store.keys("session_") if "accessToken" in (store.read(k) or {}))  # type: ignore[operator]

        before = authorized()
        victim_browser = requests.Session()
        attacker = requests.Session()
        first = start(attacker, base, mcp_server)
        callback = browse_to_callback(attacker, base, first.headers["location"])
        refused = victim_browser.get(callback, timeout=15)  # the attacker's link, opened by a victim
        assert refused.status_code == 400
        assert refused.json()["code"] == "browser_mismatch"
        assert authorized() == before  # nothing was authorized
        replay = attacker.get(callback, timeout=15)  # and the state is spent now
        assert replay.status_code == 400
        assert replay.json()["code"] == "invalid_state"

    def test_ts_bodies_and_access_denied(
        self, web_app: WebApp, mcp_server: str, auth_server: AuthServer
    ) -> None:
        base, _store = web_app
        assert requests.get(f"{base}/oauth/callback?code=x", timeout=5).json() == {"error": "State missing"}
        missing_code = requests.get(f"{base}/oauth/callback?state=x", timeout=5)
        assert missing_code.status_code == 400
        assert missing_code.json() == {"error": "Authorization code missing"}
        browser = requests.Session()
        first = start(browser, base, mcp_server)
        auth_server.deny_next()
        denied = browser.get(browse_to_callback(browser, base, first.headers["location"]), timeout=15)
        assert denied.status_code == 403
        assert denied.json()["code"] == "consent_denied"

    def test_connect_refuses_unsafe_urls(self, web_app: WebApp) -> None:
        base, store = web_app
        before = set(store.keys())
        missing = requests.get(f"{base}/connect", timeout=5)
        assert missing.status_code == 400
        unsafe = requests.get(
            f"{base}/connect", params={"mcp_endpoint": "http://169.254.169.254/mcp"}, timeout=5
        )
        assert unsafe.status_code == 502
        assert unsafe.json()["code"] == "unsafe_url"
        assert set(store.keys()) == before
