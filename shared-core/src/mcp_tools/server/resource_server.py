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
import os
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, Protocol, runtime_checkable
from urllib.parse import urlsplit

from mcp.server.streamable_http import EventStore

from mcp_tools.http import Request, Response, json_response
from mcp_tools.server.bearer import BearerGuard
from mcp_tools.server.clerk_metadata import (
    afetch_clerk_authorization_server_metadata,
    derive_clerk_frontend_api_url,
    fetch_clerk_authorization_server_metadata,
)
from mcp_tools.server.endpoint import DEFAULT_MAX_BODY, McpEndpoint, ServerSource
from mcp_tools.server.metadata import (
    build_protected_resource_metadata,
    cors_headers,
    protected_resource_metadata_path,
    protected_resource_metadata_url,
)
from mcp_tools.server.origin import HostOriginPolicy
from mcp_tools.server.resource import ConfigurationError, validate_resource_url
from mcp_tools.server.verifiers.base import McpTokenVerifier

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


@runtime_checkable
class AuthorizationServerMetadataSource(Protocol):
    """Where RFC 8414 metadata comes from when the app serves it (e.g. a cached Clerk proxy)."""

    def get_sync(self) -> Mapping[str, Any]: ...

    async def get(self) -> Mapping[str, Any]: ...


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

    Args:
        server: the SDK ``MCPServer``/``Server`` or a factory returning one.
        verifier: verifies bearer tokens (:mod:`mcp_tools.server.verifiers`).
        resource_url: the exact URL clients use for the MCP endpoint (RFC 9728 ``resource``;
            tokens must be issued for it).
        authorization_servers: issuer URLs of the authorization servers (at least one).
        scopes: scopes every call needs; advertised in the metadata and the challenge.
        scopes_supported: scopes advertised in the metadata (default: ``scopes`` plus all
            per-tool scopes).
        tool_scopes: extra scopes per tool (see :class:`~mcp_tools.server.scopes.ToolScopes`).
        mcp_path: the route of the endpoint (default: the path of ``resource_url``).
        authorization_server_metadata: serve ``/.well-known/oauth-authorization-server`` from
            this document or source (``None``: the route is not served).
        allowed_hosts / allowed_origins: ``Host``/``Origin`` allowlists (default: the resource
            URL's own, plus loopback when it is local).
    """

    def __init__(
        self,
        server: ServerSource,
        *,
        verifier: McpTokenVerifier,
        resource_url: str,
        authorization_servers: Sequence[str],
        scopes: Sequence[str] = (),
        scopes_supported: Sequence[str] | None = None,
        tool_scopes: Mapping[str, Iterable[str]] | None = None,
        mcp_path: str | None = None,
        resource_name: str | None = None,
        resource_documentation: str | None = None,
        authorization_server_metadata: Mapping[str, Any] | AuthorizationServerMetadataSource | None = None,
        allowed_hosts: Sequence[str] | None = None,
        allowed_origins: Sequence[str] | None = None,
        stateless: bool = True,
        json_response: bool = True,
        event_store: EventStore | None = None,
        max_request_body_size: int = DEFAULT_MAX_BODY,
    ) -> None:
        self.resource_url = validate_resource_url(resource_url)
        if isinstance(authorization_servers, str):
            raise TypeError("authorization_servers must be a list of issuer URLs, not a string")
        self.authorization_servers = list(authorization_servers)
        self.scopes = list(scopes)
        tool_scopes = tool_scopes or {}
        if scopes_supported is None:
            merged = dict.fromkeys(self.scopes)
            for needed in tool_scopes.values():
                merged.update(dict.fromkeys(needed))
            scopes_supported = list(merged)
        self.document = build_protected_resource_metadata(
            self.resource_url,
            self.authorization_servers,
            scopes_supported=scopes_supported or None,
            resource_name=resource_name,
            resource_documentation=resource_documentation,
        )
        path = urlsplit(self.resource_url).path or "/"
        self.mcp_path = mcp_path if mcp_path is not None else path
        if not self.mcp_path.startswith("/"):
            raise ValueError(f"mcp_path must start with '/', got {self.mcp_path!r}")
        self.metadata_url = protected_resource_metadata_url(self.resource_url)
        self.metadata_path = protected_resource_metadata_path(self.resource_url)
        self.authorization_server_metadata = authorization_server_metadata
        self.guard = BearerGuard(
            verifier,
            resource_url=self.resource_url,
            resource_metadata_url=self.metadata_url,
            required_scopes=self.scopes,
        )
        self.policy = HostOriginPolicy.for_resource(
            self.resource_url, allowed_hosts=allowed_hosts, allowed_origins=allowed_origins
        )
        self.endpoint = McpEndpoint(
            server,
            guard=self.guard,
            policy=self.policy,
            tool_scopes=tool_scopes,
            stateless=stateless,
            json_response=json_response,
            event_store=event_store,
            max_request_body_size=max_request_body_size,
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
    if isinstance(source, Mapping):
        return metadata_response(source)
    assert source is not None
    try:
        return metadata_response(source.get_sync())
    except Exception as exc:  # reported as 502, never a 500
        return _metadata_unavailable(exc)


async def aserve_metadata_source(
    request: Request, source: Mapping[str, Any] | AuthorizationServerMetadataSource | None
) -> Response:
    """The asynchronous twin of :func:`serve_metadata_source`."""
    early = _metadata_preamble(request, source)
    if early is not None:
        return early
    if isinstance(source, Mapping):
        return metadata_response(source)
    assert source is not None
    try:
        return metadata_response(await source.get())
    except Exception as exc:  # reported as 502, never a 500
        return _metadata_unavailable(exc)


class ClerkAuthorizationServerMetadata:
    """An :class:`AuthorizationServerMetadataSource` proxying a Clerk instance's metadata.

    The publishable key is read from ``publishable_key`` or the ``env_var`` environment
    variable when the source is created, so a missing key fails at start-up. Documents are
    cached for ``cache_ttl`` seconds; failures raise
    :class:`~mcp_tools.server.clerk_metadata.ClerkMetadataError` (adapters answer 502).
    """

    def __init__(
        self,
        publishable_key: str | None = None,
        *,
        env_var: str = "CLERK_PUBLISHABLE_KEY",
        cache_ttl: float = 300.0,
        timeout: float = 5.0,
        frontend_api_url: str | None = None,
    ) -> None:
        key = publishable_key or os.environ.get(env_var)
        if not key:
            raise ConfigurationError(f"{env_var} environment variable is required (or pass publishable_key=)")
        derive_clerk_frontend_api_url(key)  # validate now: a bad key is a start-up error
        self._key = key
        self._options: dict[str, Any] = {
            "cache_ttl": cache_ttl,
            "timeout": timeout,
            "frontend_api_url": frontend_api_url,
        }

    def get_sync(self) -> Mapping[str, Any]:
        return fetch_clerk_authorization_server_metadata(self._key, **self._options)

    async def get(self) -> Mapping[str, Any]:
        return await afetch_clerk_authorization_server_metadata(self._key, **self._options)
