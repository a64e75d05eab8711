"""Django views for the client side: start a connection (redirect) and finish it (callback).

The logic is in :mod:`mcp_tools.client.views`; these views only convert requests and
responses. Both are ``GET`` views, so CSRF does not apply. Typical wiring::

    store = store_from_url(settings.MCP_STORE_URL, encryption_keys=[...])

    def connected(client: McpClient, request: HttpRequest) -> HttpResponse:
        request.session["mcp_session"] = client.session_id
        return redirect("/")

    urlpatterns = [
        path("mcp/connect", connect_handler(store, secret=settings.SECRET_KEY,
             oauth_redirect_url="https://app.example.com/oauth/callback",
             mcp_client_name="My App", mcp_client_version="1.0")),
        path("oauth/callback", complete_oauth_handler(store, connected, secret=settings.SECRET_KEY)),
    ]
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.http import HttpRequest, HttpResponseBase
from django.views.decorators.http import require_GET

from mcp_tools.client import BINDING_COOKIE, McpClient, UrlGuard, authorization_redirect
from mcp_tools.client.views import ConnectSettings, complete_callback, connect_view
from mcp_tools.stores import AsyncStore, Store
from mcp_tools_django.views import to_core_request, to_django_response

__all__ = ["complete_oauth_handler", "connect_handler", "redirect_to_authorization"]

View = Callable[[HttpRequest], HttpResponseBase]


def redirect_to_authorization(
    client: McpClient, *, secret: str | bytes, secure: bool | None = None, cookie_name: str = BINDING_COOKIE
) -> HttpResponseBase:
    """``303`` to ``client.authorization_url``, setting the signed browser-binding cookie."""
    return to_django_response(authorization_redirect(client, secret, secure=secure, cookie_name=cookie_name))


def connect_handler(
    store: Store | AsyncStore,
    *,
    secret: str | bytes,
    oauth_redirect_url: str,
    mcp_client_name: str,
    mcp_client_version: str,
    endpoint_param: str = "mcp_endpoint",
    cookie_name: str = BINDING_COOKIE,
    url_guard: UrlGuard | None = None,
    **client_options: Any,
) -> View:
    """A ``GET`` view that starts connecting to the MCP URL in the ``mcp_endpoint`` query
    parameter and redirects to consent (see :func:`mcp_tools.client.views.connect_view`).
    Authenticate your users before this view (e.g. ``login_required``)."""
    settings = ConnectSettings(
        secret=secret,
        oauth_redirect_url=oauth_redirect_url,
        mcp_client_name=mcp_client_name,
        mcp_client_version=mcp_client_version,
        endpoint_param=endpoint_param,
        cookie_name=cookie_name,
        url_guard=url_guard,
        client_options=client_options,
    )

    @require_GET
    def view(request: HttpRequest) -> HttpResponseBase:
        return to_django_response(connect_view(to_core_request(request), store, settings))

    return view


def complete_oauth_handler(
    store: Store | AsyncStore,
    callback: Callable[[McpClient, HttpRequest], HttpResponseBase],
    *,
    secret: str | bytes,
    cookie_name: str = BINDING_COOKIE,
    url_guard: UrlGuard | None = None,
) -> View:
    """The OAuth callback view (TS ``completeOAuthHandler(store, callback)``).

    ``400 {"error": "State missing"}`` / ``{"error": "Authorization code missing"}`` as the
    TypeScript handler, ``403`` for ``error=access_denied``, ``400`` for an unknown, replayed or
    cross-browser ``state`` or a wrong ``iss``, ``502``/``504`` when the authorization server
    fails; otherwise ``callback(client, request)``. The binding cookie is cleared either way.
    """

    @require_GET
    def view(request: HttpRequest) -> HttpResponseBase:
        core = to_core_request(request)
        outcome = complete_callback(core, store, secret=secret, cookie_name=cookie_name, url_guard=url_guard)
        if outcome.client is None:
            assert outcome.response is not None
            response = to_django_response(outcome.response)
        else:
            response = callback(outcome.client, request)
        response.delete_cookie(cookie_name, path="/", samesite="Lax")
        return response

    return view
