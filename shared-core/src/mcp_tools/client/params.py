"""The keyword parameters of the client API and of the adapters' client views, typed once.

As the TypeScript package takes one parameter object per function
(``CreateDynamicallyRegisteredMcpClientParams``...), each function here takes keyword arguments
typed by a ``TypedDict`` of the same name: the sync and async forms, and the three adapters,
share one definition, and a type checker checks every key. :func:`checked` refuses unknown and
missing keys at run time, as a signature would.

This module does not use ``from __future__ import annotations``: ``Required[...]`` must be
evaluated when the class is created for ``__required_keys__`` to be right (Python 3.11).
"""

from collections.abc import Callable, Mapping
from typing import Any, Required, TypedDict

from mcp_tools.stores import AsyncStore, Store

from .guard import UrlGuard

__all__ = [
    "CallbackOptions",
    "CallbackQuery",
    "CompleteAuthWithCodeParams",
    "ConnectOptions",
    "CreateDynamicallyRegisteredMcpClientParams",
    "CreateKnownCredentialsMcpClientParams",
    "GetClientBySessionIdParams",
    "Redirect",
    "RedirectOptions",
    "RegistrationOptions",
    "checked",
]

#: The ``redirect`` parameter: called with the authorization URL.
Redirect = Callable[[str], Any]


# -- the client API (mcp_tools.client.api) ---------------------------------------------------------


class RegistrationOptions(TypedDict, total=False):
    """How the app describes itself in a dynamic registration (RFC 7591) or a Client ID Metadata
    Document; also accepted by each adapter's ``connect_handler``."""

    oauth_client_name: str | None
    oauth_client_uri: str | None
    #: Register as a public client (``token_endpoint_auth_method=none``).
    oauth_public_client: bool | None
    #: A Client ID Metadata Document URL, used where the authorization server supports it.
    client_metadata_url: str | None


class _StartParams(TypedDict, total=False):
    store: Required[Store | AsyncStore]
    #: Called with the authorization URL (awaited by the ``a``-functions when it is a coroutine).
    redirect: Redirect | None
    #: The value already in the browser's binding cookie, if any (reused so parallel flows work).
    browser_binding: str | None
    url_guard: UrlGuard | None
    mcp_endpoint: Required[str]
    oauth_redirect_url: Required[str]
    mcp_client_name: Required[str]
    mcp_client_version: Required[str]
    oauth_scopes: str | None
    #: Seconds the authorization attempt stays valid (default :data:`DEFAULT_STATE_TTL`).
    state_ttl: float


class CreateDynamicallyRegisteredMcpClientParams(_StartParams, RegistrationOptions, total=False):
    """Parameters of :func:`create_dynamically_registered_mcp_client` (TS name)."""


class CreateKnownCredentialsMcpClientParams(_StartParams, total=False):
    """Parameters of :func:`create_known_credentials_mcp_client` (TS name)."""

    client_id: Required[str]
    #: ``None`` for a public pre-registered client.
    client_secret: Required[str | None]


class GetClientBySessionIdParams(TypedDict, total=False):
    """Parameters of :func:`get_client_by_session_id`; the last four go to :class:`McpClient`."""

    session_id: Required[str]
    store: Required[Store | AsyncStore]
    url_guard: UrlGuard | None
    #: Accepted for parity with TypeScript and ignored.
    state: str | None
    refresh_skew: float
    lock_timeout: float
    mode: str
    state_ttl: float


class CallbackQuery(TypedDict, total=False):
    """What the authorization server's redirect back carries (RFC 6749 4.1.2, RFC 9207)."""

    state: Required[str]
    code: Required[str | None]
    iss: str | None
    error: str | None
    error_description: str | None


class CompleteAuthWithCodeParams(CallbackQuery, total=False):
    """Parameters of :func:`complete_auth_with_code` (the callback's query, the store, the binding)."""

    store: Required[Store | AsyncStore]
    browser_binding: str | None
    url_guard: UrlGuard | None


# -- the adapters' client views (mcp_tools.client.views) ------------------------------------------


class ConnectOptions(RegistrationOptions, total=False):
    """The keyword arguments of every adapter's ``connect_handler(store, **options)``."""

    #: Signs the browser-binding cookie (the app's secret key; at least 16 bytes).
    secret: Required[str | bytes]
    oauth_redirect_url: Required[str]
    mcp_client_name: Required[str]
    mcp_client_version: Required[str]
    oauth_scopes: str | None
    state_ttl: float
    #: The form field that carries the MCP URL (default ``mcp_endpoint``; on ``GET``, the query
    #: parameter that prefills the form).
    endpoint_param: str
    cookie_name: str
    url_guard: UrlGuard | None


class CallbackOptions(TypedDict, total=False):
    """The keyword arguments of every adapter's ``complete_oauth_handler(store, callback, **options)``."""

    secret: Required[str | bytes]
    cookie_name: str
    url_guard: UrlGuard | None


class RedirectOptions(TypedDict, total=False):
    """The keyword arguments of every adapter's ``redirect_to_authorization(client, **options)``."""

    secret: Required[str | bytes]
    #: Whether the cookie is ``Secure`` (default: whether the app's redirect URL is https).
    secure: bool | None
    cookie_name: str
    path: str


def checked(params: Mapping[str, object], kind: Any) -> None:
    """Reject unknown and missing parameters (``kind`` is the ``TypedDict``), as a signature would."""
    unknown = sorted(set(params) - kind.__required_keys__ - kind.__optional_keys__)
    if unknown:
        raise TypeError(f"unexpected keyword argument {unknown[0]!r} (see {kind.__name__})")
    missing = sorted(kind.__required_keys__ - set(params))
    if missing:
        raise TypeError(f"missing required keyword argument {missing[0]!r} (see {kind.__name__})")
