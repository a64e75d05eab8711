"""Flask views for the client side: start a connection (redirect) and finish it (callback).

The logic and the options are in :mod:`mcp_tools.client.views`; these views only convert
requests and responses. Typical wiring::

    store = load_store(app, app.config["MCP_STORE_URL"])  # encrypted with keys from SECRET_KEY

    app.add_url_rule("/mcp/connect", view_func=connect_handler(  # GET: the form; POST: connect
        store, secret=app.secret_key, oauth_redirect_url="https://app.example.com/oauth/callback",
        mcp_client_name="My App", mcp_client_version="1.0"))

    def connected(client: McpClient, request: flask.Request) -> ResponseReturnValue:
        session["mcp_session"] = client.session_id
        return redirect("/")

    app.add_url_rule("/oauth/callback", view_func=complete_oauth_handler(store, connected,
                                                                          secret=app.secret_key))
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Unpack

from flask import Flask, current_app, make_response, request, session
from flask import Request as FlaskRequest
from flask import Response as FlaskResponse
from flask.typing import ResponseReturnValue

from mcp_tools.client import McpClient, authorization_redirect
from mcp_tools.client import views as core
from mcp_tools.client.params import CallbackOptions, ConnectOptions, RedirectOptions
from mcp_tools.stores import AsyncStore, BaseStore, Store, store_from_url
from mcp_tools_flask.views import View, _named, to_core_request, to_flask_response

__all__ = [
    "complete_oauth_handler",
    "connect_handler",
    "csrf_token",
    "load_store",
    "redirect_to_authorization",
]


def load_store(app: Flask, url: str, **options: Any) -> BaseStore:
    """:func:`~mcp_tools.stores.store_from_url`, encrypted with keys derived from the app's
    ``SECRET_KEY`` and ``SECRET_KEY_FALLBACKS`` (entries written in clear still read) unless
    ``encryption_keys`` is given; without a secret key, in clear with a logged warning."""
    fallbacks = app.config.get("SECRET_KEY_FALLBACKS") or ()
    return store_from_url(url, secret=app.secret_key, secret_fallbacks=fallbacks, **options)


def redirect_to_authorization(client: McpClient, **options: Unpack[RedirectOptions]) -> FlaskResponse:
    """``303`` to ``client.authorization_url``, setting the signed browser-binding cookie."""
    return to_flask_response(authorization_redirect(client, **options))


def csrf_token() -> str:
    """The anti-CSRF token of the connect form for the current session (Flask-WTF style: a random
    value kept in ``session``, signed with ``SECRET_KEY``); put it in a ``csrf_token`` field of
    your own form, or use the form that ``GET`` on :func:`connect_handler`'s route shows."""
    return core.csrf_token(current_app.secret_key or "", _nonce())


def _nonce() -> str:
    return session.setdefault(core.CSRF_COOKIE, core.new_csrf_nonce())  # type: ignore[no-any-return]


def connect_handler(store: Store | AsyncStore, **options: Unpack[ConnectOptions]) -> View:
    """The connect view: ``GET`` shows the form, a ``POST`` of it (with the session's
    :func:`csrf_token`, else ``403``) starts connecting to the MCP URL in its ``mcp_endpoint``
    field and redirects to consent (see :func:`mcp_tools.client.views.connect_view` and
    :class:`~mcp_tools.client.params.ConnectOptions`). Authenticate your users before this view."""
    settings = core.ConnectSettings.of(options)

    def view(**_: Any) -> FlaskResponse:
        csrf = core.Csrf(current_app.secret_key or "", nonce=_nonce())
        native = to_core_request(include_body=False)
        return to_flask_response(core.connect_view(native, store, settings, csrf=csrf))

    return _named(view, "mcp_connect", ("GET", "POST"))


def complete_oauth_handler(
    store: Store | AsyncStore,
    callback: Callable[[McpClient, FlaskRequest], ResponseReturnValue],
    **options: Unpack[CallbackOptions],
) -> View:
    """The OAuth callback view (TS ``completeOAuthHandler``).

    On success it returns ``callback(client, request)``'s response, ``request`` being Flask's
    request object (as Django and FastAPI pass theirs); errors are answered as listed in
    :func:`mcp_tools.client.views.complete_callback`. The binding cookie is cleared either way.
    """
    settings = core.CallbackSettings(**options)

    def view(**_: Any) -> FlaskResponse:
        outcome = core.complete_callback(to_core_request(include_body=False), store, settings)
        if outcome.client is None:
            response = to_flask_response(outcome.error)
        else:
            response = make_response(callback(outcome.client, request._get_current_object()))  # type: ignore[attr-defined]
        response.headers.add("Set-Cookie", settings.clear_cookie)
        return response

    return _named(view, "mcp_oauth_callback", ("GET",))
