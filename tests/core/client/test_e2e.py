"""End to end: our client, npm oidc-provider as the authorization server, our FastAPI MCP server.

The flow is split the way a web app splits it: leg 1 here, the callback in another process, tool
calls in further processes ("restarts"), all sharing one Redis or PostgreSQL store.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
import time
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urljoin, urlsplit

import anyio
import pytest
import requests

from mcp_tools.client import (
    AuthorizationRequired,
    ConsentDenied,
    InsufficientScope,
    InvalidState,
    acomplete_auth_with_code,
    acreate_dynamically_registered_mcp_client,
    aget_client_by_session_id,
    complete_auth_with_code,
    create_dynamically_registered_mcp_client,
    create_known_credentials_mcp_client,
    get_client_by_session_id,
    handle_oauth_callback,
)
from mcp_tools.http import Request
from mcp_tools.stores import BaseStore

from .conftest import GUARD, REDIRECT, AuthServer, SharedStore, consent, run_auth_server

ROOT = Path(__file__).resolve().parents[3]


def in_process(job: dict[str, Any]) -> dict[str, Any]:
    """Run one job of ``_proc.py`` in a fresh Python process (bounded)."""
    result = subprocess.run(
        [sys.executable, "-m", "tests.core.client._proc", json.dumps(job)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    return dict(json.loads(result.stdout.strip().splitlines()[-1]))


def start(store: BaseStore, mcp_server: str, **options: Any) -> Any:
    return create_dynamically_registered_mcp_client(
        mcp_endpoint=mcp_server,
        oauth_redirect_url=REDIRECT,
        mcp_client_name="e2e-app",
        mcp_client_version="1.0",
        store=store,
        url_guard=GUARD,
        **options,
    )


def test_callback_and_calls_in_other_processes_with_refresh_and_restart(
    shared_store: SharedStore, auth_server: AuthServer, mcp_server: str
) -> None:
    store = shared_store.open()
    job = {"kind": shared_store.kind, "url": shared_store.url, "namespace": shared_store.namespace}
    client = start(store, mcp_server)
    assert client.authorization_url.startswith(f"{auth_server.issuer}/auth?")
    query = parse_qs(urlsplit(client.authorization_url).query)
    assert query["code_challenge_method"] == ["S256"]
    assert query["resource"] == [mcp_server]
    assert query["scope"] == ["notes:read offline_access"]
    assert set(store.keys()) >= {
        f"state_{client.state}",
        f"pkce_verifier_{client.state}",
        f"session_{client.session_id}",
    }

    callback = consent(client.authorization_url)
    assert callback["iss"] == auth_server.issuer
    done = in_process({**job, "command": "complete", **callback, "binding": client.browser_binding})
    assert done == {"session_id": client.session_id}
    assert store.read(f"state_{client.state}") is None  # single use: consumed
    assert store.read(f"pkce_verifier_{client.state}") is None
    record = store.read(f"session_{client.session_id}")
    assert record["authComplete"] is True
    assert record["tokenType"] == "Bearer"
    assert record["expiresAt"] > time.time()
    assert record["tokenResponse"]["expires_in"] == 3
    assert record["tokenResponse"]["scope"]
    assert record["refreshToken"]
    assert record["pendingAuth"] == {}

    before = auth_server.stats()["refresh_token"]
    calls = in_process(
        {
            **job,
            "command": "call",
            "session_id": client.session_id,
            "calls": ["read_notes", "read_notes"],
            "wait_for_expiry": True,
        }
    )
    assert "error_code" not in calls, calls
    assert [r["is_error"] for r in calls["results"]] == [False, False]
    assert isinstance(calls["results"][0]["structured"]["result"], list)
    refreshed = [r["refreshed"] for r in calls["results"]]
    assert refreshed[1] is True  # the token had expired before the second call
    # Exactly one refresh per refreshing call (the first may refresh too when the process started late).
    assert auth_server.stats()["refresh_token"] == before + sum(refreshed)
    rotated = store.read(f"session_{client.session_id}")
    assert rotated["refreshToken"] != record["refreshToken"]  # rotation persisted
    assert rotated["accessToken"] != record["accessToken"]

    again = in_process({**job, "command": "call", "session_id": client.session_id, "calls": ["read_notes"]})
    assert again["results"][0]["is_error"] is False, again  # a "restarted" process, same stored session

    with pytest.raises(InvalidState):  # the callback replayed: state was single-use
        complete_auth_with_code(
            store=store, browser_binding=client.browser_binding, url_guard=GUARD, **callback
        )
    store.close()


@pytest.mark.anyio
async def test_async_forms_step_up_and_refresh_on_401(
    memory_store: BaseStore, auth_server: AuthServer, mcp_server: str
) -> None:
    client = await acreate_dynamically_registered_mcp_client(
        mcp_endpoint=mcp_server,
        oauth_redirect_url=REDIRECT,
        mcp_client_name="async-app",
        mcp_client_version="1.0",
        store=memory_store,
        url_guard=GUARD,
    )
    callback = await anyio.to_thread.run_sync(consent, client.authorization_url)
    done = await acomplete_auth_with_code(
        store=memory_store, browser_binding=client.browser_binding, url_guard=GUARD, **callback
    )
    session = await aget_client_by_session_id(session_id=done.session_id, store=memory_store, url_guard=GUARD)
    async with session.connect() as mcp:
        assert (await mcp.call_tool("read_notes", {})).is_error is False

    with pytest.raises(InsufficientScope) as info:
        async with session.connect() as mcp:
            await mcp.call_tool("add_note", {"text": "needs write"})
    assert "notes:write" in (info.value.scope or "")
    url = await session.astart_authorization(scope=info.value.scope)
    assert url is not None
    assert "notes:read" in parse_qs(urlsplit(url).query)["scope"][0].split()  # union with the earlier scopes
    callback = await anyio.to_thread.run_sync(consent, url)
    await acomplete_auth_with_code(
        store=memory_store, browser_binding=session.browser_binding, url_guard=GUARD, **callback
    )
    async with session.connect() as mcp:
        saved = await mcp.call_tool("add_note", {"text": "after step-up"})
        assert saved.is_error is False

    # A token the server rejects (401) although it looks valid: refreshed once, request retried.
    before = auth_server.stats()["refresh_token"]
    memory_store.update(f"session_{session.session_id}", lambda r: {**r, "accessToken": "not-a-valid-token"})
    async with session.connect() as mcp:
        assert (await mcp.call_tool("read_notes", {})).is_error is False
    assert auth_server.stats()["refresh_token"] == before + 1


@pytest.mark.anyio
async def test_concurrent_requests_refresh_only_once(
    shared_store: SharedStore, auth_server: AuthServer, mcp_server: str
) -> None:
    store = shared_store.open()
    client = start(store, mcp_server)
    callback = await anyio.to_thread.run_sync(consent, client.authorization_url)
    await acomplete_auth_with_code(
        store=store, browser_binding=client.browser_binding, url_guard=GUARD, **callback
    )
    store.update(f"session_{client.session_id}", lambda r: {**r, "expiresAt": time.time() - 1})
    before = auth_server.stats()["refresh_token"]
    results: list[bool] = []

    async def call() -> None:
        own = await aget_client_by_session_id(
            session_id=client.session_id, store=shared_store.open(), url_guard=GUARD
        )
        async with own.connect() as mcp:
            results.append((await mcp.call_tool("read_notes", {})).is_error is False)

    async with anyio.create_task_group() as group:
        for _ in range(5):
            group.start_soon(call)
    assert results == [True] * 5
    # A rotating refresh token spent twice would revoke the grant; the lock makes it one refresh.
    assert auth_server.stats()["refresh_token"] == before + 1
    store.close()


def test_refused_refresh_token_requires_authorization(
    memory_store: BaseStore, auth_server: AuthServer, mcp_server: str
) -> None:
    client = start(memory_store, mcp_server)
    complete_auth_with_code(
        store=memory_store,
        browser_binding=client.browser_binding,
        url_guard=GUARD,
        **consent(client.authorization_url),
    )
    memory_store.update(
        f"session_{client.session_id}", lambda r: {**r, "expiresAt": time.time() - 1, "refreshToken": "bogus"}
    )
    session = get_client_by_session_id(session_id=client.session_id, store=memory_store, url_guard=GUARD)
    with pytest.raises(AuthorizationRequired) as info:
        session.call_tool_sync("read_notes")
    assert info.value.reason == "refresh_failed"
    assert "bogus" not in str(info.value)
    record = memory_store.read(f"session_{client.session_id}")
    assert record["authComplete"] is False
    assert "accessToken" not in record
    assert "refreshToken" not in record
    url = session.start_authorization()  # and the way back is a new authorization
    assert url is not None
    complete_auth_with_code(
        store=memory_store, browser_binding=session.browser_binding, url_guard=GUARD, **consent(url)
    )
    assert session.call_tool_sync("read_notes").is_error is False


def test_dynamic_registration_is_reused(
    memory_store: BaseStore, auth_server: AuthServer, mcp_server: str
) -> None:
    before = auth_server.stats()["registrations"]
    first = start(memory_store, mcp_server)
    second = start(memory_store, mcp_server)
    assert auth_server.stats()["registrations"] == before + 1
    client_ids = {parse_qs(urlsplit(c.authorization_url).query)["client_id"][0] for c in (first, second)}
    assert len(client_ids) == 1
    start(memory_store, mcp_server, oauth_client_name="another app")  # other metadata: its own registration
    assert auth_server.stats()["registrations"] == before + 2


def test_known_credentials(memory_store: BaseStore, auth_server: AuthServer, mcp_server: str) -> None:
    registered = requests.post(
        f"{auth_server.issuer}/reg",
        json={
            "redirect_uris": [REDIRECT],
            "grant_types": ["authorization_code", "refresh_token"],
            "response_types": ["code"],
            "client_name": "pre-registered",
        },
        timeout=10,
    ).json()
    before = auth_server.stats()["registrations"]
    client = create_known_credentials_mcp_client(
        client_id=registered["client_id"],
        client_secret=registered["client_secret"],
        oauth_redirect_url=REDIRECT,
        mcp_endpoint=mcp_server,
        mcp_client_name="known",
        mcp_client_version="1.0",
        store=memory_store,
        url_guard=GUARD,
    )
    assert parse_qs(urlsplit(client.authorization_url).query)["client_id"] == [registered["client_id"]]
    done = complete_auth_with_code(
        store=memory_store,
        browser_binding=client.browser_binding,
        url_guard=GUARD,
        **consent(client.authorization_url),
    )
    assert done.call_tool_sync("read_notes").is_error is False
    assert auth_server.stats()["registrations"] == before
    record = memory_store.read(f"session_{client.session_id}")
    assert record["clientId"] == registered["client_id"]
    assert record["tokenEndpointAuthMethod"] == "client_secret_basic"


def test_access_denied(memory_store: BaseStore, auth_server: AuthServer, mcp_server: str) -> None:
    client = start(memory_store, mcp_server)
    auth_server.deny_next()
    callback = consent(client.authorization_url)
    assert callback["error"] == "access_denied"
    with pytest.raises(ConsentDenied, match="did not grant access"):
        complete_auth_with_code(
            store=memory_store,
            browser_binding=client.browser_binding,
            url_guard=GUARD,
            state=callback["state"],
            code=None,
            iss=callback.get("iss"),
            error=callback["error"],
        )
    record = memory_store.read(f"session_{client.session_id}")
    assert "accessToken" not in record
    assert not record.get("authComplete")

    again = start(memory_store, mcp_server)  # the neutral callback view answers 403 with a clear body
    auth_server.deny_next()
    params = consent(again.authorization_url)
    url = REDIRECT + "?" + "&".join(f"{k}={requests.utils.quote(v)}" for k, v in params.items())
    outcome = handle_oauth_callback(
        Request("GET", url), memory_store, browser_binding=again.browser_binding, url_guard=GUARD
    )
    assert outcome.client is None
    assert outcome.response is not None
    assert outcome.response.status == 403
    assert outcome.response.json()["code"] == "consent_denied"


def _submit_form(browser: requests.Session, url: str, html: str, **fields: str) -> str:
    action = re.search(r'<form[^>]*action="([^"]+)"', html)
    assert action, html[:500]
    data = dict(re.findall(r'<input[^>]*type="hidden"[^>]*name="([^"]+)"[^>]*value="([^"]*)"', html))
    data.update(fields)
    response = browser.post(urljoin(url, action.group(1)), data=data, allow_redirects=False, timeout=10)
    assert response.status_code in (302, 303), response.text[:300]
    return urljoin(url, response.headers["location"])


def test_login_and_consent_forms(oauth_as_installed: Path, memory_store: BaseStore) -> None:
    """The dev-interactions mode: real HTML login and consent forms, submitted like a browser."""
    from examples.fastapi.app import create_app
    from tests.support.servers import free_port, uvicorn_thread

    with run_auth_server(oauth_as_installed, AS_ACCESS_TOKEN_TTL="60") as forms_server:
        port = free_port()
        resource = f"http://127.0.0.1:{port}/mcp"
        app = create_app(
            issuer=forms_server.issuer, resource_url=resource, jwks_uri=f"{forms_server.issuer}/jwks"
        )
        with uvicorn_thread(app, port):
            client = start(memory_store, resource)
            browser = requests.Session()
            url = client.authorization_url
            forms = 0
            for _ in range(12):
                response = browser.get(url, allow_redirects=False, timeout=10)
                if response.status_code == 200:  # a form: log in as "bob", then consent
                    fields = {"login": "bob", "password": "any"} if 'name="login"' in response.text else {}
                    url = _submit_form(browser, url, response.text, **fields)
                    forms += 1
                    continue
                location = urljoin(url, response.headers["location"])
                if location.startswith(REDIRECT):
                    break
                url = location
            assert forms == 2
            callback = {k: v[0] for k, v in parse_qs(urlsplit(location).query).items()}
            done = complete_auth_with_code(
                store=memory_store, browser_binding=client.browser_binding, url_guard=GUARD, **callback
            )
            result = done.call_tool_sync("read_notes")
            assert result.is_error is False
            record = memory_store.read(f"session_{client.session_id}")
            import base64

            payload = record["accessToken"].split(".")[1]
            claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
            assert claims["sub"] == "bob"
            assert claims["aud"] == resource  # the token is bound to this resource
