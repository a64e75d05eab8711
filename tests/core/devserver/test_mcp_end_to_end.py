"""End to end: a token from the dev authorization server opens the FastAPI example's MCP endpoint."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx2
import pytest
import requests
from mcp import Client
from mcp.client.streamable_http import streamable_http_client

from examples.fastapi.app import create_app
from mcp_tools.devserver import RunningServer, serve
from tests.support.servers import free_port, uvicorn_thread

from .flows import OAuthClient, pkce


@pytest.fixture(scope="module")
def stack() -> Iterator[tuple[RunningServer, str]]:
    with serve(scopes=["notes:read", "notes:write"], auto_approve=True, default_user="erin") as auth:
        port = free_port()
        resource = f"http://127.0.0.1:{port}/mcp"
        app = create_app(issuer=auth.issuer, resource_url=resource, jwks_uri=auth.app.jwks_uri)
        with uvicorn_thread(app, port):
            yield auth, resource


def obtain_token(auth: RunningServer, resource: str, scope: str) -> str:
    """Discover the AS from the MCP server's PRM, register, authorize and redeem the code."""
    challenge = requests.post(resource, json={}, timeout=10)
    assert challenge.status_code == 401
    prm_url = challenge.headers["WWW-Authenticate"].split('resource_metadata="')[1].split('"')[0]
    prm = requests.get(prm_url, timeout=10).json()
    assert prm["resource"] == resource
    assert prm["authorization_servers"] == [auth.issuer]
    client = OAuthClient.register(auth.issuer)
    verifier, code_challenge = pkce()
    callback = client.authorize(code_challenge, resource=resource, scope=scope)
    assert callback["iss"] == auth.issuer
    response = client.token(
        grant_type="authorization_code",
        code=callback["code"],
        redirect_uri=client.redirect_uri,
        code_verifier=verifier,
        resource=resource,
    )
    assert response.status_code == 200, response.text
    return str(response.json()["access_token"])


def client_for(url: str, token: str) -> Client:
    http = httpx2.AsyncClient(headers={"Authorization": f"Bearer {token}"}, timeout=30)
    return Client(streamable_http_client(url, http_client=http))


def text_of(result: Any) -> str:
    return str(result.content[0].text)


@pytest.mark.anyio
async def test_sdk_client_calls_tools_with_a_dev_server_token(stack: tuple[RunningServer, str]) -> None:
    auth, resource = stack
    token = obtain_token(auth, resource, "notes:read notes:write")
    async with client_for(resource, token) as client:
        tools = await client.list_tools()
        assert {t.name for t in tools.tools} == {"read_notes", "add_note"}
        saved = await client.call_tool("add_note", {"text": "from the dev AS"})
        assert text_of(saved) == "saved note 1 for erin"
        notes = await client.call_tool("read_notes", {})
        assert notes.structured_content == {"result": ["from the dev AS"]}


@pytest.mark.anyio
async def test_token_for_another_resource_is_rejected(stack: tuple[RunningServer, str]) -> None:
    auth, resource = stack
    other = OAuthClient.register(auth.issuer).tokens(scope="notes:read")["access_token"]  # aud = :8000/mcp
    response = requests.post(
        resource,
        json={"jsonrpc": "2.0", "id": 1, "method": "tools/list"},
        headers={"Authorization": f"Bearer {other}", "Accept": "application/json, text/event-stream"},
        timeout=10,
    )
    assert response.status_code == 401
    assert 'error="invalid_token"' in response.headers["WWW-Authenticate"]


@pytest.mark.anyio
async def test_read_only_token_reads_notes(stack: tuple[RunningServer, str]) -> None:
    auth, resource = stack
    token = obtain_token(auth, resource, "notes:read")
    async with client_for(resource, token) as client:
        notes = await client.call_tool("read_notes", {})
        assert notes.structured_content is not None
