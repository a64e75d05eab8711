"""The public client API, mirroring ``@clerk/mcp-tools/client`` in snake_case, sync and async.

Each operation exists as a plain function for Django and Flask views and as an ``a``-prefixed
coroutine for FastAPI (``create_dynamically_registered_mcp_client`` /
``acreate_dynamically_registered_mcp_client``, ...). Both are thin shells over one sans-I/O
implementation: each operation is a flow (:mod:`mcp_tools.client._flows`) that ends by building
the :class:`McpClient`; the plain function runs it through ``requests`` and the store, the
coroutine through ``httpx2`` and :class:`~mcp_tools.stores.AsyncStore`.

As in TypeScript, each function takes one set of named parameters, typed by a ``TypedDict``
(:class:`CreateDynamicallyRegisteredMcpClientParams`, ...), so the sync and async forms cannot
drift apart. Unlike the TypeScript package, creating a client performs discovery (and
registration) at once and returns the URL to send the user to, instead of calling ``connect()``
to provoke a redirect; ``redirect`` is still accepted and called with that URL.
"""

from __future__ import annotations

import secrets
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from contextlib import asynccontextmanager
from dataclasses import fields
from typing import Any, TypeVar, Unpack
from urllib.parse import urlsplit

from mcp_tools.stores import AsyncStore, Store
from mcp_tools.stores.base import JsonValue

from ._flows import AuthorizationStart, authorize_flow, complete_flow
from ._io import Run, async_store
from ._steps import Flow
from .auth import McpBearerAuth
from .errors import AuthorizationRequired, McpClientError, SessionNotFound
from .guard import DEFAULT_GUARD, UrlGuard
from .params import (
    CompleteAuthWithCodeParams,
    CreateDynamicallyRegisteredMcpClientParams,
    CreateKnownCredentialsMcpClientParams,
    GetClientBySessionIdParams,
    Redirect,
    checked,
)
from .record import ClientConfig, SessionRecord, read_session, session_key

__all__ = [
    "DEFAULT_STATE_TTL",
    "McpClient",
    "acomplete_auth_with_code",
    "acreate_dynamically_registered_mcp_client",
    "acreate_known_credentials_mcp_client",
    "aget_client_by_session_id",
    "complete_auth_with_code",
    "create_dynamically_registered_mcp_client",
    "create_known_credentials_mcp_client",
    "get_client_by_session_id",
]

T = TypeVar("T")

#: Seconds an authorization attempt (``state_``/``pkce_verifier_`` entries) stays valid.
DEFAULT_STATE_TTL = 600.0


def _new_binding(existing: str | None) -> str:
    return existing if existing else secrets.token_urlsafe(32)


def _check_redirect_url(url: str) -> None:
    parts = urlsplit(url)
    if parts.scheme not in ("https", "http") or not parts.hostname or parts.fragment:
        raise ValueError(f"oauth_redirect_url must be an absolute http(s) URL without fragment, got {url!r}")


def _unwrap_group(group: BaseExceptionGroup[BaseException]) -> McpClientError | None:
    for exc in group.exceptions:
        if isinstance(exc, McpClientError):
            return exc
        if isinstance(exc, BaseExceptionGroup):
            found = _unwrap_group(exc)
            if found is not None:
                return found
    return None


class McpClient:
    """One user's connection to one MCP server, backed by the ``session_<id>`` store record.

    Returned by every function of this module. ``authorization_url`` (with ``state`` and
    ``browser_binding``) is set when the user must be sent to the authorization server: keep
    ``browser_binding`` in a signed, HttpOnly cookie (see :mod:`mcp_tools.client.callback`) and
    redirect. Once authorized, :meth:`connect` yields a connected :class:`mcp.Client`.

    ``store`` is kept as given: an :class:`AsyncStore` (with its thread limiter) serves the
    asynchronous methods, and its underlying store the synchronous ones. ``record`` is the
    session record as last read or written (:class:`~mcp_tools.client.record.SessionRecord`);
    ``client_data`` is its stored JSON form.
    """

    def __init__(
        self,
        session_id: str,
        store: Store | AsyncStore,
        *,
        record: SessionRecord | None = None,
        client_data: Mapping[str, JsonValue] | None = None,
        authorization_url: str | None = None,
        state: str | None = None,
        browser_binding: str | None = None,
        url_guard: UrlGuard | None = None,
        state_ttl: float = DEFAULT_STATE_TTL,
        refresh_skew: float = 60.0,
        lock_timeout: float = 30.0,
        mode: str = "auto",
    ) -> None:
        self.session_id = session_id
        self.store = store
        self.record = record if record is not None else SessionRecord.from_json(client_data or {})
        self.authorization_url = authorization_url
        self.state = state
        self.browser_binding = browser_binding
        self.url_guard = url_guard or DEFAULT_GUARD
        self.state_ttl = state_ttl
        self.refresh_skew = refresh_skew
        self.lock_timeout = lock_timeout
        self.mode = mode
        self._async_store = async_store(store)

    def __repr__(self) -> str:
        return f"<McpClient session_id={self.session_id!r} endpoint={self.record.mcp_endpoint!r}>"

    @property
    def client_data(self) -> dict[str, JsonValue]:
        """The session record in its stored (TypeScript ``ClientData``) JSON form."""
        return self.record.to_json()

    @property
    def mcp_endpoint(self) -> str:
        """The MCP server URL of this session."""
        return self.record.mcp_endpoint or ""

    @property
    def authorized(self) -> bool:
        """Whether the session held a grant when this object was built (see :meth:`connect`)."""
        return bool(self.record.auth_complete)

    # -- (re-)authorization ----------------------------------------------------------------------

    def _started(self, start: AuthorizationStart, binding: str) -> str | None:
        self.record = start.record
        self.authorization_url = start.authorization_url
        self.state = start.state
        self.browser_binding = binding if start.state else None
        return start.authorization_url

    def _reauthorize(self, scope: str | None, browser_binding: str | None) -> Run[str | None]:
        binding = _new_binding(browser_binding)
        flow = authorize_flow(
            ClientConfig.from_record(self.record),
            self.session_id,
            binding=binding,
            state_ttl=self.state_ttl,
            new_session=False,
            step_up_scope=scope,
        )

        def started() -> Flow[str | None]:
            return self._started((yield from flow), binding)

        return Run(started(), self.store, self.url_guard)

    def start_authorization(
        self, *, scope: str | None = None, browser_binding: str | None = None
    ) -> str | None:
        """Begin a new authorization for this session (expired grant, revoked, or step-up).

        ``scope`` (e.g. :attr:`InsufficientScope.scope`) is added to the scopes requested before.
        Returns the URL to redirect to (also kept in :attr:`authorization_url`), and sets
        :attr:`browser_binding` (reusing ``browser_binding`` when given).
        """
        return self._reauthorize(scope, browser_binding).sync()

    async def astart_authorization(
        self, *, scope: str | None = None, browser_binding: str | None = None
    ) -> str | None:
        """Async :meth:`start_authorization`."""
        return await self._reauthorize(scope, browser_binding).aio()

    # -- MCP ------------------------------------------------------------------------------------

    @asynccontextmanager
    async def connect(self) -> AsyncIterator[Any]:
        """``async with client.connect() as mcp:`` a connected :class:`mcp.Client` using this session.

        Raises :class:`AuthorizationRequired` when the session has no usable grant (also from
        inside the block, when a token is rejected and cannot be refreshed) and
        :class:`InsufficientScope` on a 403 step-up challenge.
        """
        import httpx2
        from mcp import Client
        from mcp.client.streamable_http import streamable_http_client
        from mcp.types import Implementation

        astore = self._async_store
        record = SessionRecord.parse(await astore.read(session_key(self.session_id)))
        if record is None:
            raise SessionNotFound(
                f"session {self.session_id!r} not found in the store", session_id=self.session_id
            )
        self.record = record
        if not record.auth_complete or record.mcp_endpoint is None:
            raise AuthorizationRequired(
                "this session is not authorized yet; redirect the user to start_authorization()",
                session_id=self.session_id,
            )
        endpoint = record.mcp_endpoint
        await self.url_guard.acheck(endpoint, "MCP endpoint")
        auth = McpBearerAuth(
            self.session_id,
            astore,
            self.url_guard,
            refresh_skew=self.refresh_skew,
            lock_timeout=self.lock_timeout,
        )
        timeout = httpx2.Timeout(self.url_guard.timeout, read=300.0)
        info = Implementation(
            name=record.mcp_client_name or "mcp-tools", version=record.mcp_client_version or "0"
        )
        try:
            async with httpx2.AsyncClient(auth=auth, timeout=timeout, follow_redirects=False) as http:
                transport = streamable_http_client(endpoint, http_client=http)
                async with Client(transport, mode=self.mode, client_info=info) as client:
                    yield client
        except BaseExceptionGroup as group:
            found = _unwrap_group(group)
            if found is not None:
                raise found from None
            raise

    def run_sync(self, fn: Callable[[Any], Awaitable[T]]) -> T:
        """Run ``await fn(mcp_client)`` on a connected client from synchronous code (own event loop).

        For Django and Flask views: ``client.run_sync(lambda mcp: mcp.call_tool("x", {}))``.
        Do not call it from inside a running event loop (use :meth:`connect` there).
        """
        import anyio

        async def main() -> T:
            async with self.connect() as client:
                return await fn(client)

        return anyio.run(main)

    def call_tool_sync(self, name: str, arguments: dict[str, Any] | None = None) -> Any:
        """Call one MCP tool from synchronous code; returns the SDK's ``CallToolResult``."""
        return self.run_sync(lambda client: client.call_tool(name, arguments or {}))

    def list_tools_sync(self) -> Any:
        """List the MCP server's tools from synchronous code; returns the SDK's ``ListToolsResult``."""
        return self.run_sync(lambda client: client.list_tools())


_CONFIG_FIELDS = frozenset(spec.name for spec in fields(ClientConfig))


def create_run(params: Mapping[str, Any]) -> Run[McpClient]:
    """:func:`create_dynamically_registered_mcp_client` as a :class:`~mcp_tools.client._io.Run`."""
    return _create(params, CreateDynamicallyRegisteredMcpClientParams)


def _create(params: Mapping[str, Any], kind: Any) -> Run[McpClient]:
    """Discovery and registration for a new session; the client carries the consent URL."""
    checked(params, kind)
    config = ClientConfig(**{name: value for name, value in params.items() if name in _CONFIG_FIELDS})
    _check_redirect_url(config.oauth_redirect_url)
    store, guard = params["store"], params.get("url_guard") or DEFAULT_GUARD
    state_ttl = float(params.get("state_ttl", DEFAULT_STATE_TTL))
    session_id, binding = str(uuid.uuid4()), _new_binding(params.get("browser_binding"))
    flow = authorize_flow(config, session_id, binding=binding, state_ttl=state_ttl, new_session=True)

    def created() -> Flow[McpClient]:
        client = McpClient(session_id, store, record=config.record(), url_guard=guard, state_ttl=state_ttl)
        client._started((yield from flow), binding)
        return client

    redirect: Redirect | None = params.get("redirect")

    def after(client: McpClient) -> Any:
        if redirect is not None and client.authorization_url is not None:
            return redirect(client.authorization_url)
        return None

    return Run(created(), store, guard, after)


def create_dynamically_registered_mcp_client(
    **params: Unpack[CreateDynamicallyRegisteredMcpClientParams],
) -> McpClient:
    """Start connecting to ``mcp_endpoint``, registering this app with its authorization server.

    Discovers the server's authorization server, reuses or creates a dynamic registration (or
    uses ``client_metadata_url`` as a Client ID Metadata Document where supported) and returns
    an :class:`McpClient` whose ``authorization_url`` the user must visit. ``redirect``, if given,
    is also called with it. Raises :class:`UnsafeUrl`, :class:`ServerMisconfigured` or
    :class:`NetworkError` (nothing is stored then). Parameters:
    :class:`CreateDynamicallyRegisteredMcpClientParams`.
    """
    return _create(params, CreateDynamicallyRegisteredMcpClientParams).sync()


async def acreate_dynamically_registered_mcp_client(
    **params: Unpack[CreateDynamicallyRegisteredMcpClientParams],
) -> McpClient:
    """Async :func:`create_dynamically_registered_mcp_client` (``redirect`` may be a coroutine)."""
    return await _create(params, CreateDynamicallyRegisteredMcpClientParams).aio()


def create_known_credentials_mcp_client(**params: Unpack[CreateKnownCredentialsMcpClientParams]) -> McpClient:
    """Start connecting with a client registered beforehand (``client_id``/``client_secret``).

    The secret is kept in the session record, as in the TypeScript package: use an encrypted
    store (``encryption_keys=[...]``). A public pre-registered client passes ``client_secret=None``.
    Parameters: :class:`CreateKnownCredentialsMcpClientParams`.
    """
    return _create(params, CreateKnownCredentialsMcpClientParams).sync()


async def acreate_known_credentials_mcp_client(
    **params: Unpack[CreateKnownCredentialsMcpClientParams],
) -> McpClient:
    """Async :func:`create_known_credentials_mcp_client`."""
    return await _create(params, CreateKnownCredentialsMcpClientParams).aio()


# -- existing sessions ---------------------------------------------------------------------------


def _existing(params: GetClientBySessionIdParams) -> Run[McpClient]:
    checked(params, GetClientBySessionIdParams)
    session_id, store = params["session_id"], params["store"]
    guard = params.get("url_guard") or DEFAULT_GUARD

    def found() -> Flow[McpClient]:
        record = yield from read_session(session_id)
        if record is None:
            raise SessionNotFound(f'Session with ID "{session_id}" not found in store', session_id=session_id)
        return McpClient(
            session_id,
            store,
            record=record,
            url_guard=guard,
            state_ttl=params.get("state_ttl", DEFAULT_STATE_TTL),
            refresh_skew=params.get("refresh_skew", 60.0),
            lock_timeout=params.get("lock_timeout", 30.0),
            mode=params.get("mode", "auto"),
        )

    return Run(found(), store, guard)


def get_client_by_session_id(**params: Unpack[GetClientBySessionIdParams]) -> McpClient:
    """The client of an existing session (TS ``getClientBySessionId``); :class:`SessionNotFound` if none.

    ``state`` is accepted for signature parity and ignored. ``refresh_skew``, ``lock_timeout``,
    ``mode`` and ``state_ttl`` go to :class:`McpClient`.
    """
    return _existing(params).sync()


async def aget_client_by_session_id(**params: Unpack[GetClientBySessionIdParams]) -> McpClient:
    """Async :func:`get_client_by_session_id`."""
    return await _existing(params).aio()


def complete_run(**params: Unpack[CompleteAuthWithCodeParams]) -> Run[McpClient]:
    """:func:`complete_auth_with_code` as a :class:`~mcp_tools.client._io.Run` (for the views)."""
    return _complete(params)


def _complete(params: CompleteAuthWithCodeParams) -> Run[McpClient]:
    checked(params, CompleteAuthWithCodeParams)
    store, guard = params["store"], params.get("url_guard") or DEFAULT_GUARD
    flow = complete_flow(
        params["state"],
        params["code"],
        binding=params.get("browser_binding"),
        iss=params.get("iss"),
        error=params.get("error"),
        error_description=params.get("error_description"),
    )

    def completed() -> Flow[McpClient]:
        done = yield from flow  # the record as written: no second read of the store
        return McpClient(done.session_id, store, record=done.record, url_guard=guard)

    return Run(completed(), store, guard)


def complete_auth_with_code(**params: Unpack[CompleteAuthWithCodeParams]) -> McpClient:
    """Finish the authorization from the callback's ``state``, ``code`` and ``iss``.

    The TypeScript ``completeAuthWithCode``.

    ``browser_binding`` is the value kept in the browser's signed cookie when the flow started.
    ``state`` and its PKCE verifier are consumed on the first call, whatever the outcome, so a
    replay fails with :class:`InvalidState`. Pass the callback's ``error`` (and description) to
    get :class:`ConsentDenied` / :class:`AuthorizationFailed` after the same checks.
    """
    return _complete(params).sync()


async def acomplete_auth_with_code(**params: Unpack[CompleteAuthWithCodeParams]) -> McpClient:
    """Async :func:`complete_auth_with_code`."""
    return await _complete(params).aio()
