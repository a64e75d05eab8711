"""Callback tampering through the FastAPI client views, against the dev authorization server.

Every tampered callback is refused with a JSON answer naming the cause, and nothing is written
to the store: no new key, no changed record (the attempt's ``state_``/``pkce_verifier_`` entries
are consumed, which is the point: a refused state can never be replayed).
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mcp_tools.client import BINDING_COOKIE, sign_browser_binding
from mcp_tools.devserver import RunningServer
from mcp_tools.stores import MemoryStore

from .flow import SECRET, Browser, browsers, mcp_stack


@pytest.fixture(scope="module")
def stack() -> Iterator[tuple[RunningServer, str]]:
    with mcp_stack() as running:
        yield running


@pytest.fixture
def store() -> MemoryStore:
    return MemoryStore()


@pytest.fixture
def two(store: MemoryStore) -> Iterator[list[Browser]]:
    with browsers(store, 2) as pair:
        yield pair


def snapshot(store: MemoryStore) -> dict[str, Any]:
    return {key: store.read(key) for key in store.keys()}  # noqa: SIM118 - a store, not a dict


def unchanged_but_consumed(before: dict[str, Any], after: dict[str, Any]) -> None:
    """No key added, none changed; only the attempt's state and verifier may be gone."""
    assert set(after) <= set(before), sorted(set(after) - set(before))
    for key, value in after.items():
        assert before[key] == value, key
    for key in set(before) - set(after):
        assert key.startswith(("state_", "pkce_verifier_")), key


def with_params(target: str, **changes: str | None) -> str:
    parts = urlsplit(target)
    params = dict(parse_qsl(parts.query, keep_blank_values=True))
    for name, value in changes.items():
        if value is None:
            params.pop(name, None)
        else:
            params[name] = value
    return f"{parts.path}?{urlencode(params)}"


def refused(response: Any, status: int, code: str) -> None:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/json")
    assert response.json()["code"] == code
    assert response.headers.get("cache-control") == "no-store"


def test_missing_state_and_missing_code_keep_the_ts_bodies(
    stack: tuple[RunningServer, str], two: list[Browser], store: MemoryStore
) -> None:
    target = two[0].start(stack[1])
    before = snapshot(store)
    missing_state = two[0].callback(with_params(target, state=None))
    assert missing_state.status_code == 400
    assert missing_state.json() == {"error": "State missing"}
    missing_code = two[0].callback(with_params(target, code=None))
    assert missing_code.status_code == 400
    assert missing_code.json() == {"error": "Authorization code missing"}
    assert snapshot(store) == before  # refused before the store is touched


def test_unknown_state(stack: tuple[RunningServer, str], two: list[Browser], store: MemoryStore) -> None:
    target = two[0].start(stack[1])
    before = snapshot(store)
    refused(two[0].callback(with_params(target, state="made-up-state")), 400, "invalid_state")
    assert snapshot(store) == before


def test_replayed_state_after_success(
    stack: tuple[RunningServer, str], two: list[Browser], store: MemoryStore
) -> None:
    target = two[0].start(stack[1])
    assert two[0].callback(target).status_code == 200
    before = snapshot(store)
    refused(two[0].callback(target), 400, "invalid_state")
    assert snapshot(store) == before


def test_expired_state(stack: tuple[RunningServer, str], store: MemoryStore) -> None:
    with browsers(store, 1, state_ttl=1.0) as (browser,):
        target = browser.start(stack[1])
        before = snapshot(store)
        time.sleep(1.3)
        refused(browser.callback(target), 400, "invalid_state")
        unchanged_but_consumed(before, snapshot(store))


def test_state_from_another_browser(
    stack: tuple[RunningServer, str], two: list[Browser], store: MemoryStore
) -> None:
    attacker, victim = two
    target = attacker.start(stack[1])
    before = snapshot(store)
    refused(victim.callback(target), 400, "browser_mismatch")
    unchanged_but_consumed(before, snapshot(store))
    refused(attacker.callback(target), 400, "invalid_state")  # spent by the refusal


def test_forged_binding_cookie(
    stack: tuple[RunningServer, str], two: list[Browser], store: MemoryStore
) -> None:
    attacker, victim = two
    target = attacker.start(stack[1])
    binding = attacker.web.cookies.get(BINDING_COOKIE)
    assert binding
    raw = binding.rsplit(".", 1)[0]
    before = snapshot(store)
    # the right binding, signed with a guessed secret; then a bare binding without signature
    for forged in (sign_browser_binding(raw, "guessed-secret-guessed-secret"), raw):
        victim.web.cookies.set(BINDING_COOKIE, forged)
        refused(victim.callback(target), 400, "browser_mismatch" if forged != raw else "invalid_state")
        unchanged_but_consumed(before, snapshot(store))
    assert sign_browser_binding(raw, SECRET) == binding  # the genuine cookie was what we think


@pytest.mark.parametrize(
    ("error", "status", "code"),
    [("access_denied", 403, "consent_denied"), ("server_error", 400, "authorization_failed")],
)
def test_error_responses(
    stack: tuple[RunningServer, str],
    two: list[Browser],
    store: MemoryStore,
    error: str,
    status: int,
    code: str,
) -> None:
    target = two[0].start(stack[1])
    before = snapshot(store)
    tampered = with_params(target, code=None, error=error, error_description="<script>x</script>")
    response = two[0].callback(tampered)
    refused(response, status, code)
    assert "<script>" not in response.headers["content-type"]
    unchanged_but_consumed(before, snapshot(store))


@pytest.mark.parametrize("iss", ["https://evil.example", "http://127.0.0.1:1", ""])
def test_wrong_or_missing_iss(
    stack: tuple[RunningServer, str], two: list[Browser], store: MemoryStore, iss: str
) -> None:
    target = two[0].start(stack[1])
    before = snapshot(store)
    # "" removes iss: the dev server promises it (authorization_response_iss_parameter_supported)
    refused(two[0].callback(with_params(target, iss=iss or None)), 400, "issuer_mismatch")
    unchanged_but_consumed(before, snapshot(store))


def test_code_reuse_with_a_fresh_state(
    stack: tuple[RunningServer, str], two: list[Browser], store: MemoryStore
) -> None:
    browser = two[0]
    first = browser.start(stack[1])
    assert browser.callback(first).status_code == 200
    old_code = dict(parse_qsl(urlsplit(first).query))["code"]
    second = browser.start(stack[1])
    before = snapshot(store)
    response = browser.callback(with_params(second, code=old_code))
    refused(response, 502, "token_request_failed")
    assert old_code not in response.text
    unchanged_but_consumed(before, snapshot(store))


def test_code_of_another_flow_is_refused(
    stack: tuple[RunningServer, str], two: list[Browser], store: MemoryStore
) -> None:
    """A code stolen from someone else's flow: PKCE binds it to the other flow's verifier."""
    attacker, victim = two
    victims = victim.start(stack[1])
    attackers = attacker.start(stack[1])
    stolen = dict(parse_qsl(urlsplit(victims).query))["code"]
    before = snapshot(store)
    refused(attacker.callback(with_params(attackers, code=stolen)), 502, "token_request_failed")
    unchanged_but_consumed(before, snapshot(store))


@settings(
    max_examples=60,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(
    params=st.dictionaries(
        st.sampled_from(["state", "code", "iss", "error", "error_description", "session_state", "x"]),
        st.text(max_size=80) | st.sampled_from(["", "access_denied", "a" * 3000]),
        max_size=6,
    )
)
def test_arbitrary_callback_parameters(
    stack: tuple[RunningServer, str], two: list[Browser], params: dict[str, str]
) -> None:
    store = MemoryStore()
    with browsers(store, 1) as (browser,):
        response = browser.callback("/oauth/callback?" + urlencode(params))
        assert response.status_code in (400, 403), response.text
        assert isinstance(response.json()["error"], str)
        assert store.keys() == []
