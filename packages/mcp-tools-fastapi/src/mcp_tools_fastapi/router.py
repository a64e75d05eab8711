"""Routes, dependencies and converters for FastAPI (see the package docstring)."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Mapping, Sequence
from typing import Any

from fastapi import APIRouter, HTTPException
from fastapi import Request as FastAPIRequest
from fastapi.responses import Response as FastAPIResponse
from mcp.server.auth.provider import AccessToken
from mcp.server.streamable_http import EventStore
from starlette.routing import Route

from mcp_tools.http import Headers, Request, Response
from mcp_tools.server import handlers
from mcp_tools.server.bearer import BearerGuard
from mcp_tools.server.endpoint import McpEndpoint, ServerSource
from mcp_tools.server.resource_server import (
    AUTHORIZATION_SERVER_METADATA_PATH,
    AuthorizationServerMetadataSource,
    McpResourceServer,
)
from mcp_tools.server.verifiers.base import McpTokenVerifier
from mcp_tools.server.verifiers.clerk import ClerkTokenVerifier

__all__ = [
    "McpAuthError",
    "McpRouter",
    "auth_server_metadata_handler_clerk",
    "create_mcp_router",
    "mcp_auth",
    "mcp_auth_clerk",
    "mcp_auth_exception_handler",
    "metadata_cors_options_handler",
    "protected_resource_handler",
    "protected_resource_handler_clerk",
    "streamable_http_handler",
    "to_core_request",
    "to_fastapi_response",
]

Handler = Callable[[FastAPIRequest], Awaitable[FastAPIResponse]]


async def to_core_request(request: FastAPIRequest) -> Request:
    """Convert a Starlette/FastAPI request (reads the body)."""
    body = await request.body()
    headers = Headers.from_latin1(request.headers.raw)
    return Request(method=request.method, url=str(request.url), headers=headers, body=body)


def to_fastapi_response(response: Response) -> FastAPIResponse:
    """Convert a core response."""
    native = FastAPIResponse(content=response.body, status_code=response.status)
    for name, value in response.headers:
        if name.lower() == "content-length":
            continue
        native.headers.append(name, value)
    return native


class _AnyMethod:
    """An ASGI app around a request handler: a ``Route`` then passes it every method."""

    def __init__(self, handler: Handler) -> None:
        self.handler = handler

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        response = await self.handler(FastAPIRequest(scope, receive))
        await response(scope, receive, send)


class McpRouter(APIRouter):
    """An :class:`~fastapi.APIRouter` that serves one protected MCP endpoint.

    ``resource_server`` holds the settings; the router's lifespan starts a fresh SDK session
    manager each time the app starts (so several ``TestClient(app)`` blocks in a row work).
    """

    resource_server: McpResourceServer

    @property
    def endpoint(self) -> McpEndpoint:
        return self.resource_server.endpoint


def create_mcp_router(
    server: ServerSource,
    *,
    verifier: McpTokenVerifier,
    resource_url: str,
    authorization_servers: Sequence[str],
    scopes: Sequence[str] = (),
    scopes_supported: Sequence[str] | None = None,
    tool_scopes: Mapping[str, Iterable[str]] | None = None,
    path: str | None = None,
    resource_name: str | None = None,
    resource_documentation: str | None = None,
    authorization_server_metadata: Mapping[str, Any] | AuthorizationServerMetadataSource | None = None,
    allowed_hosts: Sequence[str] | None = None,
    allowed_origins: Sequence[str] | None = None,
    stateless: bool = True,
    json_response: bool = True,
    event_store: EventStore | None = None,
) -> McpRouter:
    """An ``APIRouter`` with the MCP endpoint and its discovery documents.

    Routes: ``GET|POST|DELETE|OPTIONS <path>`` (default: the path of ``resource_url``),
    ``GET|OPTIONS /.well-known/oauth-protected-resource<path>`` and, when
    ``authorization_server_metadata`` is given (a document, or
    :class:`~mcp_tools.server.resource_server.ClerkAuthorizationServerMetadata`),
    ``GET|OPTIONS /.well-known/oauth-authorization-server``. Include it with
    ``app.include_router(router)``; do not give it a ``prefix`` (the paths come from
    ``resource_url``, which is what clients see).
    """
    resource_server = McpResourceServer(
        server,
        verifier=verifier,
        resource_url=resource_url,
        authorization_servers=authorization_servers,
        scopes=scopes,
        scopes_supported=scopes_supported,
        tool_scopes=tool_scopes,
        mcp_path=path,
        resource_name=resource_name,
        resource_documentation=resource_documentation,
        authorization_server_metadata=authorization_server_metadata,
        allowed_hosts=allowed_hosts,
        allowed_origins=allowed_origins,
        stateless=stateless,
        json_response=json_response,
        event_store=event_store,
    )

    @contextlib.asynccontextmanager
    async def lifespan(_app: Any) -> AsyncIterator[None]:
        async with resource_server.endpoint.run():
            yield

    router = McpRouter(lifespan=lifespan)
    router.resource_server = resource_server
    router.routes.append(Route(resource_server.mcp_path, endpoint=resource_server.endpoint, methods=None))

    async def protected_resource(request: FastAPIRequest) -> FastAPIResponse:
        return to_fastapi_response(resource_server.handle_protected_resource(await to_core_request(request)))

    # Every method reaches the core, which answers the unsupported ones with a JSON 405
    # (FastAPI's own would be {"detail": ...}).
    for metadata_path in resource_server.metadata_paths:
        router.routes.append(Route(metadata_path, endpoint=_AnyMethod(protected_resource), methods=None))

    if resource_server.serves_authorization_server_metadata:

        async def authorization_server(request: FastAPIRequest) -> FastAPIResponse:
            core = await to_core_request(request)
            return to_fastapi_response(await resource_server.ahandle_authorization_server(core))

        router.routes.append(
            Route(AUTHORIZATION_SERVER_METADATA_PATH, endpoint=_AnyMethod(authorization_server), methods=None)
        )
    return router


# -- TS-named building blocks for hand-wired routes -----------------------------------------------


def _wrap(handler: Callable[[Request], Response]) -> Handler:
    async def endpoint(request: FastAPIRequest) -> FastAPIResponse:
        return to_fastapi_response(handler(await to_core_request(request)))

    return endpoint


def protected_resource_handler(
    auth_server_url: str,
    properties: Mapping[str, Any] | None = None,
    *,
    resource_url: str | None = None,
    trust_proxy: bool = False,
    mcp_path: str = "/mcp",
) -> Handler:
    """A route handler returning TS-compatible protected resource metadata; see
    :func:`mcp_tools.server.handlers.protected_resource_handler` (``resource`` is the configured
    URL, derived from forwarded headers only with ``trust_proxy=True``, never with the query)."""
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
) -> Handler:
    """As :func:`protected_resource_handler`, with the Clerk instance as authorization server.

    The publishable key comes from ``publishable_key`` or the ``env_var`` environment variable
    (read when the handler is created, so a missing key fails at start-up, not per request).
    """
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
) -> Handler:
    """A route handler proxying the Clerk instance's RFC 8414 metadata (cached, status-checked)."""
    handler = handlers.auth_server_metadata_handler_clerk(
        publishable_key, env_var=env_var, cache_ttl=cache_ttl
    )

    async def endpoint(request: FastAPIRequest) -> FastAPIResponse:
        return to_fastapi_response(await handler.acall(await to_core_request(request)))

    return endpoint


def metadata_cors_options_handler() -> Handler:
    """A handler for ``OPTIONS`` on metadata routes: 200 with the TS package's CORS headers."""
    return _wrap(handlers.metadata_cors_options_handler())


class McpAuthError(HTTPException):
    """Raised by :func:`mcp_auth` dependencies; carries the core 401/403/503 response.

    FastAPI's default handler renders it as ``{"detail": {...}}`` with the right status and
    ``WWW-Authenticate``; install :func:`mcp_auth_exception_handler` for the exact JSON body
    the MCP endpoint uses.
    """

    def __init__(self, response: Response) -> None:
        self.response = response
        headers = {k: v for k, v in response.headers if k.lower() != "content-type"}
        super().__init__(status_code=response.status, detail=response.json(), headers=headers)


async def mcp_auth_exception_handler(_request: FastAPIRequest, exc: Exception) -> FastAPIResponse:
    """``app.add_exception_handler(McpAuthError, mcp_auth_exception_handler)``."""
    assert isinstance(exc, McpAuthError)
    return to_fastapi_response(exc.response)


def mcp_auth(
    verifier: McpTokenVerifier,
    *,
    resource_url: str,
    scopes: Sequence[str] = (),
    resource_metadata_url: str | None = None,
) -> Callable[[FastAPIRequest], Awaitable[AccessToken]]:
    """A FastAPI dependency that returns the caller's verified :class:`AccessToken`.

    ``@app.get("/me")`` / ``async def me(token: AccessToken = Depends(mcp_auth(verifier, ...)))``.
    Failures raise :class:`McpAuthError` (401 with the RFC 6750/9728 challenge, or 403
    ``insufficient_scope``).
    """
    guard = BearerGuard(
        verifier,
        resource_url=resource_url,
        resource_metadata_url=resource_metadata_url,
        required_scopes=list(scopes),
    )

    async def dependency(request: FastAPIRequest) -> AccessToken:
        result = await guard.authenticate(await to_core_request(request))
        if result.response is not None:
            raise McpAuthError(result.response)
        assert result.token is not None
        return result.token

    return dependency


def mcp_auth_clerk(
    *,
    resource_url: str,
    scopes: Sequence[str] = (),
    secret_key: str | None = None,
    publishable_key: str | None = None,
) -> Callable[[FastAPIRequest], Awaitable[AccessToken]]:
    """:func:`mcp_auth` with :class:`~mcp_tools.server.verifiers.clerk.ClerkTokenVerifier`
    (``CLERK_SECRET_KEY`` / ``CLERK_PUBLISHABLE_KEY`` from the environment by default)."""
    verifier = ClerkTokenVerifier(
        secret_key=secret_key, publishable_key=publishable_key, audience=resource_url
    )
    return mcp_auth(verifier, resource_url=resource_url, scopes=scopes)


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
) -> McpEndpoint:
    """The protected MCP endpoint alone, as an ASGI app, for hand-wired routes.

    Register it with ``app.add_route("/mcp", handler)`` (or a ``Route``) and start it in the
    app's lifespan with ``async with handler.run(): yield``.
    """
    return McpResourceServer(
        server,
        verifier=verifier,
        resource_url=resource_url,
        authorization_servers=authorization_servers,
        scopes=scopes,
        tool_scopes=tool_scopes,
        stateless=stateless,
        json_response=json_response,
    ).endpoint
