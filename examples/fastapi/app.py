"""A small FastAPI app serving an OAuth-protected MCP endpoint with two tools.

Run it (with an authorization server issuing RS256 JWTs for this resource)::

    MCP_ISSUER=https://auth.example.com MCP_JWKS_URI=https://auth.example.com/.well-known/jwks.json \\
    MCP_RESOURCE_URL=http://127.0.0.1:8000/mcp uvicorn examples.fastapi.app:app --port 8000

``read_notes`` needs only the endpoint's ``notes:read`` scope; ``add_note`` also needs
``notes:write``: without it the call is refused with 403 ``insufficient_scope``, which lets an
MCP client step up its authorization.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

from fastapi import FastAPI
from mcp.server import MCPServer
from mcp.server.auth.middleware.auth_context import get_access_token

from mcp_tools.server.scopes import ToolScopes
from mcp_tools.server.verifiers.jwt import JWTVerifier
from mcp_tools_fastapi import create_mcp_router

NOTES: dict[str, list[str]] = {}


def build_server(tool_scopes: ToolScopes) -> MCPServer[Any]:
    """The MCP server: notes kept per user (the token's subject)."""
    mcp: MCPServer[Any] = MCPServer("notes", version="1.0")

    @mcp.tool()
    def read_notes() -> list[str]:
        """The caller's notes."""
        token = get_access_token()
        return NOTES.get(token.subject or "" if token else "", [])

    @mcp.tool()
    @tool_scopes.require("notes:write")
    def add_note(text: str) -> str:
        """Add a note for the caller (needs the notes:write scope)."""
        token = get_access_token()
        owner = (token.subject or "") if token else ""
        NOTES.setdefault(owner, []).append(text)
        return f"saved note {len(NOTES[owner])} for {owner}"

    return mcp


def create_app(
    *,
    issuer: str,
    resource_url: str,
    jwks_uri: str | None = None,
    keys: Mapping[str, Any] | None = None,
) -> FastAPI:
    """Build the example app; tests pass static ``keys``, deployments a ``jwks_uri``."""
    tool_scopes = ToolScopes()
    server = build_server(tool_scopes)
    verifier = JWTVerifier(issuer=issuer, audience=resource_url, jwks_uri=jwks_uri, keys=keys)
    app = FastAPI(title="mcp-tools FastAPI example")
    app.include_router(
        create_mcp_router(
            server,
            verifier=verifier,
            resource_url=resource_url,
            authorization_servers=[issuer],
            scopes=["notes:read"],
            tool_scopes=tool_scopes,
            resource_name="Notes",
        )
    )

    @app.get("/")
    async def index() -> dict[str, str]:
        return {"mcp": resource_url}

    return app


def app_from_env() -> FastAPI:
    return create_app(
        issuer=os.environ["MCP_ISSUER"],
        resource_url=os.environ.get("MCP_RESOURCE_URL", "http://127.0.0.1:8000/mcp"),
        jwks_uri=os.environ["MCP_JWKS_URI"],
    )


if os.environ.get("MCP_ISSUER"):
    app = app_from_env()
