"""Framework-neutral client-side views: start a connection, finish the OAuth callback.

Each adapter's ``connect_handler`` and ``complete_oauth_handler`` are these functions plus its
two converters. The starting view reads the MCP URL from a query parameter, runs discovery and
registration, and answers ``303`` to the authorization server with the signed browser-binding
cookie; the callback checks the binding, completes the flow and hands the connected
:class:`~mcp_tools.client.McpClient` to the app (or answers the error), clearing the cookie.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from mcp_tools.client.api import (
    McpClient,
    acreate_dynamically_registered_mcp_client,
    create_dynamically_registered_mcp_client,
)
from mcp_tools.client.callback import (
    BINDING_COOKIE,
    CallbackOutcome,
    ahandle_oauth_callback,
    authorization_redirect,
    error_response,
    handle_oauth_callback,
    read_browser_binding,
    store_error_response,
)
from mcp_tools.client.errors import McpClientError
from mcp_tools.client.guard import UrlGuard
from mcp_tools.http import Request, Response, json_response
from mcp_tools.stores import AsyncStore, Store, StoreError

__all__ = [
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


def connect_view(request: Request, store: Store | AsyncStore, settings: ConnectSettings) -> Response:
    """Start connecting to the MCP URL in the request's query (synchronous frameworks).

    ``400`` without the URL; the status of :func:`~mcp_tools.client.error_response` for an unsafe
    URL or a misconfigured server; ``503`` when the store fails; otherwise ``303`` to consent with
    the binding cookie set.
    """
    endpoint = settings.endpoint_of(request)
    if isinstance(endpoint, Response):
        return endpoint
    try:
        client = create_dynamically_registered_mcp_client(**settings.arguments(request, endpoint, store))
    except McpClientError as exc:
        return error_response(exc)
    except StoreError as exc:
        return store_error_response(exc)
    return settings.redirect(client)


async def aconnect_view(request: Request, store: Store | AsyncStore, settings: ConnectSettings) -> Response:
    """The asynchronous twin of :func:`connect_view`."""
    endpoint = settings.endpoint_of(request)
    if isinstance(endpoint, Response):
        return endpoint
    try:
        client = await acreate_dynamically_registered_mcp_client(
            **settings.arguments(request, endpoint, store)
        )
    except McpClientError as exc:
        return error_response(exc)
    except StoreError as exc:
        return store_error_response(exc)
    return settings.redirect(client)


def clear_binding_cookie(cookie_name: str = BINDING_COOKIE, path: str = "/") -> str:
    """A ``Set-Cookie`` value that deletes the binding cookie."""
    return f"{cookie_name}=; Max-Age=0; Path={path}; HttpOnly; SameSite=Lax"


def complete_callback(
    request: Request,
    store: Store | AsyncStore,
    *,
    secret: str | bytes,
    cookie_name: str = BINDING_COOKIE,
    url_guard: UrlGuard | None = None,
) -> CallbackOutcome:
    """Check the browser binding and complete the flow (synchronous frameworks).

    The outcome holds the connected client, or the error response (TS bodies for a missing
    ``state``/``code``, ``403`` for ``access_denied``...). Either way the adapter clears the
    binding cookie (:func:`clear_binding_cookie`).
    """
    binding = read_browser_binding(request, secret, cookie_name)
    return handle_oauth_callback(request, store, browser_binding=binding, url_guard=url_guard)


async def acomplete_callback(
    request: Request,
    store: Store | AsyncStore,
    *,
    secret: str | bytes,
    cookie_name: str = BINDING_COOKIE,
    url_guard: UrlGuard | None = None,
) -> CallbackOutcome:
    """The asynchronous twin of :func:`complete_callback`."""
    binding = read_browser_binding(request, secret, cookie_name)
    return await ahandle_oauth_callback(request, store, browser_binding=binding, url_guard=url_guard)
