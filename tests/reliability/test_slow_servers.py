"""Slow authorization servers: every outbound wait is bounded by a timeout.

A "silent" server accepts TCP connections and never answers (the worst kind of slow). The
introspection verifier behind each adapter answers 503 within its timeout; the client flow's
discovery (``/connect``) answers 504 within the URL guard's timeout; the token request of the
callback is bounded the same way (the token endpoint recorded for the attempt is switched to a
silent one between consent and callback).
"""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator
from typing import Any

import pytest

from mcp_tools.client import UrlGuard
from mcp_tools.server.verifiers.introspection import IntrospectionVerifier
from mcp_tools.stores import MemoryStore
from tests.contract.spec import RESOURCE, mint
from tests.contract.suite import MCP_PATH, mcp_headers, rpc
from tests.security.adapters import ADAPTERS, open_adapter
from tests.security.flow import browsers, mcp_stack

TIMEOUT = 1.0


@pytest.fixture
def silent() -> Iterator[str]:
    """``http://127.0.0.1:<port>``: connections are accepted (backlog) and never answered."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen(64)
        yield f"http://127.0.0.1:{sock.getsockname()[1]}"


@pytest.mark.parametrize("kind", ADAPTERS)
def test_hanging_introspection_endpoint_is_503_within_the_timeout(kind: str, silent: str) -> None:
    verifier = IntrospectionVerifier(
        introspection_endpoint=f"{silent}/introspect",
        client_id="rs",
        client_secret="rs-secret-value",
        audience=RESOURCE,
        timeout=TIMEOUT,
    )
    with open_adapter(kind, verifier=verifier) as client:
        started = time.monotonic()
        result = client.request("POST", MCP_PATH, headers=mcp_headers(mint()), body=rpc("tools/list"))
        elapsed = time.monotonic() - started
    assert result.status == 503, result.body
    assert result.json()["error"] == "temporarily_unavailable"
    assert elapsed < TIMEOUT + 1.5
    assert b"rs-secret-value" not in result.body


def test_hanging_mcp_server_at_connect_is_504_within_the_guard_timeout(silent: str) -> None:
    store = MemoryStore()
    guard = UrlGuard(allow_loopback=True, timeout=TIMEOUT)
    with browsers(store, 1, url_guard=guard) as (browser,):
        started = time.monotonic()
        response = browser.connect(f"{silent}/mcp")
        elapsed = time.monotonic() - started
    assert response.status_code == 504, response.text
    assert response.json()["code"] == "network_error"
    assert elapsed < TIMEOUT * 3 + 1.5  # a few requests at most, each bounded
    assert store.keys() == []


def test_token_endpoint_hanging_at_the_callback_is_504_and_nothing_is_stored(silent: str) -> None:
    store = MemoryStore()
    with mcp_stack() as (_auth, mcp_url), browsers(store, 1) as (browser,):
        target = browser.start(mcp_url)
        # The authorization server stops answering between consent and the token request.
        for key in store.keys("session_"):
            record: Any = store.read(key)
            for pending in record.get("pendingAuth", {}).values():
                pending["authorizationServer"]["token_endpoint"] = f"{silent}/token"
            store.write(key, record)
        before = {key: store.read(key) for key in store.keys("session_")}
        started = time.monotonic()
        response = browser.callback(target)
        elapsed = time.monotonic() - started
    assert response.status_code == 504, response.text
    assert response.json()["code"] == "network_error"
    assert elapsed < 3.0 + 1.5  # flow.GUARD.timeout
    assert {key: store.read(key) for key in store.keys("session_")} == before
