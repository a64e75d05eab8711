"""The client views contract for FastAPI: a real browser session, oidc-provider, the example MCP server.

The "web app" below runs under uvicorn: ``/connect`` starts a connection and redirects,
``/oauth/callback`` is :func:`complete_oauth_handler`, ``/notes`` calls a tool. A
``requests.Session`` plays the browser (it keeps the signed binding cookie).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi import Request as FastAPIRequest
from fastapi.responses import JSONResponse

from mcp_tools.client import McpClient, aget_client_by_session_id
from mcp_tools.stores import MemoryStore
from mcp_tools_fastapi import complete_oauth_handler, connect_handler
from tests.contract.client_views import (  # noqa: F401 - fixtures
    GUARD,
    SECRET,
    ClientViewsContract,
    auth_server,
    mcp_server,
    oauth_as_installed,
)
from tests.support.servers import free_port, uvicorn_thread


@pytest.fixture(scope="module")
def web_app() -> Iterator[tuple[str, MemoryStore]]:
    store = MemoryStore()
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    app = FastAPI()
    connect = connect_handler(
        store,
        secret=SECRET,
        oauth_redirect_url=f"{base}/oauth/callback",
        mcp_client_name="fastapi-app",
        mcp_client_version="1.0",
        url_guard=GUARD,
    )
    app.add_api_route("/connect", connect, methods=["GET", "POST"])
    app.add_api_route("/connect-form", connect, methods=["GET"])  # GET shows the form

    async def connected(client: McpClient, request: FastAPIRequest) -> JSONResponse:
        return JSONResponse({"session_id": client.session_id})

    app.add_api_route(
        "/oauth/callback",
        complete_oauth_handler(store, connected, secret=SECRET, url_guard=GUARD),
        methods=["GET"],
    )

    @app.get("/notes")
    async def notes(session_id: str) -> Any:
        client = await aget_client_by_session_id(session_id=session_id, store=store, url_guard=GUARD)
        async with client.connect() as mcp:
            return (await mcp.call_tool("read_notes", {})).structured_content

    with uvicorn_thread(app, port):
        yield base, store


class TestFastAPIClientViews(ClientViewsContract):
    pass
