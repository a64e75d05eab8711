"""One object that holds everything an adapter serves for an OAuth-protected MCP server.

:class:`McpResourceServer` validates the settings once and answers, framework-neutrally,
every route an adapter registers:

==============================================  ===============================================
route                                           handled by
==============================================  ===============================================
``GET|POST|DELETE <mcp path>``                  :attr:`McpResourceServer.endpoint` (ASGI) or
                                                ``endpoint.authorize_sync`` + the WSGI bridge
``GET|OPTIONS /.well-known/oauth-protected-     :meth:`McpResourceServer.handle_protected_resource`
resource[/<mcp path>]``
``GET|OPTIONS /.well-known/oauth-authorization- :meth:`McpResourceServer.handle_authorization_server`
server`` (optional)                             / :meth:`~McpResourceServer.ahandle_authorization_server`
==============================================  ===============================================

Adapters only convert requests and responses and register these routes natively.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from mcp_tools.http import Request, Response, json_response
from mcp_tools.server.bearer import BearerGuard
from mcp_tools.server.clerk_metadata import ClerkAuthorizationServerMetadata
from mcp_tools.server.endpoint import McpEndpoint
from mcp_tools.server.metadata import (
    build_protected_resource_metadata,
    cors_headers,
    protected_resource_metadata_path,
    protected_resource_metadata_url,
)
from mcp_tools.server.options import AuthorizationServerMetadataSource, McpOptions, ServerSource
from mcp_tools.server.origin import HostOriginPolicy
from mcp_tools.server.resource import validate_resource_url

if TYPE_CHECKING:
    from mcp_tools.server.wsgi import WsgiMcpEndpoint

__all__ = [
    "AUTHORIZATION_SERVER_METADATA_PATH",
    "METADATA_CACHE_CONTROL",
    "AuthorizationServerMetadataSource",
    "ClerkAuthorizationServerMetadata",
    "McpResourceServer",
    "aserve_metadata_source",
    "metadata_options_response",
    "metadata_response",
    "method_not_allowed",
    "serve_metadata_source",
]

logger = logging.getLogger("mcp_tools.server")

METADATA_CACHE_CONTROL = "public, max-age=3600"
AUTHORIZATION_SERVER_METADATA_PATH = "/.well-known/oauth-authorization-server"


def metadata_response(
    document: Mapping[str, Any], *, cache_control: str = METADATA_CACHE_CONTROL
) -> Response:
    """A metadata document as JSON, with the TS package's CORS headers and ``Cache-Control``."""
    return json_response(dict(document), headers=[*cors_headers.items(), ("Cache-Control", cache_control)])


def metadata_options_response() -> Response:
    """The CORS preflight answer for metadata routes (status 200, empty body, as the TS package)."""
    return Response(status=200, headers=list(cors_headers.items()))


def method_not_allowed(allowed: str) -> Response:
    return json_response(
        {"error": "method_not_allowed", "error_description": f"use {allowed}"},
        status=405,
        headers={"Allow": allowed},
    )


class McpResourceServer:
    """Settings and neutral handlers of one OAuth-protected MCP endpoint.

    ``McpResourceServer(options)`` with an :class:`~mcp_tools.options.McpOptions`, or
    ``McpResourceServer(server, verifier=..., resource_url=..., authorization_servers=[...])``
    with the options' flat names as keywords (validated: an unknown name is an error). Keywords
    given with an options object override its fields.

    Attributes: ``options`` (the effective :class:`~mcp_tools.options.McpOptions`), ``document``
    (the RFC 9728 metadata), ``guard``, ``policy``, ``endpoint`` and the paths and URLs derived
    from ``resource_url``.
    """

    def __init__(self, options: McpOptions | ServerSource, /, **overrides: Any) -> None:
        if isinstance(options, McpOptions):
            options = McpOptions.from_values(overrides, base=options) if overrides else options
        else:
            options = McpOptions.from_values({"server": options, **overrides})
        self.options = options
        self.resource_url = validate_resource_url(options.resource_url)
        self.authorization_servers = list(options.authorization_servers)
        self.scopes = list(options.scopes)
        tool_scopes = options.tool_scopes or {}
        scopes_supported = options.scopes_supported
        if scopes_supported is None:
            merged = dict.fromkeys(self.scopes)
            for needed in tool_scopes.values():
                merged.update(dict.fromkeys(needed))
            scopes_supported = list(merged)
        self.document = build_protected_resource_metadata(
            self.resource_url,
            self.authorization_servers,
            scopes_supported=list(scopes_supported) or None,
            resource_name=options.resource_name,
            resource_documentation=options.resource_documentation,
        )
        self.mcp_path = options.mcp_path or (urlsplit(self.resource_url).path or "/")
        self.metadata_url = protected_resource_metadata_url(self.resource_url)
        self.metadata_path = protected_resource_metadata_path(self.resource_url)
        self.authorization_server_metadata = options.authorization_server_metadata
        verifier = options.verifier
        if verifier is None:
            from mcp_tools.server.verifiers.jwt import JWTVerifier

            assert options.jwks_uri is not None  # McpOptions checks one of the two is set
            verifier = JWTVerifier(
                issuer=self.authorization_servers[0], audience=self.resource_url, jwks_uri=options.jwks_uri
            )
        self.guard = BearerGuard(
            verifier,
            resource_url=self.resource_url,
            resource_metadata_url=self.metadata_url,
            required_scopes=self.scopes,
        )
        self.policy = HostOriginPolicy.for_resource(
            self.resource_url, allowed_hosts=options.allowed_hosts, allowed_origins=options.allowed_origins
        )
        self.endpoint = McpEndpoint(
            options.server,
            guard=self.guard,
            policy=self.policy,
            tool_scopes=tool_scopes,
            transport=options.transport,
        )

    def wsgi_endpoint(self) -> WsgiMcpEndpoint:
        """A WSGI-side endpoint for this server, configured by ``options.wsgi`` (Flask, Django WSGI)."""
        from mcp_tools.server.wsgi import WsgiMcpEndpoint

        wsgi = self.options.wsgi
        return WsgiMcpEndpoint(
            self.endpoint,
            startup_timeout=wsgi.startup_timeout,
            response_timeout=wsgi.response_timeout,
            inline=wsgi.inline,
            body_timeout=wsgi.body_timeout,
            max_streams=wsgi.max_streams,
        )

    @property
    def metadata_paths(self) -> list[str]:
        """Where the protected resource metadata is served: the path-aware form (RFC 9728 §3.1),
        which for a root resource is the bare well-known path."""
        return [self.metadata_path]

    @property
    def serves_authorization_server_metadata(self) -> bool:
        return self.authorization_server_metadata is not None

    def handle_protected_resource(self, request: Request) -> Response:
        """``GET``/``HEAD``/``OPTIONS`` on the protected resource metadata path."""
        if request.method == "OPTIONS":
            return metadata_options_response()
        if request.method not in ("GET", "HEAD"):
            return method_not_allowed("GET, HEAD, OPTIONS")
        return metadata_response(self.document)

    def handle_authorization_server(self, request: Request) -> Response:
        """``/.well-known/oauth-authorization-server`` from synchronous code."""
        return serve_metadata_source(request, self.authorization_server_metadata)

    async def ahandle_authorization_server(self, request: Request) -> Response:
        """``/.well-known/oauth-authorization-server`` from asynchronous code."""
        return await aserve_metadata_source(request, self.authorization_server_metadata)


def _metadata_preamble(request: Request, source: object) -> Response | None:
    """The answers that need no document: preflight, wrong method, nothing configured."""
    if request.method == "OPTIONS":
        return metadata_options_response()
    if request.method not in ("GET", "HEAD"):
        return method_not_allowed("GET, HEAD, OPTIONS")
    if source is None:
        return json_response({"error": "not_found"}, status=404)
    return None


def _metadata_unavailable(exc: Exception) -> Response:
    logger.warning("authorization server metadata unavailable: %s", exc)
    return json_response(
        {
            "error": "temporarily_unavailable",
            "error_description": "authorization server metadata is unavailable",
        },
        status=502,
    )


def serve_metadata_source(
    request: Request, source: Mapping[str, Any] | AuthorizationServerMetadataSource | None
) -> Response:
    """Serve RFC 8414 metadata from a document or a source (sync); a failing source gives 502."""
    early = _metadata_preamble(request, source)
    if early is not None:
        return early
    assert source is not None
    try:
        return metadata_response(source if isinstance(source, Mapping) else source.get_sync())
    except Exception as exc:  # reported as 502, never a 500
        return _metadata_unavailable(exc)


async def aserve_metadata_source(
    request: Request, source: Mapping[str, Any] | AuthorizationServerMetadataSource | None
) -> Response:
    """The asynchronous twin of :func:`serve_metadata_source`."""
    if isinstance(source, Mapping) or source is None:
        return serve_metadata_source(request, source)
    early = _metadata_preamble(request, source)
    try:
        return early or metadata_response(await source.get())
    except Exception as exc:  # reported as 502, never a 500
        return _metadata_unavailable(exc)
