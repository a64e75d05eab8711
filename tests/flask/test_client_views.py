"""The client views contract for Flask: a real browser session, oidc-provider, the example MCP server."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from flask import Flask, Request, jsonify, request

from mcp_tools.client import McpClient, get_client_by_session_id
from mcp_tools.stores import MemoryStore
from mcp_tools_flask import complete_oauth_handler, connect_handler
from tests.contract.client_views import (  # noqa: F401 - fixtures
    GUARD,
    SECRET,
    ClientViewsContract,
    auth_server,
    mcp_server,
    oauth_as_installed,
)
from tests.support.servers import free_port, wsgi_thread


@pytest.fixture(scope="module")
def web_app() -> Iterator[tuple[str, MemoryStore]]:
    store = MemoryStore()
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    app = Flask(__name__)
    app.secret_key = SECRET  # the session keeps the anti-CSRF nonce (Flask-WTF style)
    connect = connect_handler(
        store,
        secret=SECRET,
        oauth_redirect_url=f"{base}/oauth/callback",
        mcp_client_name="flask-app",
        mcp_client_version="1.0",
        url_guard=GUARD,
    )
    app.add_url_rule("/connect", view_func=connect)
    app.add_url_rule("/connect-form", view_func=connect)  # GET shows the form

    def connected(client: McpClient, callback_request: Request) -> Any:
        assert isinstance(callback_request, Request)  # Flask's own request, as Django's and FastAPI's
        assert callback_request.path == "/oauth/callback"
        return jsonify({"session_id": client.session_id})

    app.add_url_rule(
        "/oauth/callback", view_func=complete_oauth_handler(store, connected, secret=SECRET, url_guard=GUARD)
    )

    @app.get("/notes")
    def notes() -> Any:
        client = get_client_by_session_id(session_id=request.args["session_id"], store=store, url_guard=GUARD)
        return jsonify(client.call_tool_sync("read_notes", {}).structured_content)

    with wsgi_thread(app, port):
        yield base, store


class TestFlaskClientViews(ClientViewsContract):
    pass
