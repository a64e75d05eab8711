"""Secrets never reach the logs or error bodies.

Every log record of every logger is captured at DEBUG (root logger plus the non-propagating
uvicorn loggers) while a full flow runs: the dev authorization server, dynamic registration,
consent, the callback, tool calls with the stored grant, a forced refresh, and MCP requests with
valid, forged and expired tokens through every adapter. Then the text of all records (message,
arguments and tracebacks) is searched for every access token, refresh token, authorization code,
PKCE verifier, client secret and browser binding of the run.

The only records left out are the test clients' own request lines (``HTTP Request: GET
http://127.0.0.1:8765/oauth/callback?code=...`` from the browser, ``POST
https://api.example.com/mcp?access_token=...`` from a misbehaving MCP client): that is the
client's address bar, not something the app logged.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import pytest

from mcp_tools.client import BINDING_COOKIE, aget_client_by_session_id
from mcp_tools.server.verifiers.introspection import IntrospectionVerifier
from mcp_tools.stores import MemoryStore
from tests.contract.spec import BASE_SCOPE, ORIGIN, RESOURCE, mint
from tests.contract.suite import MCP_PATH, forge, mcp_headers, rpc, tool_call_body

from .adapters import ADAPTERS, open_adapter
from .conftest import Collector
from .flow import APP, GUARD, browsers, mcp_stack

#: Base URLs the test clients (the browser, the contract clients) request: their request lines
#: are the client's own address bar, not something the app logged.
CLIENT_URLS = (APP, ORIGIN)
EXTRA_LOGGERS = ("uvicorn", "uvicorn.error", "uvicorn.access", "httpx2", "httpx", "urllib3")


@pytest.fixture
def everything() -> Iterator[Collector]:
    collector = Collector(logging.DEBUG)
    loggers = [logging.getLogger(), *(logging.getLogger(name) for name in EXTRA_LOGGERS)]
    levels = [logger.level for logger in loggers]
    for logger in loggers:
        logger.addHandler(collector)
        logger.setLevel(logging.DEBUG)
    try:
        yield collector
    finally:
        for logger, level in zip(loggers, levels, strict=True):
            logger.removeHandler(collector)
            logger.setLevel(level)


def app_log(collector: Collector) -> str:
    """All captured text except the test browser's own request lines."""
    kept = [
        record
        for record in collector.records
        if not (record.name.startswith("httpx") and any(url in record.getMessage() for url in CLIENT_URLS))
    ]
    return Collector.render(kept)


def record_of(store: MemoryStore, key: str) -> dict[str, Any]:
    record = store.read(key)
    assert isinstance(record, dict), key
    return record


def assert_absent(secrets: dict[str, str], text: str) -> None:
    for name, value in secrets.items():
        assert value, name
        assert value not in text, f"{name} appears in the output"


@pytest.mark.anyio
async def test_full_client_flow_leaks_no_secret(everything: Collector) -> None:
    store = MemoryStore()
    secrets: dict[str, str] = {}
    bodies: list[str] = []
    with mcp_stack(access_token_ttl=120) as (_auth, mcp_url), browsers(store, 2) as (browser, other):
        target = browser.start(mcp_url)
        params = dict(parse_qsl(urlsplit(target).query))
        secrets["authorization code"] = params["code"]
        secrets["PKCE verifier"] = str(store.read(f"pkce_verifier_{params['state']}"))
        secrets["browser binding"] = browser.saved_cookies[BINDING_COOKIE]
        # refused first: another browser, then a wrong iss (the state is spent by each refusal)
        bodies.append(other.callback(target).text)
        second = browser.start(mcp_url)
        bodies.append(browser.callback(second.replace("iss=", "iss=x")).text)
        third = browser.start(mcp_url)
        done = browser.callback(third)
        assert done.status_code == 200, done.text
        session_id = done.json()["session_id"]
        record = record_of(store, f"session_{session_id}")
        secrets["access token"] = record["accessToken"]
        secrets["refresh token"] = record["refreshToken"]
        if record.get("clientSecret"):
            secrets["client secret"] = record["clientSecret"]

        client = await aget_client_by_session_id(session_id=session_id, store=store, url_guard=GUARD)
        async with client.connect() as mcp:
            assert (await mcp.call_tool("whoami", {})).content
        # force a refresh: the stored token "expires" now
        record = record_of(store, f"session_{session_id}")
        record["expiresAt"] = time.time() - 1
        store.write(f"session_{session_id}", record)
        async with client.connect() as mcp:
            assert (await mcp.call_tool("echo", {"text": "after refresh"})).content
        refreshed = record_of(store, f"session_{session_id}")
        assert refreshed["accessToken"] != secrets["access token"]
        secrets["refreshed access token"] = refreshed["accessToken"]
        if refreshed.get("refreshToken") and refreshed["refreshToken"] != secrets["refresh token"]:
            secrets["rotated refresh token"] = refreshed["refreshToken"]

    text = app_log(everything)
    assert "HTTP Request" in text or "POST" in text  # DEBUG/INFO output really was captured
    assert_absent(secrets, text)
    assert_absent(secrets, "\n".join(bodies))


@pytest.mark.parametrize("kind", ADAPTERS)
def test_mcp_requests_leak_no_token(everything: Collector, kind: str) -> None:
    tokens = {
        "valid": mint(sub="hygiene", scope=BASE_SCOPE),
        "expired": forge("expired"),
        "wrong key": forge("wrong-key"),
        "tampered": forge("tampered"),
        "other audience": mint(aud="https://other.example.com/mcp"),
        "missing scope": mint(scope="profile"),
    }
    bodies: list[str] = []
    with open_adapter(kind) as client:
        for token in tokens.values():
            for body in (rpc("tools/list"), tool_call_body("write_note", {"text": "x"})):
                result = client.request("POST", MCP_PATH, headers=mcp_headers(token), body=body)
                bodies.append(result.body.decode("utf-8", "replace"))
                bodies.extend(result.headers.values())
            query = client.request(
                "POST", f"{MCP_PATH}?access_token={token}", headers=mcp_headers(), body=rpc("tools/list")
            )
            bodies.append(query.body.decode("utf-8", "replace"))
            bodies.extend(query.headers.values())
    assert_absent(tokens, app_log(everything))
    assert_absent(tokens, "\n".join(bodies))


@pytest.mark.parametrize("kind", ["fastapi", "flask"])
def test_verifier_failures_leak_neither_token_nor_client_secret(everything: Collector, kind: str) -> None:
    secret = "introspection-client-secret-value"
    verifier = IntrospectionVerifier(
        introspection_endpoint="http://127.0.0.1:9/introspect",  # discard port: refused
        client_id="rs",
        client_secret=secret,
        audience=RESOURCE,
        timeout=1.0,
    )
    token = mint(sub="hygiene")
    with open_adapter(kind, verifier=verifier) as client:
        result = client.request("POST", MCP_PATH, headers=mcp_headers(token), body=rpc("tools/list"))
    assert result.status == 503
    text = app_log(everything)
    assert "unavailable" in text.lower()  # the failure was logged...
    assert_absent({"token": token, "client secret": secret}, text + result.body.decode())  # ...safely
