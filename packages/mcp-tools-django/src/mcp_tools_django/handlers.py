"""The TypeScript package's building blocks as Django view factories, for hand-wired URLconfs.

Each returns a plain (sync) Django view; wire it with ``path(...)``. They need no ``MCP_TOOLS``
setting: everything is passed in. ``mcp_auth`` / ``mcp_auth_clerk`` (decorators) live in
:mod:`mcp_tools_django.decorators`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

from django.http import HttpRequest, HttpResponseBase
from django.views.decorators.csrf import csrf_exempt

from mcp_tools.http import Request, Response
from mcp_tools.server import handlers
from mcp_tools.server.endpoint import McpEndpoint, ServerSource
from mcp_tools.server.resource_server import (
    McpResourceServer,
)
from mcp_tools.server.verifiers.base import McpTokenVerifier
from mcp_tools.server.wsgi import WsgiMcpEndpoint
from mcp_tools_django.views import serve_mcp, to_core_request, to_django_response

__all__ = [
    "auth_server_metadata_handler_clerk",
    "metadata_cors_options_handler",
    "protected_resource_handler",
    "protected_resource_handler_clerk",
    "streamable_http_handler",
]

View = Callable[[HttpRequest], HttpResponseBase]


def _wrap(handler: Callable[[Request], Response]) -> View:
    @csrf_exempt
    def view(request: HttpRequest) -> HttpResponseBase:
        return to_django_response(handler(to_core_request(request)))

    return view


def protected_resource_handler(
    auth_server_url: str,
    properties: Mapping[str, Any] | None = None,
    *,
    resource_url: str | None = None,
    trust_proxy: bool = False,
    mcp_path: str = "/mcp",
) -> View:
    """A view returning TS-compatible protected resource metadata for ``auth_server_url``;
    see :func:`mcp_tools.server.handlers.protected_resource_handler`."""
    return _wrap(
        handlers.protected_resource_handler(
            auth_server_url, properties, resource_url=resource_url, trust_proxy=trust_proxy, mcp_path=mcp_path
        )
    )


def protected_resource_handler_clerk(
    properties: Mapping[str, Any] | None = None,
    *,
    publishable_key: str | None = None,
    resource_url: str | None = None,
    trust_proxy: bool = False,
    mcp_path: str = "/mcp",
    env_var: str = "CLERK_PUBLISHABLE_KEY",
) -> View:
    """As :func:`protected_resource_handler`, with the Clerk instance as authorization server
    (key from ``publishable_key`` or the ``env_var`` environment variable, read now)."""
    return _wrap(
        handlers.protected_resource_handler_clerk(
            properties,
            publishable_key=publishable_key,
            resource_url=resource_url,
            trust_proxy=trust_proxy,
            mcp_path=mcp_path,
            env_var=env_var,
        )
    )


def auth_server_metadata_handler_clerk(
    publishable_key: str | None = None, *, env_var: str = "CLERK_PUBLISHABLE_KEY", cache_ttl: float = 300.0
) -> View:
    """A view proxying the Clerk instance's RFC 8414 metadata (cached; 502 when unavailable)."""
    return _wrap(
        handlers.auth_server_metadata_handler_clerk(publishable_key, env_var=env_var, cache_ttl=cache_ttl)
    )


def metadata_cors_options_handler() -> View:
    """A view for ``OPTIONS`` on metadata routes: 200 with the TS package's CORS headers."""
    return _wrap(handlers.metadata_cors_options_handler())


class McpView:
    """A CSRF-exempt Django view serving one protected MCP endpoint (see
    :func:`streamable_http_handler`). ``endpoint`` is the core ASGI app, for ASGI composition."""

    csrf_exempt = True

    def __init__(self, endpoint: McpEndpoint) -> None:
        self.endpoint = endpoint
        self.wsgi = WsgiMcpEndpoint(endpoint)

    def __call__(self, request: HttpRequest) -> HttpResponseBase:
        return serve_mcp(request, self.wsgi)


def streamable_http_handler(
    server: ServerSource,
    *,
    verifier: McpTokenVerifier,
    resource_url: str,
    authorization_servers: Sequence[str],
    scopes: Sequence[str] = (),
    tool_scopes: Mapping[str, Iterable[str]] | None = None,
    stateless: bool = True,
    json_response: bool = True,
) -> McpView:
    """The TS ``streamableHttpHandler``: the protected MCP endpoint as a Django view.

    ``path("mcp", streamable_http_handler(mcp, verifier=..., resource_url=..., ...))``. The
    ``Host`` check uses ``ALLOWED_HOSTS``; the SDK runs behind the core's WSGI bridge.
    """
    endpoint = McpResourceServer(
        server,
        verifier=verifier,
        resource_url=resource_url,
        authorization_servers=authorization_servers,
        scopes=scopes,
        tool_scopes=tool_scopes,
        allowed_hosts=["*"],
        stateless=stateless,
        json_response=json_response,
    ).endpoint
    return McpView(endpoint)
