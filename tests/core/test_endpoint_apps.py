"""McpEndpoint's SDK apps: ``inner_app`` keeps the SDK's body limit, the endpoint enforces its own,
and ``authorized_app`` (for requests the endpoint admitted) hands ``get_access_token()`` to tools."""

from __future__ import annotations

import json
from typing import Any

import anyio
import pytest

from mcp_tools.server.endpoint import McpEndpoint
from mcp_tools.server.resource_server import McpResourceServer
from tests.contract.spec import ISSUER, RESOURCE, ContractSettings, make_verifier, mint
from tests.contract.suite import mcp_headers, rpc, tool_call_body

LIMIT = 2048


def endpoint() -> McpEndpoint:
    server = McpResourceServer(
        ContractSettings().server,
        verifier=make_verifier(),
        resource_url=RESOURCE,
        authorization_servers=[ISSUER],
        scopes=["mcp:read"],
        max_request_body_size=LIMIT,
    )
    return server.endpoint


def scope_for(headers: dict[str, str], body: bytes) -> dict[str, Any]:
    raw = [(k.lower().encode(), v.encode()) for k, v in headers.items()]
    raw += [(b"host", b"api.example.com"), (b"content-length", str(len(body)).encode())]
    return {
        "type": "http",
        "method": "POST",
        "scheme": "https",
        "path": "/mcp",
        "query_string": b"",
        "headers": raw,
    }


async def call(app: Any, scope: dict[str, Any], body: bytes) -> tuple[int, bytes]:
    sent = False

    async def receive() -> dict[str, Any]:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        await anyio.sleep_forever()
        raise AssertionError("unreachable")

    status, chunks = 0, []

    async def send(message: dict[str, Any]) -> None:
        nonlocal status
        if message["type"] == "http.response.start":
            status = message["status"]
        else:
            chunks.append(message.get("body", b""))

    await app(scope, receive, send)
    return status, b"".join(chunks)


def test_the_apps_need_a_running_endpoint() -> None:
    ep = endpoint()
    for name in ("inner_app", "authorized_app"):
        with pytest.raises(RuntimeError, match="not running"):
            getattr(ep, name)


def test_body_limits_and_the_identity_reach_the_sdk() -> None:
    ep = endpoint()
    token = mint(sub="carol")
    big = rpc("tools/call", {"name": "echo", "arguments": {"text": "x" * (2 * LIMIT)}})

    async def main() -> None:
        async with ep.run():
            # the endpoint refuses an oversized body itself, before authentication
            status, body = await call(ep, scope_for(mcp_headers(token), big), big)
            assert status == 413
            assert json.loads(body)["error"] == "payload_too_large"
            # inner_app, called without the endpoint's checks, still has the SDK's own limit
            user = ep.identity_scope(ep.authorize_sync(_request(token)).token)  # type: ignore[arg-type]
            status, body = await call(ep.inner_app, {**scope_for(mcp_headers(token), big), **user}, big)
            assert status == 413
            assert "error" in json.loads(body)  # a JSON body, as for every error
            # authorized_app serves an admitted request and exposes the token to tools
            call_body = tool_call_body("whoami")
            scope = {**scope_for(mcp_headers(token), call_body), **user}
            status, body = await call(ep.authorized_app, scope, call_body)
            assert status == 200, body
            assert json.loads(body)["result"]["content"][0]["text"] == "carol"

    anyio.run(main)


def _request(token: str) -> Any:
    from mcp_tools.asgi import request_from_scope

    body = rpc("tools/list")
    return request_from_scope(scope_for(mcp_headers(token), body), body)
