"""Flask adapter of mcp-tools: an OAuth-protected MCP endpoint and its discovery documents.

The logic lives in ``mcp_tools`` (the ``mcp-tools-core`` distribution); this package converts
requests and responses, registers routes on a blueprint and reads ``app.config``::

    app.register_blueprint(create_mcp_blueprint(mcp, verifier=..., resource_url=...,
                                                authorization_servers=[...]))

or ``mcp_tools = McpTools(app)``, configured from ``app.config["MCP_TOOLS_<OPTION>"]``.
"""

from __future__ import annotations

from mcp_tools_flask.blueprint import McpBlueprint, create_mcp_blueprint, discovery_documents
from mcp_tools_flask.client_views import complete_oauth_handler, connect_handler, redirect_to_authorization
from mcp_tools_flask.extension import McpTools, McpToolsState, config_key
from mcp_tools_flask.views import (
    McpView,
    auth_server_metadata_handler_clerk,
    current_token,
    get_current_token,
    mcp_auth,
    mcp_auth_clerk,
    metadata_cors_options_handler,
    protected_resource_handler,
    protected_resource_handler_clerk,
    streamable_http_handler,
    to_core_request,
    to_flask_response,
)

__all__ = [
    "McpBlueprint",
    "McpTools",
    "McpToolsState",
    "McpView",
    "auth_server_metadata_handler_clerk",
    "complete_oauth_handler",
    "config_key",
    "connect_handler",
    "create_mcp_blueprint",
    "current_token",
    "discovery_documents",
    "get_current_token",
    "mcp_auth",
    "mcp_auth_clerk",
    "metadata_cors_options_handler",
    "protected_resource_handler",
    "protected_resource_handler_clerk",
    "redirect_to_authorization",
    "streamable_http_handler",
    "to_core_request",
    "to_flask_response",
]
