"""FastAPI views for the client side: start a connection (redirect) and finish it (callback).

The logic and the options are in :mod:`mcp_tools.client.views`; these views convert requests and
responses. Typical wiring::

    store = store_from_url(os.environ["MCP_STORE_URL"], encryption_keys=[...])
    SECRET = os.environ["APP_SECRET"]

    app.add_api_route("/mcp/connect", connect_handler(
        store, secret=SECRET, oauth_redirect_url="https://app.example.com/oauth/callback",
        mcp_client_name="My App", mcp_client_version="1.0"), methods=["GET", "POST"])

    async def connected(client: McpClient, request: Request) -> Response:
        response = RedirectResponse("/", status_code=303)
        response.set_cookie("mcp_session", client.session_id, httponly=True, secure=True)
        return response

    app.add_api_route("/oauth/callback", complete_oauth_handler(store, connected, secret=SECRET))
"""

from __future__ import annotations

import inspect
from collections.abc import Awaitable, Callable
from typing import Unpack

from fastapi import Request as FastAPIRequest
from fastapi import Response as FastAPIResponse

from mcp_tools.client import McpClient, authorization_redirect
from mcp_tools.client import views as core
from mcp_tools.client.params import CallbackOptions, ConnectOptions, RedirectOptions
from mcp_tools.stores import AsyncStore, Store

from .router import to_core_request, to_fastapi_response

__all__ = ["complete_oauth_handler", "connect_handler", "redirect_to_authorization"]

Handler = Callable[[FastAPIRequest], Awaitable[FastAPIResponse]]
Callback = Callable[[McpClient, FastAPIRequest], "FastAPIResponse | Awaitable[FastAPIResponse]"]


def redirect_to_authorization(client: McpClient, **options: Unpack[RedirectOptions]) -> FastAPIResponse:
    """``303`` to ``client.authorization_url``, setting the signed browser-binding cookie.

    Use it after :func:`~mcp_tools.client.acreate_dynamically_registered_mcp_client` (or
    ``start_authorization`` for a re-authorization or step-up) in your own view.
    """
    return to_fastapi_response(authorization_redirect(client, **options))


def complete_oauth_handler(
    store: Store | AsyncStore, callback: Callback, **options: Unpack[CallbackOptions]
) -> Handler:
    """The OAuth callback route (TS ``completeOAuthHandler(store, callback)``).

    Returns ``callback(client, request)`` (a plain or async function) once the flow completed;
    otherwise the JSON error of :func:`mcp_tools.client.views.acomplete_callback`. Either way the
    response clears the binding cookie.
    """
    settings = core.CallbackSettings(**options)

    async def handler(request: FastAPIRequest) -> FastAPIResponse:
        outcome = await core.acomplete_callback(await to_core_request(request), store, settings)
        if outcome.client is None:
            response = to_fastapi_response(outcome.error)
        else:
            result = callback(outcome.client, request)
            response = await result if inspect.isawaitable(result) else result
        response.headers.append("Set-Cookie", settings.clear_cookie)
        return response

    return handler


def connect_handler(store: Store | AsyncStore, **options: Unpack[ConnectOptions]) -> Handler:
    """A view that starts connecting to the MCP URL posted in the ``mcp_endpoint`` form field.

    ``GET`` shows the form (the URL prefilled from the query) and sets the double-submit cookie;
    nothing else happens. A ``POST`` must carry the form's ``csrf_token`` (else ``403``); it runs
    discovery and registration and redirects the browser to consent (setting the binding cookie;
    a binding the browser already has is reused, so parallel flows work). Errors answer JSON:
    ``400`` for a missing URL, otherwise the status of :func:`mcp_tools.client.error_response`
    (``502`` for an unsafe URL or a misconfigured server). Route it with ``methods=["GET", "POST"]``.
    ``options``: :class:`mcp_tools.client.params.ConnectOptions` (``oauth_scopes``,
    ``oauth_client_uri``, ``client_metadata_url``...). Authenticate your users before this view.
    """
    settings = core.ConnectSettings.of(options)
    csrf = core.Csrf(settings.secret)

    async def handler(request: FastAPIRequest) -> FastAPIResponse:
        core_request = await to_core_request(request)
        return to_fastapi_response(await core.aconnect_view(core_request, store, settings, csrf=csrf))

    return handler
