"""FastAPI adapter of mcp-tools: an OAuth-protected MCP endpoint and its discovery documents.

The logic lives in ``mcp_tools`` (the ``mcp-tools-core`` distribution); this package converts
Starlette requests and responses, registers routes on an :class:`fastapi.APIRouter` and starts
the SDK's session manager in the router's lifespan. The client side (connecting to other MCP
servers) is in ``mcp_tools_fastapi.client_views``.

Quick start::

    app = FastAPI()
    app.include_router(create_mcp_router(
        mcp, verifier=JWTVerifier(issuer=..., audience=..., jwks_uri=...),
        resource_url="https://api.example.com/mcp",
        authorization_servers=["https://auth.example.com"],
    ))
"""

from __future__ import annotations

from mcp_tools_fastapi import router
from mcp_tools_fastapi.client_views import complete_oauth_handler, connect_handler, redirect_to_authorization
from mcp_tools_fastapi.router import *  # noqa: F403 (the names of router.__all__)

__all__ = [*router.__all__, "complete_oauth_handler", "connect_handler", "redirect_to_authorization"]
