"""Django views for the client side: start a connection (redirect) and finish it (callback).

The logic and the options are in :mod:`mcp_tools.client.views`; these views only convert
requests and responses. Connecting is a ``POST`` under Django's CSRF protection (your form has
``{% csrf_token %}``); the callback is a ``GET``. Wiring: ``docs/django.md``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Unpack

from django.http import HttpRequest, HttpResponseBase
from django.views.decorators.csrf import csrf_protect
from django.views.decorators.http import require_GET, require_POST

from mcp_tools.client import McpClient, authorization_redirect
from mcp_tools.client import views as core
from mcp_tools.client.params import CallbackOptions, ConnectOptions, RedirectOptions
from mcp_tools.stores import AsyncStore, Store
from mcp_tools_django.views import to_core_request, to_django_response

__all__ = ["complete_oauth_handler", "connect_handler", "redirect_to_authorization"]

View = Callable[[HttpRequest], HttpResponseBase]


def redirect_to_authorization(client: McpClient, **options: Unpack[RedirectOptions]) -> HttpResponseBase:
    """``303`` to ``client.authorization_url``, setting the signed browser-binding cookie."""
    return to_django_response(authorization_redirect(client, **options))


def connect_handler(store: Store | AsyncStore, **options: Unpack[ConnectOptions]) -> View:
    """A ``POST`` view, CSRF-protected by Django (``GET``: ``405``), that starts connecting to the
    MCP URL in the ``mcp_endpoint`` form field and redirects to consent (see
    :func:`mcp_tools.client.views.connect_view` and :class:`~mcp_tools.client.params.ConnectOptions`).
    Authenticate your users before this view (e.g. ``login_required``)."""
    settings = core.ConnectSettings.of(options)

    @csrf_protect
    @require_POST
    def view(request: HttpRequest) -> HttpResponseBase:
        core_request = to_core_request(request, body=request.body)
        return to_django_response(core.connect_view(core_request, store, settings, csrf=None))

    return view


def complete_oauth_handler(
    store: Store | AsyncStore,
    callback: Callable[[McpClient, HttpRequest], HttpResponseBase],
    **options: Unpack[CallbackOptions],
) -> View:
    """The OAuth callback view (TS ``completeOAuthHandler(store, callback)``): calls
    ``callback(client, request)`` with the connected client and the ``HttpRequest``, or answers the
    error as :func:`mcp_tools.client.views.complete_callback` lists; the cookie is cleared either way.
    """
    settings = core.CallbackSettings(**options)

    @require_GET
    def view(request: HttpRequest) -> HttpResponseBase:
        outcome = core.complete_callback(to_core_request(request), store, settings)
        if outcome.client is not None:
            response = callback(outcome.client, request)
        else:
            response = to_django_response(outcome.error)
        response.delete_cookie(settings.cookie_name, path="/", samesite="Lax")
        return response

    return view
