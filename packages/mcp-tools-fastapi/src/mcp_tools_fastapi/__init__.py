"""FastAPI adapter of mcp-tools: an OAuth-protected MCP endpoint and its discovery documents.

The logic lives in ``mcp_tools`` (the ``mcp-tools-core`` distribution); this package converts
Starlette requests and responses, registers routes on an :class:`fastapi.APIRouter`, and
starts the SDK's session manager in the router's lifespan (which FastAPI merges with the
app's own lifespan on ``include_router``). For the client side (connecting to other MCP
servers) it offers ``connect_handler``, ``redirect_to_authorization`` and
``complete_oauth_handler`` (see ``mcp_tools_fastapi.client_views``).

Quick start::

    app = FastAPI()
    app.include_router(create_mcp_router(
        mcp, verifier=JWTVerifier(issuer=..., audience=..., jwks_uri=...),
        resource_url="https://api.example.com/mcp",
        authorization_servers=["https://auth.example.com"],
    ))
"""

from __future__ import annotations

from mcp_tools_fastapi.client_views import complete_oauth_handler, connect_handler, redirect_to_authorization
from mcp_tools_fastapi.router import (
    McpAuthError,
    McpRouter,
    auth_server_metadata_handler_clerk,
    create_mcp_router,
    mcp_auth,
    mcp_auth_clerk,
    mcp_auth_exception_handler,
    metadata_cors_options_handler,
    protected_resource_handler,
    protected_resource_handler_clerk,
    streamable_http_handler,
    to_core_request,
    to_fastapi_response,
)

__all__ = [
    "McpAuthError",
    "McpRouter",
    "auth_server_metadata_handler_clerk",
    "complete_oauth_handler",
    "connect_handler",
    "create_mcp_router",
    "mcp_auth",
    "mcp_auth_clerk",
    "mcp_auth_exception_handler",
    "metadata_cors_options_handler",
    "protected_resource_handler",
    "protected_resource_handler_clerk",
    "redirect_to_authorization",
    "streamable_http_handler",
    "to_core_request",
    "to_fastapi_response",
]
