"""Real MCP apps served through :class:`mcp_tools.server.wsgi.AsgiBridge`, for the bridge tests.

Importable by gunicorn (``tests.core.wsgi_apps:app``); the module-level ``app`` is configured
from environment variables so a subprocess can pick the transport mode.

Identity is injected the way the Flask and Django adapters will do it (authenticate in the
host framework, hand the identity to the SDK through the ASGI scope): a bearer token
``<subject>-<anything>`` becomes an ``AccessToken`` with that subject. The test "verifier" is
deliberately trivial; the point is the hand-over, not verification.
"""

from __future__ import annotations

import json
import os
import threading
from collections.abc import Iterable
from contextlib import AbstractAsyncContextManager
from typing import TYPE_CHECKING

import anyio
from mcp.server import MCPServer
from mcp.server.auth.middleware.auth_context import AuthContextMiddleware, get_access_token
from mcp.server.auth.middleware.bearer_auth import AuthenticatedUser
from mcp.server.auth.provider import AccessToken
from mcp.server.mcpserver import Context
from mcp.server.streamable_http_manager import StreamableHTTPASGIApp
from starlette.authentication import AuthCredentials

from mcp_tools.asgi import ASGIApp
from mcp_tools.server.wsgi import AsgiBridge

if TYPE_CHECKING:
    from wsgiref.types import StartResponse, WSGIEnvironment

STEP_DELAY = 0.3
ISSUER = "https://as.test"


def build_server() -> MCPServer:
    """An MCPServer with three tools: arithmetic, slow progress, and the caller's identity."""
    server = MCPServer("bridge-test", version="0.1")

    @server.tool()
    def add(a: int, b: int) -> int:
        """Add two integers."""
        return a + b

    @server.tool()
    async def slow(ctx: Context, steps: int = 3) -> str:
        """Report progress ``steps`` times, STEP_DELAY seconds apart."""
        for i in range(steps):
            await ctx.report_progress(i + 1, steps, f"step {i + 1}")
            if i + 1 < steps:
                await anyio.sleep(STEP_DELAY)
        return f"done {steps}"

    @server.tool()
    def whoami() -> str:
        """The subject of the access token the SDK sees for this request."""
        token = get_access_token()
        return token.subject or "no-subject" if token else "anonymous"

    return server


def mcp_factory(
    *, stateless: bool, json_response: bool, counter: list[int] | None = None
) -> tuple[ASGIApp, AbstractAsyncContextManager[object] | None]:
    """A fresh server + session manager, wrapped so ``get_access_token()`` works."""
    if counter is not None:
        counter.append(os.getpid())
    server = build_server()
    server.streamable_http_app(stateless_http=stateless, json_response=json_response)
    manager = server.session_manager
    app: ASGIApp = AuthContextMiddleware(StreamableHTTPASGIApp(manager))
    return app, manager.run()


def identity_from_environ(environ: WSGIEnvironment) -> dict[str, object] | None:
    """The scope entries for the bearer token of the request, or None without one."""
    header = str(environ.get("HTTP_AUTHORIZATION", ""))
    if not header.startswith("Bearer "):
        return None
    raw = header.removeprefix("Bearer ")
    token = AccessToken(
        token=raw,
        client_id="test-client",
        scopes=["mcp"],
        subject=raw.split("-", 1)[0],
        claims={"iss": ISSUER},
    )
    return {"user": AuthenticatedUser(token), "auth": AuthCredentials(token.scopes)}


class TestWsgiApp:
    """A minimal WSGI host: ``/mcp`` through the bridge with identity, ``/_bridge`` diagnostics."""

    __test__ = False  # not a pytest class

    def __init__(self, bridge: AsgiBridge) -> None:
        self.bridge = bridge

    def __call__(self, environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        path = environ.get("PATH_INFO", "")
        if path == "/_bridge":
            lt = self.bridge._loop_thread
            body = json.dumps(
                {
                    "pid": os.getpid(),
                    "running": self.bridge.running,
                    "loop_pid": lt.pid if lt else None,
                    "loop_thread": lt.thread.ident if lt else None,
                    "loop_threads": sorted(
                        t.ident or 0 for t in threading.enumerate() if t.name == self.bridge.name
                    ),
                }
            ).encode()
            start_response("200 OK", [("Content-Type", "application/json")])
            return [body]
        if path == "/mcp":
            return self.bridge(environ, start_response, extra_scope=identity_from_environ(environ))
        start_response("404 Not Found", [("Content-Type", "text/plain")])
        return [b"not found"]


def make_app(*, stateless: bool, json_response: bool, **options: object) -> TestWsgiApp:
    """A bridge in the fork-safe factory form, behind :class:`TestWsgiApp`."""
    bridge = AsgiBridge(
        factory=lambda: mcp_factory(stateless=stateless, json_response=json_response),
        stateful=not stateless,
        sse=not json_response,
        **options,  # type: ignore[arg-type]
    )
    return TestWsgiApp(bridge)


def _env_flag(name: str) -> bool:
    return os.environ.get(name, "") == "1"


# For gunicorn: ``MCP_BRIDGE_STATELESS`` / ``MCP_BRIDGE_JSON`` choose the mode,
# ``MCP_BRIDGE_EAGER=1`` starts the loop thread at import (in the --preload master), so the
# workers are forked from a process that already has a running loop.
app = make_app(stateless=_env_flag("MCP_BRIDGE_STATELESS"), json_response=_env_flag("MCP_BRIDGE_JSON"))
if _env_flag("MCP_BRIDGE_EAGER"):
    app.bridge.start()
