"""The SDK's own MCP client against the FastAPI example app under uvicorn on 127.0.0.1."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx2
import pytest
from mcp import Client
from mcp.client.streamable_http import streamable_http_client

from examples.fastapi.app import create_app
from tests.contract.spec import ISSUER, mint, public_jwks
from tests.support.servers import free_port, uvicorn_thread


@pytest.fixture(scope="module")
def served() -> Iterator[str]:
    port = free_port()
    resource = f"http://127.0.0.1:{port}/mcp"
    app = create_app(issuer=ISSUER, resource_url=resource, keys=public_jwks())
    with uvicorn_thread(app, port):
        yield resource


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


def client_for(url: str, token: str, mode: str) -> Client:
    http = httpx2.AsyncClient(headers={"Authorization": f"Bearer {token}"}, timeout=30)
    return Client(streamable_http_client(url, http_client=http), mode=mode)  # type: ignore[arg-type]


def text_of(result: Any) -> str:
    return str(result.content[0].text)


@pytest.mark.anyio
@pytest.mark.parametrize("mode", ["legacy", "auto"])
async def test_sdk_client_lists_and_calls_tools(served: str, mode: str) -> None:
    token = mint(sub=f"user-{mode}", aud=served, scope="notes:read notes:write")
    async with client_for(served, token, mode) as client:
        tools = await client.list_tools()
        assert {t.name for t in tools.tools} == {"read_notes", "add_note"}
        saved = await client.call_tool("add_note", {"text": "hello"})
        assert text_of(saved) == f"saved note 1 for user-{mode}"
        notes = await client.call_tool("read_notes", {})
        assert notes.structured_content == {"result": ["hello"]}


@pytest.mark.anyio
async def test_negotiated_versions(served: str) -> None:
    token = mint(aud=served, scope="notes:read")
    async with client_for(served, token, "legacy") as legacy:
        assert legacy.protocol_version == "2025-11-25"
    async with client_for(served, token, "auto") as modern:
        assert modern.protocol_version == "2026-07-28"


@pytest.mark.anyio
async def test_missing_tool_scope_is_refused_with_403(served: str) -> None:
    token = mint(aud=served, scope="notes:read")
    async with httpx2.AsyncClient(timeout=10) as http:
        response = await http.post(
            served,
            headers={
                "Authorization": f"Bearer {token}",
                "Accept": "application/json, text/event-stream",
                "Content-Type": "application/json",
                "MCP-Protocol-Version": "2026-07-28",
                "Mcp-Method": "tools/call",
                "Mcp-Name": "add_note",
            },
            json={
                "jsonrpc": "2.0",
                "id": 1,
                "method": "tools/call",
                "params": {"name": "add_note", "arguments": {"text": "x"}},
            },
        )
    assert response.status_code == 403
    assert 'scope="notes:read notes:write"' in response.headers["www-authenticate"]


@pytest.mark.anyio
async def test_token_for_the_wrong_port_is_refused(served: str) -> None:
    token = mint(aud="http://127.0.0.1:1/mcp", scope="notes:read")
    async with httpx2.AsyncClient(timeout=10) as http:
        response = await http.post(served, headers={"Authorization": f"Bearer {token}"}, json={})
    assert response.status_code == 401
