"""Django adapter of mcp-tools: an OAuth-protected MCP endpoint and its discovery documents.

The logic lives in ``mcp_tools`` (the ``mcp-tools-core`` distribution); this package converts
Django requests and responses, registers routes, reads the ``MCP_TOOLS`` setting and adds
system checks, a decorator and management commands.

Quick start::

    INSTALLED_APPS = [..., "mcp_tools_django"]
    MCP_TOOLS = {"SERVER": "myproject.mcp:server", "RESOURCE_URL": "https://api.example.com/mcp",
                 "AUTHORIZATION_SERVERS": ["https://auth.example.com"],
                 "VERIFIER": {"CLASS": "mcp_tools.server.verifiers.jwt.JWTVerifier",
                              "OPTIONS": {"jwks_uri": "https://auth.example.com/.well-known/jwks.json"}}}
    urlpatterns = [path("", include("mcp_tools_django.urls"))]

Under ASGI, serve ``mcp_tools_django.asgi.get_asgi_application()``. Names are imported lazily,
so importing this package does not touch Django settings.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from mcp_tools_django.asgi import McpAsgiApplication, get_asgi_application
    from mcp_tools_django.client_views import (
        complete_oauth_handler,
        connect_handler,
        redirect_to_authorization,
    )
    from mcp_tools_django.decorators import mcp_auth, mcp_auth_clerk, mcp_auth_required
    from mcp_tools_django.handlers import (
        McpView,
        auth_server_metadata_handler_clerk,
        metadata_cors_options_handler,
        protected_resource_handler,
        protected_resource_handler_clerk,
        streamable_http_handler,
    )
    from mcp_tools_django.views import to_core_request, to_django_response

_EXPORTS = {
    "McpAsgiApplication": "asgi",
    "get_asgi_application": "asgi",
    "complete_oauth_handler": "client_views",
    "connect_handler": "client_views",
    "redirect_to_authorization": "client_views",
    "mcp_auth": "decorators",
    "mcp_auth_clerk": "decorators",
    "mcp_auth_required": "decorators",
    "McpView": "handlers",
    "auth_server_metadata_handler_clerk": "handlers",
    "metadata_cors_options_handler": "handlers",
    "protected_resource_handler": "handlers",
    "protected_resource_handler_clerk": "handlers",
    "streamable_http_handler": "handlers",
    "to_core_request": "views",
    "to_django_response": "views",
}

__all__ = [
    "McpAsgiApplication",
    "McpView",
    "auth_server_metadata_handler_clerk",
    "complete_oauth_handler",
    "connect_handler",
    "get_asgi_application",
    "mcp_auth",
    "mcp_auth_clerk",
    "mcp_auth_required",
    "metadata_cors_options_handler",
    "protected_resource_handler",
    "protected_resource_handler_clerk",
    "redirect_to_authorization",
    "streamable_http_handler",
    "to_core_request",
    "to_django_response",
]


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'mcp_tools_django' has no attribute {name!r}")
    return getattr(importlib.import_module(f"mcp_tools_django.{module}"), name)
