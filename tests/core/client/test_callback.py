"""The framework-neutral callback handler and the browser-binding cookie."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from mcp_tools.client import (
    BINDING_COOKIE,
    McpClient,
    ahandle_oauth_callback,
    authorization_redirect,
    handle_oauth_callback,
    read_browser_binding,
    sign_browser_binding,
    verify_browser_binding,
)
from mcp_tools.http import Headers, Request
from mcp_tools.stores import BaseStore

SECRET = "a-test-secret-of-enough-length"
VECTORS = Path(__file__).resolve().parents[4] / "shared" / "reference" / "ts-vectors.json"


def ts_callback_vectors() -> list[Any]:
    if not VECTORS.exists():
        return []
    vectors = json.loads(VECTORS.read_text())
    return [
        pytest.param(v, id=v["input"]["url"].split("?", 1)[-1])
        for v in vectors
        if v["fn"] == "next.completeOAuthHandler" and "status" in v["output"]
    ]


@pytest.mark.parametrize("vector", ts_callback_vectors())
def test_ts_400_bodies(memory_store: BaseStore, vector: dict[str, Any]) -> None:
    outcome = handle_oauth_callback(
        Request("GET", vector["input"]["url"]), memory_store, browser_binding=None
    )
    assert outcome.client is None
    assert outcome.response is not None
    if "error=access_denied" in vector["input"]["url"]:
        # TS reported "Authorization code missing"; we handle the error (unknown state here).
        assert outcome.response.status == 400
        assert outcome.response.json()["code"] == "invalid_state"
        return
    assert outcome.response.status == vector["output"]["status"]
    assert outcome.response.json() == vector["output"]["body"]
    assert outcome.response.header("content-type") == "application/json"


def test_unknown_state_is_a_clear_400_not_a_crash(memory_store: BaseStore) -> None:
    url = "https://app.example.com/oauth_callback?code=xyz&state=unknown"
    outcome = handle_oauth_callback(Request("GET", url), memory_store, browser_binding=None)
    assert outcome.response is not None
    assert outcome.response.status == 400
    body = outcome.response.json()
    assert body["error"] == "Invalid state"
    assert body["code"] == "invalid_state"
    assert "start the connection again" in body["message"].lower()
    assert memory_store.keys() == []


@pytest.mark.anyio
async def test_async_handler_same_answers(memory_store: BaseStore) -> None:
    missing = await ahandle_oauth_callback(
        Request("GET", "https://a.example/cb?code=1"), memory_store, browser_binding=None
    )
    assert missing.response is not None
    assert missing.response.json() == {"error": "State missing"}
    unknown = await ahandle_oauth_callback(
        Request("GET", "https://a.example/cb?code=1&state=s"), memory_store, browser_binding=None
    )
    assert unknown.response is not None
    assert unknown.response.json()["code"] == "invalid_state"


def test_binding_signature_round_trip_and_tampering() -> None:
    signed = sign_browser_binding("abc", SECRET)
    assert verify_browser_binding(signed, SECRET) == "abc"
    assert verify_browser_binding(signed, SECRET + "x") is None
    assert verify_browser_binding("abd" + signed[3:], SECRET) is None
    assert verify_browser_binding(signed + "x", SECRET) is None
    assert verify_browser_binding("", SECRET) is None
    assert verify_browser_binding(None, SECRET) is None
    with pytest.raises(ValueError, match="16 bytes"):
        sign_browser_binding("abc", "short")


def test_read_binding_from_cookie_header() -> None:
    signed = sign_browser_binding("b1", SECRET)
    request = Request(
        "GET", "https://a.example/cb", Headers([("Cookie", f"other=1; {BINDING_COOKIE}={signed}")])
    )
    assert read_browser_binding(request, SECRET) == "b1"
    assert (
        read_browser_binding(
            Request("GET", "https://a.example/cb", Headers([("Cookie", "garbage;;==")])), SECRET
        )
        is None
    )


def test_authorization_redirect_sets_a_safe_cookie(memory_store: BaseStore) -> None:
    client = McpClient(
        "sid",
        memory_store,
        client_data={"oauthRedirectUrl": "https://app.example/cb"},
        authorization_url="https://as.example/authorize?x=1",
        state="st",
        browser_binding="bb",
    )
    response = authorization_redirect(client, SECRET)
    assert response.status == 303
    assert response.header("location") == "https://as.example/authorize?x=1"
    cookie = response.header("set-cookie") or ""
    assert cookie.startswith(f"{BINDING_COOKIE}={sign_browser_binding('bb', SECRET)};")
    for attribute in ("HttpOnly", "SameSite=Lax", "Secure", "Max-Age=600", "Path=/"):
        assert attribute in cookie
    with pytest.raises(ValueError, match="no authorization"):
        authorization_redirect(McpClient("sid", memory_store), SECRET)
