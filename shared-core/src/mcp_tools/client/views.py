"""Framework-neutral client-side views: start a connection, finish the OAuth callback.

Each adapter's ``connect_handler``, ``complete_oauth_handler`` and ``redirect_to_authorization``
are these functions plus its two converters; their options are typed once in
:mod:`mcp_tools.client.params` (``ConnectOptions``, ``CallbackOptions``, ``RedirectOptions``).
The starting view
reads the MCP URL from a query parameter, runs discovery and registration, and answers ``303`` to
the authorization server with the signed browser-binding cookie; the callback checks the binding,
completes the flow and hands the connected :class:`~mcp_tools.client.McpClient` to the app's
``callback(client, request)`` (or answers the error), clearing the cookie.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, fields
from typing import Any

from mcp_tools.client._io import Run
from mcp_tools.client._steps import then
from mcp_tools.client.api import McpClient, create_run
from mcp_tools.client.callback import (
    BINDING_COOKIE,
    CallbackOutcome,
    ahandle_oauth_callback,
    authorization_redirect,
    handle_oauth_callback,
    read_browser_binding,
    responding,
)
from mcp_tools.client.guard import UrlGuard
from mcp_tools.client.params import ConnectOptions, checked
from mcp_tools.http import Request, Response, json_response
from mcp_tools.stores import AsyncStore, Store

__all__ = [
    "CallbackSettings",
    "ConnectSettings",
    "acomplete_callback",
    "aconnect_view",
    "clear_binding_cookie",
    "complete_callback",
    "connect_view",
]


@dataclass(frozen=True)
class ConnectSettings:
    """What the connect view needs besides the store (see :func:`connect_view`)."""

    secret: str | bytes
    oauth_redirect_url: str
    mcp_client_name: str
    mcp_client_version: str
    endpoint_param: str = "mcp_endpoint"
    cookie_name: str = BINDING_COOKIE
    url_guard: UrlGuard | None = None
    client_options: Mapping[str, Any] | None = None

    @classmethod
    def of(cls, options: ConnectOptions) -> ConnectSettings:
        """The settings from an adapter's keyword arguments; the rest go to client creation."""
        checked(options, ConnectOptions)
        own = {spec.name for spec in fields(cls)}
        mine: dict[str, Any] = {name: value for name, value in options.items() if name in own}
        return cls(
            **mine,
            client_options={name: value for name, value in options.items() if name not in own},
        )

    def arguments(self, request: Request, endpoint: str, store: Store | AsyncStore) -> dict[str, Any]:
        return {
            "mcp_endpoint": endpoint,
            "oauth_redirect_url": self.oauth_redirect_url,
            "mcp_client_name": self.mcp_client_name,
            "mcp_client_version": self.mcp_client_version,
            "store": store,
            "browser_binding": read_browser_binding(request, self.secret, self.cookie_name),
            "url_guard": self.url_guard,
            **(self.client_options or {}),
        }

    def endpoint_of(self, request: Request) -> str | Response:
        endpoint = request.query.get(self.endpoint_param)
        if not endpoint:
            return json_response({"error": f"{self.endpoint_param} missing"}, 400)
        return endpoint

    def redirect(self, client: McpClient) -> Response:
        if client.authorization_url is None:  # the server needs no authorization
            return json_response({"session_id": client.session_id}, 200)
        return authorization_redirect(client, self.secret, cookie_name=self.cookie_name)


def _connect(
    request: Request, store: Store | AsyncStore, settings: ConnectSettings
) -> Response | Run[Response]:
    endpoint = settings.endpoint_of(request)
    if isinstance(endpoint, Response):
        return endpoint
    run = create_run(settings.arguments(request, endpoint, store))
    return Run(responding(then(run.flow, settings.redirect)), run.store, run.guard)


def connect_view(request: Request, store: Store | AsyncStore, settings: ConnectSettings) -> Response:
    """Start connecting to the MCP URL in the request's query (synchronous frameworks).

    ``400`` without the URL; the status of :func:`~mcp_tools.client.error_response` for an unsafe
    URL or a misconfigured server; ``503`` when the store fails; otherwise ``303`` to consent with
    the binding cookie set.
    """
    run = _connect(request, store, settings)
    return run if isinstance(run, Response) else run.sync()


async def aconnect_view(request: Request, store: Store | AsyncStore, settings: ConnectSettings) -> Response:
    """The asynchronous twin of :func:`connect_view`."""
    run = _connect(request, store, settings)
    return run if isinstance(run, Response) else await run.aio()


def clear_binding_cookie(cookie_name: str = BINDING_COOKIE, path: str = "/") -> str:
    """A ``Set-Cookie`` value that deletes the binding cookie."""
    return f"{cookie_name}=; Max-Age=0; Path={path}; HttpOnly; SameSite=Lax"


@dataclass(frozen=True)
class CallbackSettings:
    """What the callback view needs besides the store and the app's callback."""

    secret: str | bytes
    cookie_name: str = BINDING_COOKIE
    url_guard: UrlGuard | None = None

    @property
    def clear_cookie(self) -> str:
        """The ``Set-Cookie`` value that deletes the binding cookie (sent with every answer)."""
        return clear_binding_cookie(self.cookie_name)


def complete_callback(
    request: Request, store: Store | AsyncStore, settings: CallbackSettings
) -> CallbackOutcome:
    """Check the browser binding and complete the flow (synchronous frameworks).

    The outcome holds the connected client, or the error response: ``400 {"error": "State
    missing"}`` / ``{"error": "Authorization code missing"}`` as the TypeScript handler (state
    checked first), ``403`` for ``error=access_denied``, ``400`` for an unknown, replayed or
    cross-browser ``state`` or a wrong ``iss``, ``502``/``504`` when the authorization server
    fails, ``503`` when the store does. Either way the adapter clears the binding cookie
    (:attr:`CallbackSettings.clear_cookie`).
    """
    binding = read_browser_binding(request, settings.secret, settings.cookie_name)
    return handle_oauth_callback(request, store, browser_binding=binding, url_guard=settings.url_guard)


async def acomplete_callback(
    request: Request, store: Store | AsyncStore, settings: CallbackSettings
) -> CallbackOutcome:
    """The asynchronous twin of :func:`complete_callback`."""
    binding = read_browser_binding(request, settings.secret, settings.cookie_name)
    return await ahandle_oauth_callback(request, store, browser_binding=binding, url_guard=settings.url_guard)
