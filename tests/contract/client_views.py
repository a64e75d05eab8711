"""The client-side views contract: connect, consent, callback, call a tool; and the refusals.

Each framework's test module subclasses :class:`ClientViewsContract` and provides the
``web_app`` fixture: ``(base_url, store)`` of a web app served on 127.0.0.1 with ``/connect``
(the adapter's ``connect_handler``; ``GET /connect-form`` shows its form with the framework's
anti-CSRF token, which is ``GET /connect`` itself where the adapter shows the form),
``/oauth/callback`` (its ``complete_oauth_handler``, whose callback answers
``{"session_id": ...}``) and ``/notes?session_id=`` (calls ``read_notes``).
A ``requests.Session`` plays the browser; oidc-provider and the FastAPI example MCP server are
the real peers (fixtures of the core client tests).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from urllib.parse import urljoin

import pytest
import requests

from mcp_tools.client import BINDING_COOKIE, UrlGuard
from mcp_tools.stores import MemoryStore
from tests.core.client import conftest as client_fixtures
from tests.core.client.conftest import AuthServer
from tests.core.client.test_negative import Stub
from tests.support.servers import free_port, uvicorn_thread

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


def form_fields(browser: requests.Session, base: str, mcp_url: str = "") -> dict[str, str]:
    """The hidden fields of the app's connect form (its anti-CSRF token), as a browser gets them."""
    page = browser.get(f"{base}/connect-form", params={"mcp_endpoint": mcp_url}, timeout=15)
    assert page.status_code == 200, page.text
    assert page.headers["content-type"].startswith("text/html")
    hidden = re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)"', page.text)
    assert hidden, page.text
    return dict(hidden)


def start(browser: requests.Session, base: str, mcp_url: str) -> requests.Response:
    """Submit the connect form as the user does: ``GET`` the form, ``POST`` it with its token."""
    data = {**form_fields(browser, base, mcp_url), "mcp_endpoint": mcp_url}
    return browser.post(f"{base}/connect", data=data, allow_redirects=False, timeout=15)


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
        missing = start(requests.Session(), base, "")
        assert missing.status_code == 400
        unsafe = start(requests.Session(), base, "http://169.254.169.254/mcp")
        assert unsafe.status_code == 502
        assert unsafe.json()["code"] == "unsafe_url"
        assert set(store.keys()) == before

    # -- issue 22 item 7: connecting is a POST under CSRF protection ---------------------------------

    def test_connect_get_starts_nothing(self, web_app: WebApp, mcp_server: str) -> None:
        """A link or an ``<img>`` on another site (``GET /connect?mcp_endpoint=...``) starts no
        connection: the form at most (``200``), or ``405``; nothing is stored, nothing redirected."""
        base, store = web_app
        before = set(store.keys())
        browser = requests.Session()
        got = browser.get(
            f"{base}/connect", params={"mcp_endpoint": mcp_server}, allow_redirects=False, timeout=15
        )
        assert got.status_code in (200, 405), got.text
        assert "location" not in got.headers
        assert BINDING_COOKIE not in browser.cookies
        if got.status_code == 200:  # the form, prefilled, not to be framed
            assert 'method="post"' in got.text
            assert got.headers["x-frame-options"] == "DENY"
        assert set(store.keys()) == before

    def test_cross_site_post_without_the_token_is_refused(self, web_app: WebApp, mcp_server: str) -> None:
        """Another site's auto-submitted form reaches ``/connect`` with the user's cookies but
        without the token of this browser (none, or the attacker's own): ``403``, nothing stored."""
        base, store = web_app
        before = set(store.keys())
        victim = requests.Session()
        form_fields(victim, base, mcp_server)  # the victim has used the app: its cookies are set
        evil = {"Origin": "https://evil.example", "Referer": "https://evil.example/page"}
        bare = victim.post(
            f"{base}/connect",
            data={"mcp_endpoint": mcp_server},
            headers=evil,
            allow_redirects=False,
            timeout=15,
        )
        assert bare.status_code == 403, bare.text
        no_origin = victim.post(
            f"{base}/connect", data={"mcp_endpoint": mcp_server}, allow_redirects=False, timeout=15
        )
        assert no_origin.status_code == 403, no_origin.text
        attacker_fields = form_fields(requests.Session(), base, mcp_server)  # valid for the attacker only
        borrowed = victim.post(
            f"{base}/connect",
            data={**attacker_fields, "mcp_endpoint": mcp_server},
            allow_redirects=False,
            timeout=15,
        )
        assert borrowed.status_code == 403, borrowed.text
        assert BINDING_COOKIE not in victim.cookies
        assert set(store.keys()) == before

    # -- an unsafe authorization endpoint is an error page, never a redirect (issue 22, item 5) --

    @pytest.fixture
    def hostile_mcp(self) -> Iterator[Stub]:
        """A scripted MCP server whose authorization server metadata the test rewrites."""
        stub = Stub()
        with uvicorn_thread(stub, free_port()) as base:
            stub.base = base
            yield stub

    @pytest.mark.parametrize(
        "endpoint",
        [
            "javascript:alert(document.cookie)",
            "data:text/html,<script>alert(document.cookie)</script>",
            "http://as.example.test/authorize",
        ],
    )
    def test_connect_refuses_an_unsafe_authorization_endpoint(
        self, web_app: WebApp, hostile_mcp: Stub, endpoint: str
    ) -> None:
        base, _store = web_app
        hostile_mcp.healthy()
        metadata = hostile_mcp.as_metadata(authorization_endpoint=endpoint)
        hostile_mcp.routes["/.well-known/oauth-authorization-server/as"] = (200, {}, metadata)
        response = start(requests.Session(), base, f"{hostile_mcp.base}/mcp")
        assert response.status_code == 502, (response.status_code, response.headers.get("location"))
        assert "location" not in response.headers
        assert response.json()["code"] == "unsafe_url"
        assert "authorization_endpoint" in response.json()["message"]

    def test_connect_redirects_to_an_https_authorization_endpoint(
        self, web_app: WebApp, hostile_mcp: Stub
    ) -> None:
        base, _store = web_app
        hostile_mcp.healthy()
        metadata = hostile_mcp.as_metadata(authorization_endpoint="https://as.example.test/authorize")
        hostile_mcp.routes["/.well-known/oauth-authorization-server/as"] = (200, {}, metadata)
        response = start(requests.Session(), base, f"{hostile_mcp.base}/mcp")
        assert response.status_code == 303, response.text
        assert response.headers["location"].startswith("https://as.example.test/authorize?")
