"""Flask views for the client side: start a connection (redirect) and finish it (callback).

The logic is in :mod:`mcp_tools.client.views`; these views only convert requests and
responses. Typical wiring::

    store = store_from_url(app.config["MCP_STORE_URL"], encryption_keys=[...])

    app.add_url_rule("/mcp/connect", view_func=connect_handler(
        store, secret=app.secret_key, oauth_redirect_url="https://app.example.com/oauth/callback",
        mcp_client_name="My App", mcp_client_version="1.0"))

    def connected(client: McpClient) -> ResponseReturnValue:
        session["mcp_session"] = client.session_id
        return redirect("/")

    app.add_url_rule("/oauth/callback", view_func=complete_oauth_handler(store, connected,
                                                                          secret=app.secret_key))
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask import Response as FlaskResponse
from flask import make_response
from flask.typing import ResponseReturnValue

from mcp_tools.client import BINDING_COOKIE, McpClient, UrlGuard, authorization_redirect
from mcp_tools.client.views import ConnectSettings, clear_binding_cookie, complete_callback, connect_view
from mcp_tools.stores import AsyncStore, Store
from mcp_tools_flask.views import View, _named, to_core_request, to_flask_response

__all__ = ["complete_oauth_handler", "connect_handler", "redirect_to_authorization"]


def redirect_to_authorization(
    client: McpClient, *, secret: str | bytes, secure: bool | None = None, cookie_name: str = BINDING_COOKIE
) -> FlaskResponse:
    """``303`` to ``client.authorization_url``, setting the signed browser-binding cookie."""
    return to_flask_response(authorization_redirect(client, secret, secure=secure, cookie_name=cookie_name))


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
    Authenticate your users before this view."""
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

    def view(**_: Any) -> FlaskResponse:
        return to_flask_response(connect_view(to_core_request(include_body=False), store, settings))

    return _named(view, "mcp_connect", ("GET",))


def complete_oauth_handler(
    store: Store | AsyncStore,
    callback: Callable[[McpClient], ResponseReturnValue],
    *,
    secret: str | bytes,
    cookie_name: str = BINDING_COOKIE,
    url_guard: UrlGuard | None = None,
) -> View:
    """The OAuth callback view (TS ``completeOAuthHandler(store, callback)``).

    ``400 {"error": "State missing"}`` / ``{"error": "Authorization code missing"}`` as the
    TypeScript handler, ``403`` for ``error=access_denied``, ``400`` for an unknown, replayed or
    cross-browser ``state`` or a wrong ``iss``, ``502``/``504`` when the authorization server
    fails; otherwise ``callback(client)``'s response. The binding cookie is cleared either way.
    """

    def view(**_: Any) -> FlaskResponse:
        outcome = complete_callback(
            to_core_request(include_body=False),
            store,
            secret=secret,
            cookie_name=cookie_name,
            url_guard=url_guard,
        )
        if outcome.client is None:
            assert outcome.response is not None
            response = to_flask_response(outcome.response)
        else:
            response = make_response(callback(outcome.client))
        response.headers.add("Set-Cookie", clear_binding_cookie(cookie_name))
        return response

    return _named(view, "mcp_oauth_callback", ("GET",))
