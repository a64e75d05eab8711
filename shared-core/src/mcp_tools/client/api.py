"""The public client API, mirroring ``@clerk/mcp-tools/client`` in snake_case, sync and async.

Each operation exists as a plain function for Django and Flask views and as an ``a``-prefixed
coroutine for FastAPI (``create_dynamically_registered_mcp_client`` /
``acreate_dynamically_registered_mcp_client``, ...). Both run the same flow generators
(:mod:`mcp_tools.client._flows`), one through ``requests`` and the store, the other through
``httpx2`` and :class:`~mcp_tools.stores.AsyncStore`.

Unlike the TypeScript package, creating a client performs discovery (and registration) at once
and returns the URL to send the user to, instead of calling ``connect()`` to provoke a redirect;
``redirect`` is still accepted and called with that URL.
"""

from __future__ import annotations

import inspect
import secrets
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Any, TypeVar
from urllib.parse import urlsplit

from mcp_tools.stores import AsyncStore, Store

from ._flows import AuthorizationStart, ClientConfig, authorize_flow, complete_flow, session_key
from ._io import Flow, drive_async, drive_sync
from .auth import McpBearerAuth
from .errors import AuthorizationRequired, McpClientError, SessionNotFound
from .guard import DEFAULT_GUARD, UrlGuard

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

Redirect = Callable[[str], Any]


def _sync_store(store: Store | AsyncStore) -> Store:
    return store.sync if isinstance(store, AsyncStore) else store


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
    """

    def __init__(
        self,
        session_id: str,
        store: Store | AsyncStore,
        *,
        client_data: dict[str, Any] | None = None,
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
        self.store = _sync_store(store)
        self.client_data = client_data or {}
        self.authorization_url = authorization_url
        self.state = state
        self.browser_binding = browser_binding
        self.url_guard = url_guard or DEFAULT_GUARD
        self.state_ttl = state_ttl
        self.refresh_skew = refresh_skew
        self.lock_timeout = lock_timeout
        self.mode = mode

    def __repr__(self) -> str:
        return f"<McpClient session_id={self.session_id!r} endpoint={self.client_data.get('mcpEndpoint')!r}>"

    @property
    def mcp_endpoint(self) -> str:
        """The MCP server URL of this session."""
        return str(self.client_data.get("mcpEndpoint", ""))

    @property
    def authorized(self) -> bool:
        """Whether the session held a grant when this object was built (see :meth:`connect`)."""
        return bool(self.client_data.get("authComplete"))

    # -- (re-)authorization ----------------------------------------------------------------------

    def _authorize(self, scope: str | None, binding: str) -> Flow[AuthorizationStart]:
        config = ClientConfig.from_record(self.client_data)
        return authorize_flow(
            config,
            self.session_id,
            binding=binding,
            state_ttl=self.state_ttl,
            new_session=False,
            step_up_scope=scope,
        )

    def _started(self, start: AuthorizationStart, binding: str) -> str | None:
        self.authorization_url = start.authorization_url
        self.state = start.state
        self.browser_binding = binding if start.state else None
        return start.authorization_url

    def start_authorization(
        self, *, scope: str | None = None, browser_binding: str | None = None
    ) -> str | None:
        """Begin a new authorization for this session (expired grant, revoked, or step-up).

        ``scope`` (e.g. :attr:`InsufficientScope.scope`) is added to the scopes requested before.
        Returns the URL to redirect to (also kept in :attr:`authorization_url`), and sets
        :attr:`browser_binding` (reusing ``browser_binding`` when given).
        """
        binding = _new_binding(browser_binding)
        return self._started(drive_sync(self._authorize(scope, binding), self.store, self.url_guard), binding)

    async def astart_authorization(
        self, *, scope: str | None = None, browser_binding: str | None = None
    ) -> str | None:
        """Async :meth:`start_authorization`."""
        binding = _new_binding(browser_binding)
        start = await drive_async(self._authorize(scope, binding), AsyncStore(self.store), self.url_guard)
        return self._started(start, binding)

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

        astore = AsyncStore(self.store)
        record = await astore.read(session_key(self.session_id))
        if not isinstance(record, dict):
            raise SessionNotFound(
                f"session {self.session_id!r} not found in the store", session_id=self.session_id
            )
        self.client_data = record
        if not record.get("authComplete"):
            raise AuthorizationRequired(
                "this session is not authorized yet; redirect the user to start_authorization()",
                session_id=self.session_id,
            )
        endpoint = str(record["mcpEndpoint"])
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
            name=str(record.get("mcpClientName", "mcp-tools")),
            version=str(record.get("mcpClientVersion", "0")),
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


# -- creation ------------------------------------------------------------------------------------


def _prepare(
    config: ClientConfig,
    store: Store | AsyncStore,
    browser_binding: str | None,
    url_guard: UrlGuard | None,
    state_ttl: float,
) -> tuple[McpClient, Flow[AuthorizationStart], str]:
    _check_redirect_url(config.oauth_redirect_url)
    session_id = str(uuid.uuid4())
    binding = _new_binding(browser_binding)
    client = McpClient(
        session_id, store, client_data=config.record(), url_guard=url_guard, state_ttl=state_ttl
    )
    flow = authorize_flow(config, session_id, binding=binding, state_ttl=state_ttl, new_session=True)
    return client, flow, binding


def _finish(client: McpClient, start: AuthorizationStart, binding: str) -> McpClient:
    client._started(start, binding)
    if start.authorization_url is None:
        client.client_data = {**client.client_data, "authComplete": True, "noAuth": True}
    return client


async def _call_redirect(redirect: Redirect | None, url: str | None) -> None:
    if redirect is not None and url is not None:
        result = redirect(url)
        if inspect.isawaitable(result):
            await result


def _start(
    config: ClientConfig,
    store: Store | AsyncStore,
    redirect: Redirect | None,
    browser_binding: str | None,
    url_guard: UrlGuard | None,
    state_ttl: float,
) -> McpClient:
    """Discovery and registration from synchronous code; ``redirect`` gets the consent URL."""
    client, flow, binding = _prepare(config, store, browser_binding, url_guard, state_ttl)
    _finish(client, drive_sync(flow, client.store, client.url_guard), binding)
    if redirect is not None and client.authorization_url is not None:
        redirect(client.authorization_url)
    return client


async def _astart(
    config: ClientConfig,
    store: Store | AsyncStore,
    redirect: Redirect | None,
    browser_binding: str | None,
    url_guard: UrlGuard | None,
    state_ttl: float,
) -> McpClient:
    """The asynchronous twin of :func:`_start` (``redirect`` may be a coroutine function)."""
    client, flow, binding = _prepare(config, store, browser_binding, url_guard, state_ttl)
    _finish(client, await drive_async(flow, AsyncStore(client.store), client.url_guard), binding)
    await _call_redirect(redirect, client.authorization_url)
    return client


def create_dynamically_registered_mcp_client(
    *,
    mcp_endpoint: str,
    oauth_redirect_url: str,
    mcp_client_name: str,
    mcp_client_version: str,
    store: Store | AsyncStore,
    redirect: Redirect | None = None,
    oauth_client_name: str | None = None,
    oauth_client_uri: str | None = None,
    oauth_scopes: str | None = None,
    oauth_public_client: bool | None = None,
    client_metadata_url: str | None = None,
    browser_binding: str | None = None,
    url_guard: UrlGuard | None = None,
    state_ttl: float = DEFAULT_STATE_TTL,
) -> McpClient:
    """Start connecting to ``mcp_endpoint``, registering this app with its authorization server.

    Discovers the server's authorization server, reuses or creates a dynamic registration (or
    uses ``client_metadata_url`` as a Client ID Metadata Document where supported) and returns
    an :class:`McpClient` whose ``authorization_url`` the user must visit. ``redirect``, if given,
    is also called with it. Raises :class:`UnsafeUrl`, :class:`ServerMisconfigured` or
    :class:`NetworkError` (nothing is stored then).
    """
    config = ClientConfig(
        mcp_endpoint=mcp_endpoint,
        oauth_redirect_url=oauth_redirect_url,
        mcp_client_name=mcp_client_name,
        mcp_client_version=mcp_client_version,
        oauth_scopes=oauth_scopes,
        oauth_client_name=oauth_client_name,
        oauth_client_uri=oauth_client_uri,
        oauth_public_client=oauth_public_client,
        client_metadata_url=client_metadata_url,
    )
    return _start(config, store, redirect, browser_binding, url_guard, state_ttl)


async def acreate_dynamically_registered_mcp_client(
    *,
    mcp_endpoint: str,
    oauth_redirect_url: str,
    mcp_client_name: str,
    mcp_client_version: str,
    store: Store | AsyncStore,
    redirect: Redirect | None = None,
    oauth_client_name: str | None = None,
    oauth_client_uri: str | None = None,
    oauth_scopes: str | None = None,
    oauth_public_client: bool | None = None,
    client_metadata_url: str | None = None,
    browser_binding: str | None = None,
    url_guard: UrlGuard | None = None,
    state_ttl: float = DEFAULT_STATE_TTL,
) -> McpClient:
    """Async :func:`create_dynamically_registered_mcp_client` (``redirect`` may be a coroutine)."""
    config = ClientConfig(
        mcp_endpoint=mcp_endpoint,
        oauth_redirect_url=oauth_redirect_url,
        mcp_client_name=mcp_client_name,
        mcp_client_version=mcp_client_version,
        oauth_scopes=oauth_scopes,
        oauth_client_name=oauth_client_name,
        oauth_client_uri=oauth_client_uri,
        oauth_public_client=oauth_public_client,
        client_metadata_url=client_metadata_url,
    )
    return await _astart(config, store, redirect, browser_binding, url_guard, state_ttl)


def create_known_credentials_mcp_client(
    *,
    client_id: str,
    client_secret: str | None,
    oauth_redirect_url: str,
    mcp_endpoint: str,
    mcp_client_name: str,
    mcp_client_version: str,
    store: Store | AsyncStore,
    redirect: Redirect | None = None,
    oauth_scopes: str | None = None,
    browser_binding: str | None = None,
    url_guard: UrlGuard | None = None,
    state_ttl: float = DEFAULT_STATE_TTL,
) -> McpClient:
    """Start connecting with a client registered beforehand (``client_id``/``client_secret``).

    The secret is kept in the session record, as in the TypeScript package: use an encrypted
    store (``encryption_keys=[...]``). A public pre-registered client passes ``client_secret=None``.
    """
    config = ClientConfig(
        mcp_endpoint=mcp_endpoint,
        oauth_redirect_url=oauth_redirect_url,
        mcp_client_name=mcp_client_name,
        mcp_client_version=mcp_client_version,
        oauth_scopes=oauth_scopes,
        client_id=client_id,
        client_secret=client_secret,
    )
    return _start(config, store, redirect, browser_binding, url_guard, state_ttl)


async def acreate_known_credentials_mcp_client(
    *,
    client_id: str,
    client_secret: str | None,
    oauth_redirect_url: str,
    mcp_endpoint: str,
    mcp_client_name: str,
    mcp_client_version: str,
    store: Store | AsyncStore,
    redirect: Redirect | None = None,
    oauth_scopes: str | None = None,
    browser_binding: str | None = None,
    url_guard: UrlGuard | None = None,
    state_ttl: float = DEFAULT_STATE_TTL,
) -> McpClient:
    """Async :func:`create_known_credentials_mcp_client`."""
    config = ClientConfig(
        mcp_endpoint=mcp_endpoint,
        oauth_redirect_url=oauth_redirect_url,
        mcp_client_name=mcp_client_name,
        mcp_client_version=mcp_client_version,
        oauth_scopes=oauth_scopes,
        client_id=client_id,
        client_secret=client_secret,
    )
    return await _astart(config, store, redirect, browser_binding, url_guard, state_ttl)


# -- existing sessions ---------------------------------------------------------------------------


def _client_from_record(
    session_id: str, store: Store | AsyncStore, record: Any, url_guard: UrlGuard | None, **options: Any
) -> McpClient:
    if not isinstance(record, dict):
        raise SessionNotFound(f'Session with ID "{session_id}" not found in store', session_id=session_id)
    return McpClient(session_id, store, client_data=record, url_guard=url_guard, **options)


def get_client_by_session_id(
    *,
    session_id: str,
    store: Store | AsyncStore,
    url_guard: UrlGuard | None = None,
    state: str | None = None,
    **options: Any,
) -> McpClient:
    """The client of an existing session (TS ``getClientBySessionId``); :class:`SessionNotFound` if none.

    ``state`` is accepted for signature parity and ignored. ``options`` go to :class:`McpClient`
    (``refresh_skew``, ``lock_timeout``, ``mode``, ``state_ttl``).
    """
    record = _sync_store(store).read(session_key(session_id))
    return _client_from_record(session_id, store, record, url_guard, **options)


async def aget_client_by_session_id(
    *,
    session_id: str,
    store: Store | AsyncStore,
    url_guard: UrlGuard | None = None,
    state: str | None = None,
    **options: Any,
) -> McpClient:
    """Async :func:`get_client_by_session_id`."""
    record = await AsyncStore(_sync_store(store)).read(session_key(session_id))
    return _client_from_record(session_id, store, record, url_guard, **options)


def complete_auth_with_code(
    *,
    state: str,
    code: str | None,
    store: Store | AsyncStore,
    browser_binding: str | None = None,
    iss: str | None = None,
    error: str | None = None,
    error_description: str | None = None,
    url_guard: UrlGuard | None = None,
) -> McpClient:
    """Finish the authorization from the callback's ``state``, ``code`` and ``iss``.

    The TypeScript ``completeAuthWithCode``.

    ``browser_binding`` is the value kept in the browser's signed cookie when the flow started.
    ``state`` and its PKCE verifier are consumed on the first call, whatever the outcome, so a
    replay fails with :class:`InvalidState`. Pass the callback's ``error`` (and description) to
    get :class:`ConsentDenied` / :class:`AuthorizationFailed` after the same checks.
    """
    guard = url_guard or DEFAULT_GUARD
    sync = _sync_store(store)
    flow = complete_flow(
        state, code, binding=browser_binding, iss=iss, error=error, error_description=error_description
    )
    session_id = drive_sync(flow, sync, guard)
    return get_client_by_session_id(session_id=session_id, store=sync, url_guard=guard)


async def acomplete_auth_with_code(
    *,
    state: str,
    code: str | None,
    store: Store | AsyncStore,
    browser_binding: str | None = None,
    iss: str | None = None,
    error: str | None = None,
    error_description: str | None = None,
    url_guard: UrlGuard | None = None,
) -> McpClient:
    """Async :func:`complete_auth_with_code`."""
    guard = url_guard or DEFAULT_GUARD
    astore = AsyncStore(_sync_store(store))
    flow = complete_flow(
        state, code, binding=browser_binding, iss=iss, error=error, error_description=error_description
    )
    session_id = await drive_async(flow, astore, guard)
    return await aget_client_by_session_id(session_id=session_id, store=astore, url_guard=guard)
