"""A small Flask app serving an OAuth-protected MCP endpoint with notes tools.

Run it (with an authorization server issuing RS256 JWTs for this resource)::

    export MCP_ISSUER=https://auth.example.com MCP_JWKS_URI=https://auth.example.com/.well-known/jwks.json
    export MCP_RESOURCE_URL=http://127.0.0.1:8000/mcp
    flask --app 'examples.flask.app:create_app_from_env()' run --port 8000 --with-threads
    gunicorn -k gthread --threads 8 -b 127.0.0.1:8000 'examples.flask.app:create_app_from_env()'

``flask --app examples.flask.app run`` also works: it picks up the module-level ``app`` built
when ``MCP_ISSUER`` is set. ``MCP_JWKS`` may hold the public JWKS inline instead of
``MCP_JWKS_URI``. ``MCP_SSE=1`` streams responses (tool progress arrives as it happens)
and ``MCP_STATEFUL=1`` keeps 2025-era sessions; both need a threaded server (gunicorn
``gthread``, waitress, the dev server's default threading).

``read_notes`` needs only the endpoint's ``notes:read`` scope; ``add_note`` also needs
``notes:write`` (without it: 403 ``insufficient_scope``, so an MCP client can step up).
``review_notes`` reports progress. ``GET /api/notes`` is an ordinary view protected by the
same bearer rules.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from typing import Any

import anyio
from flask import Flask, jsonify
from mcp.server import MCPServer
from mcp.server.auth.middleware.auth_context import get_access_token
from mcp.server.mcpserver import Context

from mcp_tools.server.scopes import ToolScopes
from mcp_tools.server.verifiers.jwt import JWTVerifier
from mcp_tools_flask import McpTools, current_token

NOTES: dict[str, list[str]] = {}

mcp_tools = McpTools()


def _owner() -> str:
    token = get_access_token()
    return (token.subject or "") if token else ""


def build_server(tool_scopes: ToolScopes) -> MCPServer[Any]:
    """The MCP server: notes kept per user (the token's subject)."""
    mcp: MCPServer[Any] = MCPServer("notes", version="1.0")

    @mcp.tool()
    def read_notes() -> list[str]:
        """The caller's notes."""
        return NOTES.get(_owner(), [])

    @mcp.tool()
    @tool_scopes.require("notes:write")
    def add_note(text: str) -> str:
        """Add a note for the caller (needs the notes:write scope)."""
        owner = _owner()
        NOTES.setdefault(owner, []).append(text)
        return f"saved note {len(NOTES[owner])} for {owner}"

    @mcp.tool()
    async def review_notes(ctx: Context, steps: int = 3, delay: float = 0.3) -> str:
        """Review the caller's notes in ``steps`` passes, reporting progress after each."""
        for step in range(1, steps + 1):
            await ctx.report_progress(step, steps, f"pass {step} of {steps}")
            if step < steps:
                await anyio.sleep(delay)
        return f"reviewed {len(NOTES.get(_owner(), []))} notes in {steps} passes"

    return mcp


def create_app(
    *,
    issuer: str,
    resource_url: str,
    jwks_uri: str | None = None,
    keys: Mapping[str, Any] | None = None,
    sse: bool = False,
    stateful: bool = False,
) -> Flask:
    """Build the example app; tests pass static ``keys``, deployments a ``jwks_uri``."""
    app = Flask(__name__)
    tool_scopes = ToolScopes()
    app.config.update(
        MCP_TOOLS_SERVER=build_server(tool_scopes),
        MCP_TOOLS_VERIFIER=JWTVerifier(issuer=issuer, audience=resource_url, jwks_uri=jwks_uri, keys=keys),
        MCP_TOOLS_RESOURCE_URL=resource_url,
        MCP_TOOLS_AUTHORIZATION_SERVERS=[issuer],
        MCP_TOOLS_SCOPES=["notes:read"],
        MCP_TOOLS_TOOL_SCOPES=tool_scopes,
        MCP_TOOLS_RESOURCE_NAME="Notes",
        MCP_TOOLS_JSON_RESPONSE=not sse,
        MCP_TOOLS_STATELESS=not stateful,
    )
    mcp_tools.init_app(app)

    @app.get("/")
    def index() -> Any:
        return jsonify(mcp=resource_url)

    @app.get("/api/notes")
    @mcp_tools.require_auth(scopes=["notes:read"])
    def notes() -> Any:
        return jsonify(owner=current_token.subject, notes=NOTES.get(current_token.subject or "", []))

    return app


def _flag(name: str) -> bool:
    return os.environ.get(name, "").lower() in ("1", "true", "yes", "on")


def create_app_from_env() -> Flask:
    """The app configured from ``MCP_*`` environment variables (see the module docstring)."""
    return create_app(
        issuer=os.environ["MCP_ISSUER"],
        resource_url=os.environ.get("MCP_RESOURCE_URL", "http://127.0.0.1:8000/mcp"),
        jwks_uri=os.environ.get("MCP_JWKS_URI"),
        keys=json.loads(os.environ["MCP_JWKS"]) if os.environ.get("MCP_JWKS") else None,
        sse=_flag("MCP_SSE"),
        stateful=_flag("MCP_STATEFUL"),
    )


if os.environ.get("MCP_ISSUER"):
    app = create_app_from_env()
