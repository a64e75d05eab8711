"""Django adapter of mcp-tools: an OAuth-protected MCP endpoint and its discovery documents.

``INSTALLED_APPS = [..., "mcp_tools_django"]``, the ``MCP_TOOLS`` setting (:mod:`.conf`) and
``path("", include("mcp_tools_django.urls"))``; under ASGI, serve
``mcp_tools_django.asgi.get_asgi_application()``. The names below are imported on first use,
so importing this package does not touch Django settings.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # the names of _MODULES, for type checkers
    from mcp_tools_django.asgi import McpAsgiApplication as McpAsgiApplication
    from mcp_tools_django.asgi import get_asgi_application as get_asgi_application
    from mcp_tools_django.client_views import complete_oauth_handler as complete_oauth_handler
    from mcp_tools_django.client_views import connect_handler as connect_handler
    from mcp_tools_django.client_views import redirect_to_authorization as redirect_to_authorization
    from mcp_tools_django.decorators import mcp_auth as mcp_auth
    from mcp_tools_django.decorators import mcp_auth_clerk as mcp_auth_clerk
    from mcp_tools_django.decorators import mcp_auth_required as mcp_auth_required
    from mcp_tools_django.handlers import McpView as McpView
    from mcp_tools_django.handlers import (
        auth_server_metadata_handler_clerk as auth_server_metadata_handler_clerk,
    )
    from mcp_tools_django.handlers import metadata_cors_options_handler as metadata_cors_options_handler
    from mcp_tools_django.handlers import protected_resource_handler as protected_resource_handler
    from mcp_tools_django.handlers import protected_resource_handler_clerk as protected_resource_handler_clerk
    from mcp_tools_django.handlers import streamable_http_handler as streamable_http_handler
    from mcp_tools_django.views import to_core_request as to_core_request
    from mcp_tools_django.views import to_django_response as to_django_response

_MODULES = {
    "asgi": ("McpAsgiApplication", "get_asgi_application"),
    "client_views": ("complete_oauth_handler", "connect_handler", "redirect_to_authorization"),
    "decorators": ("mcp_auth", "mcp_auth_clerk", "mcp_auth_required"),
    "handlers": (
        "McpView",
        "auth_server_metadata_handler_clerk",
        "metadata_cors_options_handler",
        "protected_resource_handler",
        "protected_resource_handler_clerk",
        "streamable_http_handler",
    ),
    "views": ("to_core_request", "to_django_response"),
}
_EXPORTS = {name: module for module, names in _MODULES.items() for name in names}
__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    if name not in _EXPORTS:
        raise AttributeError(f"module 'mcp_tools_django' has no attribute {name!r}")
    return getattr(importlib.import_module(f"mcp_tools_django.{_EXPORTS[name]}"), name)
