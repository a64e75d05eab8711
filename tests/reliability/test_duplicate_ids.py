"""A JSON-RPC id reused while in flight, inside one stateful session, on every adapter.

The specification forbids the reuse, but a server must still answer every request. The SDK's
transport keys its per-request streams by id, so concurrent requests with one id overwrite each
other's stream: some were never answered (a WSGI worker thread held forever) and some got 500.
The endpoint core now refuses an id already in flight in the session before the SDK sees it:
``400`` with a JSON-RPC ``-32600`` error echoing the id. Once the first request is answered the
id may be used again.

Also here: the WSGI bridge's response timeout has a finite default, so a request the SDK never
answers cannot hold a worker thread forever.
"""

from __future__ import annotations

import json
import threading
import time
from typing import Any

import pytest

from mcp_tools.options import McpOptions, WsgiOptions
from mcp_tools.server.resource_server import McpResourceServer
from tests.contract.spec import ISSUER, RESOURCE, mint
from tests.contract.suite import MCP_PATH, ContractClient, HttpResult, mcp_headers, rpc
from tests.security.adapters import ADAPTERS, open_adapter

BURST = 8
WAIT = 30.0  # generous on a loaded machine; the old code never answered some requests at all
REUSED_ID = 7


def open_session(client: ContractClient, token: str) -> str:
    init = rpc(
        "initialize",
        {"protocolVersion": "2025-11-25", "capabilities": {}, "clientInfo": {"name": "t", "version": "1"}},
    )
    opened = client.request("POST", MCP_PATH, headers=mcp_headers(token), body=init)
    assert opened.status == 200, opened.body
    session = opened.headers["mcp-session-id"]
    notified = client.request(
        "POST",
        MCP_PATH,
        headers=mcp_headers(token, **{"Mcp-Session-Id": session}),
        body=json.dumps({"jsonrpc": "2.0", "method": "notifications/initialized"}).encode(),
    )
    assert notified.status == 202, notified.body
    return session


def burst(client: ContractClient, headers: dict[str, str], body: bytes) -> list[HttpResult | None]:
    """Send ``BURST`` copies of one request at once; ``None`` for a request never answered."""
    results: list[HttpResult | None] = [None] * BURST
    start = threading.Barrier(BURST)

    def one(index: int) -> None:
        start.wait(timeout=WAIT)
        try:
            results[index] = client.request("POST", MCP_PATH, headers=headers, body=body)
        except Exception as exc:  # a failure is a result here
            results[index] = HttpResult(599, {}, repr(exc).encode())

    # daemon threads: on the old code some never return, and must not keep pytest alive
    threads = [threading.Thread(target=one, args=(i,), daemon=True) for i in range(BURST)]
    for thread in threads:
        thread.start()
    deadline = time.monotonic() + WAIT
    for thread in threads:
        thread.join(timeout=max(0.0, deadline - time.monotonic()))
    return results


def check_answer(result: HttpResult | None) -> str:
    assert result is not None, "a request with a reused id was never answered"
    assert result.status in (200, 400), (result.status, result.body[:300])
    document: dict[str, Any] = result.json()
    assert document["jsonrpc"] == "2.0"
    assert document["id"] == REUSED_ID
    if result.status == 200:
        assert document["result"]["content"][0]["text"] == "reused"
        return "answered"
    assert document["error"]["code"] == -32600, document
    assert "already in flight" in document["error"]["message"]
    return "refused"


@pytest.mark.parametrize("kind", ADAPTERS)
def test_concurrent_requests_reusing_an_id_are_each_answered(kind: str) -> None:
    token = mint()
    with open_adapter(kind, stateless=False) as client:
        session = open_session(client, token)
        headers = mcp_headers(token, **{"Mcp-Session-Id": session})
        body = rpc("tools/call", {"name": "echo", "arguments": {"text": "reused"}}, ident=REUSED_ID)
        for _ in range(3):  # a few bursts: nothing leaks between them
            outcomes = [check_answer(result) for result in burst(client, headers, body)]
            assert "answered" in outcomes, outcomes
        # once answered, the id is free again in this session
        again = client.request("POST", MCP_PATH, headers=headers, body=body)
        assert check_answer(again) == "answered"
        # and another session is not affected by this one's ids
        other = mcp_headers(token, **{"Mcp-Session-Id": open_session(client, token)})
        assert check_answer(client.request("POST", MCP_PATH, headers=other, body=body)) == "answered"


def test_the_wsgi_response_timeout_is_finite_by_default() -> None:
    assert WsgiOptions().response_timeout is not None
    assert 0 < WsgiOptions().response_timeout <= 120
    options = McpOptions(
        server=lambda: None,  # never started here
        resource_url=RESOURCE,
        authorization_servers=[ISSUER],
        jwks_uri=f"{ISSUER}/jwks.json",
    )
    bridge = McpResourceServer(options).wsgi_endpoint().bridge
    assert bridge.response_timeout == WsgiOptions().response_timeout
