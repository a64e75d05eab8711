"""A whole OAuth stack on 127.0.0.1 for the client-side security and reliability tests.

* the development authorization server (auto-approve, RFC 9207 ``iss``, real JWTs);
* an MCP server: the FastAPI router with a ``JWTVerifier`` reading that server's JWKS, under
  uvicorn;
* the "web app": ``connect_handler`` and ``complete_oauth_handler`` on any store, served
  in-process by Starlette's ``TestClient`` (which plays the browser and keeps its cookies).
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

import requests
from fastapi import FastAPI
from fastapi import Request as FastAPIRequest
from fastapi.responses import JSONResponse
from fastapi.testclient import TestClient

from mcp_tools.client import McpClient, UrlGuard
from mcp_tools.devserver import RunningServer, serve
from mcp_tools.server.scopes import ToolScopes
from mcp_tools.server.verifiers.jwt import JWTVerifier
from mcp_tools.stores import Store
from mcp_tools_fastapi import complete_oauth_handler, connect_handler, create_mcp_router
from tests.contract.spec import make_server
from tests.support.servers import free_port, uvicorn_thread

SECRET = "security-tests-binding-secret-0123456789"
GUARD = UrlGuard(allow_loopback=True, timeout=3.0)
APP = "http://127.0.0.1:8765"
SCOPE = "mcp:read"


@contextlib.contextmanager
def mcp_stack(**auth_options: Any) -> Iterator[tuple[RunningServer, str]]:
    """The dev authorization server and an MCP server trusting it; yields ``(auth, mcp_url)``."""
    options: dict[str, Any] = {"scopes": [SCOPE, "notes:write"], "auto_approve": True}
    options.update(auth_options)
    with serve(**options) as auth:
        port = free_port()
        resource = f"http://127.0.0.1:{port}/mcp"
        verifier = JWTVerifier(issuer=auth.issuer, audience=resource, jwks_uri=auth.app.jwks_uri)
        app = FastAPI()
        app.include_router(
            create_mcp_router(
                make_server(ToolScopes()),
                verifier=verifier,
                resource_url=resource,
                authorization_servers=[auth.issuer],
                scopes=[SCOPE],
            )
        )
        with uvicorn_thread(app, port):
            yield auth, resource


def web_app(store: Store, **client_options: Any) -> FastAPI:
    guard = client_options.pop("url_guard", GUARD)
    app = FastAPI()
    app.add_api_route(
        "/connect",
        connect_handler(
            store,
            secret=SECRET,
            oauth_redirect_url=f"{APP}/oauth/callback",
            mcp_client_name="security-tests",
            mcp_client_version="1.0",
            url_guard=guard,
            **client_options,
        ),
        methods=["GET", "POST"],
    )

    async def connected(client: McpClient, request: FastAPIRequest) -> JSONResponse:
        return JSONResponse({"session_id": client.session_id})

    app.add_api_route(
        "/oauth/callback",
        complete_oauth_handler(store, connected, secret=SECRET, url_guard=guard),
        methods=["GET"],
    )
    return app


@dataclass
class Browser:
    """One browser: its cookie jar lives in the ``TestClient``."""

    web: TestClient
    #: The cookies right after ``/connect`` (the signed binding), to replay a callback later.
    saved_cookies: dict[str, str] = field(default_factory=dict)

    def connect(self, mcp_url: str) -> Any:
        """The connect form: ``GET`` it (the anti-CSRF cookie and token), then ``POST`` it."""
        form = self.web.get("/connect", params={"mcp_endpoint": mcp_url})
        token = re.search(r'name="csrf_token" value="([^"]+)"', form.text)
        assert token is not None, form.text
        data = {"mcp_endpoint": mcp_url, "csrf_token": token.group(1)}
        return self.web.post("/connect", data=data, follow_redirects=False)

    def start(self, mcp_url: str) -> str:
        """``/connect``, then the (auto-approving) authorization server; returns the callback path+query."""
        first = self.connect(mcp_url)
        assert first.status_code == 303, first.text
        self.saved_cookies = dict(self.web.cookies)
        consent = requests.get(first.headers["location"], allow_redirects=False, timeout=10)
        assert consent.status_code in (302, 303), consent.text
        location = consent.headers["location"]
        assert location.startswith(f"{APP}/oauth/callback"), location
        parts = urlsplit(location)
        return f"{parts.path}?{parts.query}"

    def callback(self, target: str) -> Any:
        return self.web.get(target, follow_redirects=False)


@contextlib.contextmanager
def browsers(store: Store, count: int = 2, **client_options: Any) -> Iterator[list[Browser]]:
    app = web_app(store, **client_options)
    with contextlib.ExitStack() as stack:
        clients = [stack.enter_context(TestClient(app, base_url=APP)) for _ in range(count)]
        yield [Browser(client) for client in clients]
