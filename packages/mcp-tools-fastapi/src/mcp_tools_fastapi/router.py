"""Routes, dependencies and converters for FastAPI (see the package docstring)."""

from __future__ import annotations

import contextlib
import inspect
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

from fastapi import APIRouter, HTTPException
from fastapi import Request as FastAPIRequest
from fastapi.responses import Response as FastAPIResponse
from mcp.server.auth.provider import AccessToken
from starlette.routing import NoMatchFound, Route

from mcp_tools.errors import ConfigurationError
from mcp_tools.http import Headers, Request, Response, json_response
from mcp_tools.options import McpOptions
from mcp_tools.server import bearer, handlers
from mcp_tools.server.endpoint import McpEndpoint, ServerSource
from mcp_tools.server.resource_server import AUTHORIZATION_SERVER_METADATA_PATH, McpResourceServer

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
        if name.lower() != "content-length":
            native.headers.append(name, value)
    return native


def _endpoint(handler: Callable[[Request], Response | Awaitable[Response]]) -> Handler:
    """A FastAPI route handler around a neutral one (its ``acall`` when it has one)."""
    call = getattr(handler, "acall", handler)

    async def endpoint(request: FastAPIRequest) -> FastAPIResponse:
        response = call(await to_core_request(request))
        return to_fastapi_response(await response if inspect.isawaitable(response) else response)

    return endpoint


class _AnyMethod:
    """A route handler as an ASGI app: a ``Route`` passes it every method (the core answers 405)."""

    def __init__(self, handler: Handler) -> None:
        self.handler = handler

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        await (await self.handler(FastAPIRequest(scope, receive)))(scope, receive, send)


def _not_found(path: str) -> Callable[[Request], Response]:
    def handler(_request: Request) -> Response:
        return json_response(
            {"error": "not_found", "error_description": f"this is served at {path}"}, status=404
        )

    return handler


class McpRouter(APIRouter):
    """An :class:`~fastapi.APIRouter` serving one protected MCP endpoint and its discovery documents.

    ``resource_server`` holds the settings. The router's lifespan (merged into the app's by
    ``include_router``) starts a fresh SDK session manager at each start, and refuses a router
    included under a ``prefix``: its paths come from ``resource_url``, which is what clients see.
    """

    def __init__(self, resource_server: McpResourceServer) -> None:
        super().__init__(lifespan=self._lifespan)
        self.resource_server = rs = resource_server
        self.route_name = f"mcp_tools:{rs.mcp_path}"
        self.routes.append(Route(rs.mcp_path, endpoint=rs.endpoint, methods=None, name=self.route_name))
        documents = dict.fromkeys(rs.metadata_paths, _endpoint(rs.handle_protected_resource))
        if rs.serves_authorization_server_metadata:
            documents[AUTHORIZATION_SERVER_METADATA_PATH] = _endpoint(rs.ahandle_authorization_server)
        for path, handler in documents.items():
            self.routes.append(Route(path, endpoint=_AnyMethod(handler), methods=None))
        # Starlette's redirect_slashes would answer "/mcp/" with a 307 to a URL built from the
        # Host header: the other spelling of each path gets a JSON 404 here instead.
        for path in [rs.mcp_path, *documents]:
            other = path.rstrip("/") if path.endswith("/") else path + "/"
            if other and other not in (rs.mcp_path, *documents):
                self.routes.append(
                    Route(other, endpoint=_AnyMethod(_endpoint(_not_found(path))), methods=None)
                )

    @contextlib.asynccontextmanager
    async def _lifespan(self, app: Any) -> AsyncIterator[None]:
        with contextlib.suppress(NoMatchFound, AttributeError):
            served = app.url_path_for(self.route_name)
            if served != self.resource_server.mcp_path:
                raise ConfigurationError(
                    f"the MCP router is served at {served!r}, not at {self.resource_server.mcp_path!r}: "
                    "include it without a prefix (its paths come from resource_url / mcp_path)"
                )
        async with self.resource_server.endpoint.run():
            yield


def create_mcp_router(options: McpOptions | ServerSource, /, **overrides: Any) -> McpRouter:
    """An ``APIRouter`` with the MCP endpoint and its discovery documents.

    Takes an :class:`~mcp_tools.options.McpOptions`, or the server and the options' flat names
    as keywords (``verifier=``, ``resource_url=``, ``authorization_servers=``, ...); keywords
    override an options object's fields. Routes: ``<mcp_path>`` (default: the path of
    ``resource_url``), ``/.well-known/oauth-protected-resource<path of resource_url>`` and, with
    ``authorization_server_metadata``, ``/.well-known/oauth-authorization-server``. Include it
    with ``app.include_router(router)``, without a ``prefix``.
    """
    return McpRouter(McpResourceServer(options, **overrides))


def streamable_http_handler(options: McpOptions | ServerSource, /, **overrides: Any) -> McpEndpoint:
    """The protected MCP endpoint alone, as an ASGI app (same arguments as :func:`create_mcp_router`).

    ``app.add_route("/mcp", handler)``, started in the app's lifespan: ``async with handler.run(): yield``.
    """
    return McpResourceServer(options, **overrides).endpoint


# -- TS-named building blocks for hand-wired routes -----------------------------------------------

protected_resource_handler = handlers.adapt(handlers.protected_resource_handler, _endpoint)
protected_resource_handler_clerk = handlers.adapt(handlers.protected_resource_handler_clerk, _endpoint)
auth_server_metadata_handler_clerk = handlers.adapt(handlers.auth_server_metadata_handler_clerk, _endpoint)
metadata_cors_options_handler = handlers.adapt(handlers.metadata_cors_options_handler, _endpoint)


class McpAuthError(HTTPException):
    """Raised by :func:`mcp_auth` dependencies; carries the core 401/403/503 response.

    FastAPI renders it as ``{"detail": {...}}`` with the right status and ``WWW-Authenticate``;
    install :func:`mcp_auth_exception_handler` for the MCP endpoint's exact JSON body.
    """

    def __init__(self, response: Response) -> None:
        self.response = response
        headers = {k: v for k, v in response.headers if k.lower() != "content-type"}
        super().__init__(status_code=response.status, detail=response.json(), headers=headers)


async def mcp_auth_exception_handler(_request: FastAPIRequest, exc: Exception) -> FastAPIResponse:
    """``app.add_exception_handler(McpAuthError, mcp_auth_exception_handler)``."""
    assert isinstance(exc, McpAuthError)
    return to_fastapi_response(exc.response)


def _dependency(guard: bearer.BearerGuard) -> Callable[[FastAPIRequest], Awaitable[AccessToken]]:
    """A FastAPI dependency returning the verified :class:`AccessToken` or raising
    :class:`McpAuthError`: ``token: AccessToken = Depends(mcp_auth(verifier, resource_url=...))``."""

    async def dependency(request: FastAPIRequest) -> AccessToken:
        result = await guard.authenticate(await to_core_request(request))
        if result.token is None:
            assert result.response is not None
            raise McpAuthError(result.response)
        return result.token

    return dependency


mcp_auth = handlers.adapt(bearer.mcp_auth_guard, _dependency)
mcp_auth_clerk = handlers.adapt(bearer.mcp_auth_clerk_guard, _dependency)
