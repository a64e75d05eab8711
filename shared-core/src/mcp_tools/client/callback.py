"""The OAuth callback and the start redirect, framework-neutral (adapters only convert).

:func:`handle_oauth_callback` / :func:`ahandle_oauth_callback` take a neutral
:class:`~mcp_tools.http.Request` (the redirect back from the authorization server) and the
browser-binding value from the browser's signed cookie, and return a :class:`CallbackOutcome`:
either the completed :class:`McpClient` (the adapter then calls the app's callback) or the error
:class:`~mcp_tools.http.Response` to send. The 400 bodies of the TypeScript handler are kept
(``{"error": "State missing"}``, checked first, then ``{"error": "Authorization code missing"}``);
everything the TypeScript handler crashed on gets a JSON answer with a stable ``code``.

The browser binding: :func:`authorization_redirect` answers ``303`` to the authorization URL and
sets a cookie holding the flow's ``browser_binding``, signed with HMAC-SHA256 under the app's
secret (:func:`sign_browser_binding`), HttpOnly, ``SameSite=Lax`` (sent on the top-level
redirect back), ``Secure`` for https apps. At the callback :func:`read_browser_binding`
verifies it; a callback without the cookie of the browser that started the flow is refused.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import logging
from dataclasses import dataclass
from http.cookies import SimpleCookie
from typing import TypeVar

from mcp_tools.http import Request, Response, json_response
from mcp_tools.stores import AsyncStore, Store, StoreError

from ._io import Run
from ._steps import Flow, then
from .api import DEFAULT_STATE_TTL, McpClient, complete_run
from .errors import (
    AuthorizationFailed,
    ConsentDenied,
    InvalidState,
    McpClientError,
    NetworkError,
    SessionNotFound,
    UnsafeUrl,
)
from .guard import UrlGuard
from .params import CallbackQuery

__all__ = [
    "BINDING_COOKIE",
    "CallbackOutcome",
    "ahandle_oauth_callback",
    "authorization_redirect",
    "binding_cookie",
    "error_response",
    "handle_oauth_callback",
    "read_browser_binding",
    "responding",
    "sign_browser_binding",
    "store_error_response",
    "verify_browser_binding",
]

T = TypeVar("T")
logger = logging.getLogger("mcp_tools.client")

#: Default name of the cookie that carries the signed browser binding.
BINDING_COOKIE = "mcp_tools_oauth_binding"
_CONTEXT = b"mcp-tools browser binding v1\x00"


def _key(secret: str | bytes) -> bytes:
    raw = secret.encode("utf-8") if isinstance(secret, str) else secret
    if len(raw) < 16:
        raise ValueError("the signing secret must be at least 16 bytes long")
    return raw


def sign_browser_binding(binding: str, secret: str | bytes) -> str:
    """``<binding>.<HMAC-SHA256 signature>``: the cookie value for ``binding``."""
    mac = hmac.new(_key(secret), _CONTEXT + binding.encode("utf-8"), hashlib.sha256).digest()
    return f"{binding}.{base64.urlsafe_b64encode(mac).decode('ascii').rstrip('=')}"


def verify_browser_binding(cookie_value: str | None, secret: str | bytes) -> str | None:
    """The binding inside a cookie value signed by :func:`sign_browser_binding`, or ``None``."""
    if not cookie_value or "." not in cookie_value:
        return None
    binding, _sep, _sig = cookie_value.rpartition(".")
    expected = sign_browser_binding(binding, secret)
    return binding if hmac.compare_digest(expected.encode("utf-8"), cookie_value.encode("utf-8")) else None


def read_browser_binding(
    request: Request, secret: str | bytes, cookie_name: str = BINDING_COOKIE
) -> str | None:
    """The verified binding from the request's ``Cookie`` header, or ``None``."""
    return verify_browser_binding(request_cookie(request, cookie_name), secret)


def request_cookie(request: Request, name: str) -> str | None:
    """The value of cookie ``name`` in the request's ``Cookie`` headers (``None``: absent or
    unreadable; a malformed header is no cookie, never an error)."""
    jar: SimpleCookie = SimpleCookie()
    for header in request.headers.get_all("cookie"):
        try:
            jar.load(header)
        except Exception:  # noqa: S112 - a malformed Cookie header is just "no cookie"
            continue
    morsel = jar.get(name)
    return morsel.value if morsel else None


def binding_cookie(
    binding: str,
    secret: str | bytes,
    *,
    secure: bool = True,
    max_age: int = int(DEFAULT_STATE_TTL),
    cookie_name: str = BINDING_COOKIE,
    path: str = "/",
) -> str:
    """The ``Set-Cookie`` header value carrying the signed binding."""
    parts = [
        f"{cookie_name}={sign_browser_binding(binding, secret)}",
        f"Max-Age={max_age}",
        f"Path={path}",
        "HttpOnly",
        "SameSite=Lax",
    ]
    if secure:
        parts.append("Secure")
    return "; ".join(parts)


def authorization_redirect(
    client: McpClient,
    secret: str | bytes,
    *,
    secure: bool | None = None,
    cookie_name: str = BINDING_COOKIE,
    path: str = "/",
) -> Response:
    """``303`` to ``client.authorization_url`` with the binding cookie set (neutral response).

    ``secure`` defaults to whether the app's redirect URL is https. Raises ``ValueError`` when
    the client needs no authorization (``authorization_url`` is ``None``).
    """
    if client.authorization_url is None or client.browser_binding is None:
        raise ValueError("this client needs no authorization (authorization_url is None)")
    if secure is None:
        secure = (client.record.oauth_redirect_url or "").startswith("https://")
    cookie = binding_cookie(
        client.browser_binding,
        secret,
        secure=secure,
        max_age=int(client.state_ttl),
        cookie_name=cookie_name,
        path=path,
    )
    return Response(
        status=303,
        headers=[
            ("Location", client.authorization_url),
            ("Set-Cookie", cookie),
            ("Cache-Control", "no-store"),
        ],
    )


@dataclass
class CallbackOutcome:
    """What the callback produced: a completed ``client``, or the error ``response`` to send."""

    client: McpClient | None = None
    response: Response | None = None

    @property
    def error(self) -> Response:
        """The error response, when the callback did not complete (``client`` is ``None``)."""
        if self.response is None:
            raise ValueError("the callback completed; there is no error response")
        return self.response


def error_response(exc: McpClientError) -> Response:
    """The JSON answer for a client-flow error at the callback (status by cause)."""
    if isinstance(exc, ConsentDenied):
        status, title = 403, "Consent denied"
    elif isinstance(exc, InvalidState | SessionNotFound):
        status, title = 400, "Invalid state"
    elif isinstance(exc, AuthorizationFailed):
        status, title = 400, "Authorization failed"
    elif isinstance(exc, NetworkError):
        status, title = 504, "Authorization server unreachable"
    elif isinstance(exc, UnsafeUrl):
        status, title = 502, "Unsafe URL refused"
    else:
        status, title = 502, "Authorization could not be completed"
    return json_response(
        {"error": title, "code": exc.code, "message": str(exc)}, status, {"Cache-Control": "no-store"}
    )


def store_error_response(exc: StoreError) -> Response:
    """``503`` for a store that is down or failing; the details go to the log, not the browser."""
    logger.warning("OAuth flow: the store failed (%s): %s", type(exc).__name__, exc)
    return json_response(
        {
            "error": "Service unavailable",
            "code": "store_unavailable",
            "message": "the session store is temporarily unavailable; nothing was completed. Try again.",
        },
        503,
        {"Cache-Control": "no-store", "Retry-After": "5"},
    )


def _early(request: Request) -> Response | CallbackQuery:
    query = request.query
    state = query.get("state")
    if not state:
        return json_response({"error": "State missing"}, 400)
    error = query.get("error") or None
    code = query.get("code") or None
    if error is None and code is None:
        return json_response({"error": "Authorization code missing"}, 400)
    return {
        "state": state,
        "code": code,
        "iss": query.get("iss"),
        "error": error,
        "error_description": query.get("error_description"),
    }


def responding(flow: Flow[T]) -> Flow[T | Response]:
    """``flow``, with a client-flow or store error turned into its JSON response (sans-I/O)."""
    try:
        return (yield from flow)
    except McpClientError as exc:
        return error_response(exc)
    except StoreError as exc:
        return store_error_response(exc)


def _outcome(result: McpClient | Response) -> CallbackOutcome:
    if isinstance(result, Response):
        return CallbackOutcome(response=result)
    return CallbackOutcome(client=result)


def _callback(
    request: Request, store: Store | AsyncStore, binding: str | None, url_guard: UrlGuard | None
) -> CallbackOutcome | Run[CallbackOutcome]:
    """The early answer to a callback without ``state`` or ``code``, or the flow that completes it."""
    params = _early(request)
    if isinstance(params, Response):
        return CallbackOutcome(response=params)
    run = complete_run(**params, store=store, browser_binding=binding, url_guard=url_guard)
    return Run(then(responding(run.flow), _outcome), run.store, run.guard)


def handle_oauth_callback(
    request: Request,
    store: Store | AsyncStore,
    *,
    browser_binding: str | None,
    url_guard: UrlGuard | None = None,
) -> CallbackOutcome:
    """Complete the flow from the callback request (sync); never raises for flow errors."""
    run = _callback(request, store, browser_binding, url_guard)
    return run if isinstance(run, CallbackOutcome) else run.sync()


async def ahandle_oauth_callback(
    request: Request,
    store: Store | AsyncStore,
    *,
    browser_binding: str | None,
    url_guard: UrlGuard | None = None,
) -> CallbackOutcome:
    """Async :func:`handle_oauth_callback`."""
    run = _callback(request, store, browser_binding, url_guard)
    return run if isinstance(run, CallbackOutcome) else await run.aio()
