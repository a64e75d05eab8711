"""Framework-neutral client-side views: start a connection, finish the OAuth callback.

Each adapter's ``connect_handler``, ``complete_oauth_handler`` and ``redirect_to_authorization``
are these functions plus its two converters; their options are typed once in
:mod:`mcp_tools.client.params` (``ConnectOptions``, ``CallbackOptions``, ``RedirectOptions``).
The starting view
is a form: ``GET`` shows it (or answers ``405``), and only a ``POST`` carrying the form's
anti-CSRF token (:class:`Csrf`, a signed double-submit token, or the framework's own CSRF
protection) reads the MCP URL from the form, runs discovery and registration, and answers ``303``
to the authorization server with the signed browser-binding cookie; the callback checks the binding,
completes the flow and hands the connected :class:`~mcp_tools.client.McpClient` to the app's
``callback(client, request)`` (or answers the error), clearing the cookie.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import html
import secrets
from collections.abc import Mapping
from dataclasses import dataclass, fields
from typing import Any, Final
from urllib.parse import parse_qsl

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
    request_cookie,
    responding,
)
from mcp_tools.client.guard import UrlGuard
from mcp_tools.client.params import ConnectOptions, checked
from mcp_tools.http import Request, Response, json_response
from mcp_tools.stores import AsyncStore, Store

__all__ = [
    "CSRF_COOKIE",
    "CSRF_FIELD",
    "CallbackSettings",
    "ConnectSettings",
    "Csrf",
    "acomplete_callback",
    "aconnect_view",
    "clear_binding_cookie",
    "complete_callback",
    "connect_view",
    "csrf_token",
    "new_csrf_nonce",
]

#: The form field (or ``X-CSRF-Token`` header) carrying the anti-CSRF token of the connect form.
CSRF_FIELD: Final = "csrf_token"
#: The cookie holding the double-submit nonce, where the framework keeps no session for it.
CSRF_COOKIE: Final = "mcp_tools_csrf"
#: The largest connect form read (it holds a URL and a token).
FORM_LIMIT: Final = 64 * 1024


def new_csrf_nonce() -> str:
    """A fresh random nonce for :class:`Csrf` (kept by the browser: a cookie or the session)."""
    return secrets.token_urlsafe(32)


def csrf_token(secret: str | bytes, nonce: str) -> str:
    """The token a form carries for ``nonce``: HMAC-SHA256 of it under the app's secret.

    Another site can neither read the nonce (a cookie or the session of this site) nor compute
    the token without the secret, so it cannot forge a form the check accepts.
    """
    key = secret.encode("utf-8") if isinstance(secret, str) else secret
    mac = hmac.new(key, b"mcp-tools csrf\x00" + nonce.encode("utf-8"), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(mac).decode("ascii").rstrip("=")


def _refused(message: str, status: int = 403) -> Response:
    body = {
        "error": "Forbidden" if status == 403 else "Bad request",
        "code": "csrf_failed",
        "message": message,
    }
    return json_response(body, status, {"Cache-Control": "no-store"})


@dataclass(frozen=True)
class Csrf:
    """How a connect view knows a ``POST`` comes from the app's own form: a signed double-submit token.

    The browser holds a random nonce; the form carries :func:`csrf_token` of it (field
    :data:`CSRF_FIELD` or header ``X-CSRF-Token``). ``nonce`` given: the framework keeps it
    (Flask: the session, as Flask-WTF); ``None``: it is the ``cookie_name`` cookie, set when the
    form is shown (FastAPI). Django's views use Django's own CSRF protection instead.
    """

    secret: str | bytes
    nonce: str | None = None
    cookie_name: str = CSRF_COOKIE
    field: str = CSRF_FIELD

    def held(self, request: Request) -> str | None:
        """The nonce this browser holds, if any."""
        return self.nonce if self.nonce is not None else request_cookie(request, self.cookie_name)

    def refusal(self, request: Request, form: Mapping[str, str]) -> Response | None:
        """``None`` when the request carries the token of the browser's nonce, else a ``403``."""
        nonce = self.held(request)
        token = form.get(self.field) or request.headers.get("x-csrf-token") or ""
        if nonce and hmac.compare_digest(csrf_token(self.secret, nonce).encode(), token.encode("utf-8")):
            return None
        return _refused("the connect form's anti-CSRF token is missing or wrong; submit the app's own form")

    def form(self, request: Request, settings: ConnectSettings) -> Response:
        """The connect form (no side effect but the nonce cookie): the MCP URL from the query, prefilled."""
        nonce, headers = self.held(request), []
        if not nonce:
            nonce = new_csrf_nonce()
            https = request.url.startswith("https:") or settings.oauth_redirect_url.startswith("https:")
            secure = "; Secure" if https else ""  # as the binding cookie, when the app is served over https
            headers.append(
                ("Set-Cookie", f"{self.cookie_name}={nonce}; Path=/; HttpOnly; SameSite=Lax{secure}")
            )
        hidden = {self.field: csrf_token(self.secret, nonce)}
        page = connect_page(
            request.path, settings.endpoint_param, request.query.get(settings.endpoint_param, ""), hidden
        )
        return Response(200, [*_PAGE_HEADERS, *headers], page.encode("utf-8"))


_PAGE_HEADERS: Final = [
    ("Content-Type", "text/html; charset=utf-8"),
    ("Cache-Control", "no-store"),
    ("X-Frame-Options", "DENY"),  # a prefilled form must not be framed (clickjacking)
    ("Content-Security-Policy", "frame-ancestors 'none'"),
]


def connect_page(action: str, param: str, endpoint: str, hidden: Mapping[str, str]) -> str:
    """A minimal HTML page with the connect form (``POST`` to ``action``); values escaped."""
    fields_html = "".join(
        f'<input type="hidden" name="{html.escape(name)}" value="{html.escape(value)}">'
        for name, value in hidden.items()
    )
    return (
        '<!doctype html><html><head><meta charset="utf-8"><title>Connect an MCP server</title></head>'
        f'<body><form method="post" action="{html.escape(action)}">{fields_html}'
        f'<label>MCP server URL <input type="url" name="{html.escape(param)}" '
        f'value="{html.escape(endpoint)}" required></label> <button type="submit">Connect</button>'
        "</form></body></html>"
    )


def read_form(request: Request) -> dict[str, str] | Response:
    """The ``application/x-www-form-urlencoded`` body (first value of each name), bounded."""
    if len(request.body) > FORM_LIMIT:
        return json_response({"error": "Payload too large", "code": "form_too_large"}, 413)
    ctype = (request.headers.get("content-type") or "").split(";")[0].strip().lower()
    if not request.body or ctype != "application/x-www-form-urlencoded":
        return {}
    form: dict[str, str] = {}
    for name, value in parse_qsl(request.body.decode("utf-8", "replace"), keep_blank_values=True):
        form.setdefault(name, value)
    return form


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

    def endpoint_of(self, form: Mapping[str, str]) -> str | Response:
        endpoint = form.get(self.endpoint_param, "").strip()
        if not endpoint:
            return json_response({"error": f"{self.endpoint_param} missing"}, 400)
        return endpoint

    def redirect(self, client: McpClient) -> Response:
        if client.authorization_url is None:  # the server needs no authorization
            return json_response({"session_id": client.session_id}, 200)
        return authorization_redirect(client, self.secret, cookie_name=self.cookie_name)


def _connect(
    request: Request, store: Store | AsyncStore, settings: ConnectSettings, csrf: Csrf | None
) -> Response | Run[Response]:
    if request.method in ("GET", "HEAD") and csrf is not None:
        return csrf.form(request, settings)
    if request.method != "POST":
        allow = "POST" if csrf is None else "GET, HEAD, POST"
        body = {
            "error": "Method not allowed",
            "code": "method_not_allowed",
            "message": "POST the connect form",
        }
        return json_response(body, 405, {"Allow": allow})
    form = read_form(request)
    if isinstance(form, Response):
        return form
    refused = csrf.refusal(request, form) if csrf is not None else None
    if refused is not None:
        return refused
    endpoint = settings.endpoint_of(form)
    if isinstance(endpoint, Response):
        return endpoint
    run = create_run(settings.arguments(request, endpoint, store))
    return Run(responding(then(run.flow, settings.redirect)), run.store, run.guard)


def connect_view(
    request: Request, store: Store | AsyncStore, settings: ConnectSettings, *, csrf: Csrf | None
) -> Response:
    """Start connecting to the MCP URL of the posted form (synchronous frameworks).

    ``GET`` shows the form (:meth:`Csrf.form`; with ``csrf=None``, meaning the framework checks
    CSRF itself as Django does, ``405``): nothing is written to the store. A ``POST`` without the
    form's token answers ``403`` (``code: csrf_failed``); ``400`` without the URL; the status of
    :func:`~mcp_tools.client.error_response` for an unsafe URL or a misconfigured server; ``503``
    when the store fails; otherwise ``303`` to consent with the binding cookie set.
    """
    run = _connect(request, store, settings, csrf)
    return run if isinstance(run, Response) else run.sync()


async def aconnect_view(
    request: Request, store: Store | AsyncStore, settings: ConnectSettings, *, csrf: Csrf | None
) -> Response:
    """The asynchronous twin of :func:`connect_view`."""
    run = _connect(request, store, settings, csrf)
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
