"""The TypeScript package's building blocks as framework-neutral handlers.

``@clerk/mcp-tools`` exports per-framework handlers (``protectedResourceHandler``,
``protectedResourceHandlerClerk``, ``authServerMetadataHandlerClerk``,
``metadataCorsOptionsRequestHandler``). Here each is one neutral object taking a
:class:`~mcp_tools.http.Request` and returning a :class:`~mcp_tools.http.Response`; the Django,
Flask and FastAPI adapters wrap them in a native view with their two converters.

Differences from the TypeScript handlers (all deliberate):

* ``resource`` is the configured ``resource_url``. It is derived from the request only with
  ``trust_proxy=True`` (from ``Forwarded``/``X-Forwarded-*``), and never carries the request's
  query string.
* A missing resource URL or Clerk key fails when the handler is created, not on every request.
* Metadata responses carry the CORS headers and ``Cache-Control`` on every framework.
* Clerk's metadata is status-checked, cached and answered with ``502`` when unavailable.
"""

from __future__ import annotations

import functools
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, ParamSpec, TypeVar

from mcp_tools.http import Request, Response
from mcp_tools.server.clerk_metadata import generate_clerk_protected_resource_metadata
from mcp_tools.server.metadata import generate_protected_resource_metadata
from mcp_tools.server.resource import ConfigurationError, resolve_resource_url
from mcp_tools.server.resource_server import (
    ClerkAuthorizationServerMetadata,
    aserve_metadata_source,
    metadata_options_response,
    metadata_response,
    method_not_allowed,
    serve_metadata_source,
)

__all__ = [
    "ClerkAuthServerMetadataHandler",
    "MetadataOptionsHandler",
    "ProtectedResourceMetadataHandler",
    "adapt",
    "auth_server_metadata_handler_clerk",
    "metadata_cors_options_handler",
    "protected_resource_handler",
    "protected_resource_handler_clerk",
]


@dataclass(frozen=True, kw_only=True)
class ProtectedResourceMetadataHandler:
    """Serves TS-compatible protected resource metadata (``GET``/``HEAD``/``OPTIONS``).

    Build it with :func:`protected_resource_handler` or :func:`protected_resource_handler_clerk`.
    """

    auth_server_url: str | None = None
    publishable_key: str | None = None
    properties: Mapping[str, Any] | None = None
    resource_url: str | None = None
    trust_proxy: bool = False
    mcp_path: str = "/mcp"

    def __post_init__(self) -> None:
        if (self.auth_server_url is None) == (self.publishable_key is None):
            raise TypeError("give exactly one of auth_server_url and publishable_key")
        if self.resource_url is not None or not self.trust_proxy:
            # Fail now, not per request, when no resource URL can be had.
            resolve_resource_url(self.resource_url, None, trust_proxy=False)

    def document(self, request: Request | None = None) -> dict[str, Any]:
        """The metadata document for ``request`` (the request matters only with ``trust_proxy``)."""
        resource = resolve_resource_url(
            self.resource_url, request, trust_proxy=self.trust_proxy, mcp_path=self.mcp_path
        )
        if self.publishable_key is not None:
            return generate_clerk_protected_resource_metadata(self.publishable_key, resource, self.properties)
        assert self.auth_server_url is not None
        return generate_protected_resource_metadata(self.auth_server_url, resource, self.properties)

    def __call__(self, request: Request) -> Response:
        if request.method == "OPTIONS":
            return metadata_options_response()
        if request.method not in ("GET", "HEAD"):
            return method_not_allowed("GET, HEAD, OPTIONS")
        return metadata_response(self.document(request))


def protected_resource_handler(
    auth_server_url: str,
    properties: Mapping[str, Any] | None = None,
    *,
    resource_url: str | None = None,
    trust_proxy: bool = False,
    mcp_path: str = "/mcp",
) -> ProtectedResourceMetadataHandler:
    """The TS ``protectedResourceHandler``: metadata naming ``auth_server_url``."""
    return ProtectedResourceMetadataHandler(
        auth_server_url=auth_server_url,
        properties=properties,
        resource_url=resource_url,
        trust_proxy=trust_proxy,
        mcp_path=mcp_path,
    )


def protected_resource_handler_clerk(
    properties: Mapping[str, Any] | None = None,
    *,
    publishable_key: str | None = None,
    resource_url: str | None = None,
    trust_proxy: bool = False,
    mcp_path: str = "/mcp",
    env_var: str = "CLERK_PUBLISHABLE_KEY",
) -> ProtectedResourceMetadataHandler:
    """The TS ``protectedResourceHandlerClerk``: the Clerk instance is the authorization server.

    The key comes from ``publishable_key`` or the ``env_var`` environment variable, read now.
    """
    key = publishable_key or os.environ.get(env_var)
    if not key:
        raise ConfigurationError(f"{env_var} environment variable is required (or pass publishable_key=)")
    return ProtectedResourceMetadataHandler(
        publishable_key=key,
        properties=properties,
        resource_url=resource_url,
        trust_proxy=trust_proxy,
        mcp_path=mcp_path,
    )


class ClerkAuthServerMetadataHandler:
    """Proxies the Clerk instance's RFC 8414 metadata: ``handler(request)`` from sync code,
    ``await handler.acall(request)`` from async code (cached; ``502`` when unavailable)."""

    def __init__(self, source: ClerkAuthorizationServerMetadata) -> None:
        self.source = source

    def __call__(self, request: Request) -> Response:
        return serve_metadata_source(request, self.source)

    async def acall(self, request: Request) -> Response:
        return await aserve_metadata_source(request, self.source)


def auth_server_metadata_handler_clerk(
    publishable_key: str | None = None, *, env_var: str = "CLERK_PUBLISHABLE_KEY", cache_ttl: float = 300.0
) -> ClerkAuthServerMetadataHandler:
    """The TS ``authServerMetadataHandlerClerk``."""
    return ClerkAuthServerMetadataHandler(
        ClerkAuthorizationServerMetadata(publishable_key, env_var=env_var, cache_ttl=cache_ttl)
    )


def metadata_cors_options_handler() -> MetadataOptionsHandler:
    """The TS ``metadataCorsOptionsRequestHandler``: ``200`` with the CORS headers."""
    return MetadataOptionsHandler()


class MetadataOptionsHandler:
    """Answers a CORS preflight on a metadata route."""

    def __call__(self, request: Request) -> Response:
        return metadata_options_response()


CoreHandler = Callable[[Request], Response]
_P = ParamSpec("_P")
_T = TypeVar("_T")
_V = TypeVar("_V")


def adapt(factory: Callable[_P, _T], wrap: Callable[[_T], _V]) -> Callable[_P, _V]:
    """``factory`` (one of the handler factories above, or a guard factory of
    :mod:`mcp_tools.server.bearer`) with its product wrapped by ``wrap``.

    Adapters derive their native TS-named views from the neutral factories in one line each,
    keeping the factory's signature and docstring: ``protected_resource_handler =
    adapt(handlers.protected_resource_handler, to_native_view)``.
    """

    @functools.wraps(factory)
    def make(*args: _P.args, **kwargs: _P.kwargs) -> _V:
        return wrap(factory(*args, **kwargs))

    return make
