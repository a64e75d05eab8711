"""The TypeScript package's building blocks as Django view factories, for hand-wired URLconfs
(no ``MCP_TOOLS`` needed). ``mcp_auth`` / ``mcp_auth_clerk`` are in :mod:`.decorators`."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.http import HttpRequest, HttpResponseBase
from django.views.decorators.csrf import csrf_exempt

from mcp_tools.http import Request, Response
from mcp_tools.options import McpOptions
from mcp_tools.server import handlers
from mcp_tools.server.endpoint import ServerSource
from mcp_tools.server.resource_server import McpResourceServer
from mcp_tools_django.hosts import host_allowed
from mcp_tools_django.views import serve_mcp, to_core_request, to_django_response

View = Callable[[HttpRequest], HttpResponseBase]


def _to_view(handler: Callable[[Request], Response]) -> View:
    @csrf_exempt
    def view(request: HttpRequest) -> HttpResponseBase:
        return to_django_response(handler(to_core_request(request)))

    return view


protected_resource_handler = handlers.adapt(handlers.protected_resource_handler, _to_view)
protected_resource_handler_clerk = handlers.adapt(handlers.protected_resource_handler_clerk, _to_view)
auth_server_metadata_handler_clerk = handlers.adapt(handlers.auth_server_metadata_handler_clerk, _to_view)
metadata_cors_options_handler = handlers.adapt(handlers.metadata_cors_options_handler, _to_view)


class McpView:
    """A CSRF-exempt view of one protected MCP endpoint; ``endpoint`` is its ASGI app."""

    csrf_exempt = True

    def __init__(self, server: McpResourceServer) -> None:
        self.server = server
        self.endpoint = server.endpoint
        self.wsgi = server.wsgi_endpoint()

    def __call__(self, request: HttpRequest) -> HttpResponseBase:
        return serve_mcp(request, self.wsgi)


def streamable_http_handler(options: McpOptions | ServerSource, /, **overrides: Any) -> McpView:
    """The TS ``streamableHttpHandler``: an :class:`~mcp_tools.options.McpOptions` or the server,
    plus options by flat name (``verifier=..., resource_url=...``). ``Host``: ``ALLOWED_HOSTS``
    unless ``allowed_hosts`` is given."""
    given = options.allowed_hosts if isinstance(options, McpOptions) else None
    if overrides.get("allowed_hosts", given) is None:
        overrides["allowed_hosts"] = host_allowed
    return McpView(McpResourceServer(options, **overrides))
