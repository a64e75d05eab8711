"""Drive the client flows synchronously or asynchronously: one implementation, two shells.

The OAuth flows in this package are generators of typed steps (:mod:`mcp_tools.client._steps`):
an HTTP exchange (:class:`Fetch`), a URL check (:class:`CheckUrl`), a store operation
(:class:`StoreRead`, :class:`StoreWrite`, :class:`StoreTake`, :class:`StoreUpdate`) or a named
lock (:class:`AcquireLock` / :class:`ReleaseLock`). :func:`drive_sync` performs the steps with
``requests`` and the store directly (Django, Flask); :func:`drive_async` with ``httpx2`` and an
:class:`~mcp_tools.stores.AsyncStore` (FastAPI). Each has one executor, a ``match`` over the step
classes. Errors of a step are thrown into the flow.

Both drivers apply the :class:`~mcp_tools.client.guard.UrlGuard` to every request (so no flow
can forget it), never follow a redirect to another origin, apply the guard's timeout as a total
deadline of each exchange (address check, connect, headers and body, same-origin redirects
included: a peer trickling one byte a second cannot hold a worker longer) and stop reading a
response body after ``max_response_bytes``. Locks still held when a flow ends (by an
error) are released by the driver.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from contextlib import AbstractAsyncContextManager, AbstractContextManager
from dataclasses import dataclass
from typing import Any, Generic, TypeVar, cast
from urllib.parse import urljoin, urlsplit

from mcp_tools._outbound import (
    OutboundRequest,
    OutboundResponse,
    Watchdog,
    deadline_passed,
    response_socket,
    watched_session,
)
from mcp_tools.stores import AsyncStore, Store

from ._steps import (
    AcquireLock,
    CheckUrl,
    Fetch,
    Flow,
    ReleaseLock,
    Step,
    StoreRead,
    StoreTake,
    StoreUpdate,
    StoreWrite,
)
from .errors import NetworkError, ResponseTooLarge
from .guard import UrlGuard

__all__ = ["Run", "async_store", "drive_async", "drive_sync", "sync_store"]

T = TypeVar("T")
_REDIRECTS = {301, 302, 303, 307, 308}


def _origin(url: str) -> tuple[str, str, int | None]:
    parts = urlsplit(url)
    return parts.scheme.lower(), (parts.hostname or "").lower(), parts.port


def _redirect_target(
    request: OutboundRequest, url: str, status: int, location: str | None, hops: int, guard: UrlGuard
) -> str | None:
    """The same-origin URL a GET redirect leads to, or ``None`` when it must not be followed."""
    if (
        status not in _REDIRECTS
        or request.method.upper() != "GET"
        or not location
        or hops >= guard.max_redirects
    ):
        return None
    target = urljoin(url, location)
    return target if _origin(target) == _origin(url) else None


class _Exchange:
    """The sans-I/O part of one :class:`Fetch`: the URL to ask next, redirects, the body limit."""

    def __init__(self, fetch: Fetch, guard: UrlGuard) -> None:
        self.request = fetch.request
        self.guard = guard
        self.url = fetch.request.url
        self.hops = 0
        self.body = bytearray()
        #: The total deadline of the exchange, in seconds.
        self.limit = min(fetch.request.timeout, guard.timeout)

    def arguments(self, timeout: float) -> dict[str, Any]:
        """The keyword arguments of the HTTP call (``requests`` and ``httpx2`` share these)."""
        request = self.request
        return {
            "method": request.method,
            "url": self.url,
            "headers": dict(request.headers),
            "data": request.data,
            "json": request.json_body,
            "timeout": timeout,
        }

    def redirected(self, status: int, headers: dict[str, str]) -> bool:
        """Whether to follow this answer to a same-origin URL (then :attr:`url` is that URL)."""
        target = _redirect_target(
            self.request, self.url, status, headers.get("location"), self.hops, self.guard
        )
        if target is None:
            return False
        self.url, self.hops = target, self.hops + 1
        return True

    def add(self, chunk: bytes) -> None:
        """Append a chunk of the body; refuse a body over the guard's ``max_response_bytes``."""
        self.body += chunk
        if len(self.body) > self.guard.max_response_bytes:
            raise ResponseTooLarge(
                f"the response from {self.url} is larger than {self.guard.max_response_bytes} bytes; "
                "refused (raise UrlGuard.max_response_bytes if this server legitimately sends more)",
                url=self.url,
            )

    def failed(self, exc: Exception, when: str = "") -> NetworkError:
        return NetworkError(f"{self.request.method} {self.url} failed{when}: {type(exc).__name__}")

    def timed_out(self) -> NetworkError:
        """The error of an exchange that outlived its total deadline (the guard's timeout)."""
        return NetworkError(f"{self.request.method} {self.url} failed: {deadline_passed(self.limit)}")

    def response(self, status: int, headers: dict[str, str]) -> OutboundResponse:
        return OutboundResponse(status, headers, bytes(self.body))


def _lower(headers: Any) -> dict[str, str]:
    return {k.lower(): v for k, v in headers.items()}


# -- synchronous ---------------------------------------------------------------------------------


def _http_sync(fetch: Fetch, guard: UrlGuard, session: Any) -> OutboundResponse:
    import requests

    exchange = _Exchange(fetch, guard)
    with Watchdog(exchange.limit) as dog:  # shuts the sockets down when the deadline passes
        while True:
            guard.check(exchange.url)
            try:
                response = session.request(
                    **exchange.arguments(dog.remaining()), allow_redirects=False, stream=True
                )
            except requests.RequestException as exc:
                raise (exchange.timed_out() if dog.expired else exchange.failed(exc)) from None
            try:
                dog.watch(response_socket(response))  # a caller's session: known from here on
                headers = _lower(response.headers)
                if exchange.redirected(response.status_code, headers):
                    continue
                if fetch.read_body:
                    try:
                        for chunk in response.iter_content(65536):
                            exchange.add(chunk)
                    except requests.RequestException as exc:
                        if dog.expired:
                            raise exchange.timed_out() from None
                        raise exchange.failed(exc, " while reading") from None
                if dog.expired:  # a body without a length just ends when its socket is shut down
                    raise exchange.timed_out()
                return exchange.response(response.status_code, headers)
            finally:
                response.close()


def _execute_sync(
    step: Step[Any], store: Store, guard: UrlGuard, http: Any, held: dict[str, AbstractContextManager[None]]
) -> object:
    """Perform one step synchronously and return its result."""
    match step:
        case Fetch():
            return _http_sync(step, guard, http)
        case CheckUrl(url=url, what=what):
            guard.parse(url, what)
            return None
        case StoreRead(key=key):
            return store.read(key)
        case StoreWrite(key=key, value=value, ttl=ttl):
            store.write(key, value, ttl)
            return None
        case StoreTake(key=key):
            return store.take(key)
        case StoreUpdate(key=key, fn=fn):
            return store.update(key, fn)
        case AcquireLock(name=name, timeout=timeout):
            manager = store.lock(name, timeout)
            manager.__enter__()
            held[name] = manager
            return None
        case ReleaseLock(name=name):
            released = held.pop(name, None)
            if released is not None:
                released.__exit__(None, None, None)
            return None
    raise TypeError(f"unknown flow step {step!r}")


def drive_sync(flow: Flow[T], store: Store, guard: UrlGuard, session: Any = None) -> T:
    """Run ``flow`` to completion with ``requests`` and the synchronous ``store``."""
    http = session if session is not None else watched_session()
    held: dict[str, AbstractContextManager[None]] = {}
    try:
        step = next(flow)
        while True:
            try:
                result = _execute_sync(step, store, guard, http, held)
            except Exception as exc:  # every failure of a step goes back into the flow
                step = flow.throw(exc)
                continue
            step = flow.send(result)
    except StopIteration as stop:
        return cast(T, stop.value)
    finally:
        for manager in reversed(list(held.values())):
            manager.__exit__(None, None, None)
        if session is None:
            http.close()


# -- asynchronous --------------------------------------------------------------------------------


async def _http_async(fetch: Fetch, guard: UrlGuard, client: Any) -> OutboundResponse:
    import anyio

    exchange = _Exchange(fetch, guard)
    try:
        with anyio.fail_after(exchange.limit):  # cancels the exchange when the deadline passes
            return await _exchange_async(exchange, fetch, client)
    except TimeoutError:
        raise exchange.timed_out() from None


async def _exchange_async(exchange: _Exchange, fetch: Fetch, client: Any) -> OutboundResponse:
    import httpx2

    while True:
        await exchange.guard.acheck(exchange.url)
        try:
            async with client.stream(
                **exchange.arguments(exchange.limit), follow_redirects=False
            ) as response:
                headers = _lower(response.headers)
                if exchange.redirected(response.status_code, headers):
                    continue
                if fetch.read_body:
                    async for chunk in response.aiter_bytes():
                        exchange.add(chunk)
                return exchange.response(response.status_code, headers)
        except httpx2.HTTPError as exc:
            raise exchange.failed(exc) from None


async def _execute_async(
    step: Step[Any],
    store: AsyncStore,
    guard: UrlGuard,
    http: Any,
    held: dict[str, AbstractAsyncContextManager[None]],
) -> object:
    """Perform one step on the event loop (store calls in worker threads) and return its result."""
    match step:
        case Fetch():
            return await _http_async(step, guard, http)
        case CheckUrl(url=url, what=what):
            guard.parse(url, what)
            return None
        case StoreRead(key=key):
            return await store.read(key)
        case StoreWrite(key=key, value=value, ttl=ttl):
            await store.write(key, value, ttl)
            return None
        case StoreTake(key=key):
            return await store.take(key)
        case StoreUpdate(key=key, fn=fn):
            return await store.update(key, fn)
        case AcquireLock(name=name, timeout=timeout):
            manager = store.lock(name, timeout)
            await manager.__aenter__()
            held[name] = manager
            return None
        case ReleaseLock(name=name):
            released = held.pop(name, None)
            if released is not None:
                await released.__aexit__(None, None, None)
            return None
    raise TypeError(f"unknown flow step {step!r}")


async def drive_async(flow: Flow[T], store: AsyncStore, guard: UrlGuard, client: Any = None) -> T:
    """Run ``flow`` to completion with ``httpx2`` and the :class:`AsyncStore`."""
    import httpx2

    http = client if client is not None else httpx2.AsyncClient()
    held: dict[str, AbstractAsyncContextManager[None]] = {}
    try:
        step = next(flow)
        while True:
            try:
                result = await _execute_async(step, store, guard, http, held)
            except Exception as exc:
                step = flow.throw(exc)
                continue
            step = flow.send(result)
    except StopIteration as stop:
        return cast(T, stop.value)
    finally:
        for manager in reversed(list(held.values())):
            await manager.__aexit__(None, None, None)
        if client is None:
            await http.aclose()


# -- the two shells ------------------------------------------------------------------------------


def sync_store(store: Store | AsyncStore) -> Store:
    """The synchronous store behind ``store`` (an :class:`AsyncStore`'s own, or ``store``)."""
    return store.sync if isinstance(store, AsyncStore) else store


def async_store(store: Store | AsyncStore) -> AsyncStore:
    """``store`` itself when it is an :class:`AsyncStore` (its limiter kept), else a wrapper."""
    return store if isinstance(store, AsyncStore) else AsyncStore(store)


@dataclass
class Run(Generic[T]):
    """A flow and what it runs against; :meth:`sync` and :meth:`aio` are the two shells.

    The caller's store is used as given: the synchronous driver uses an :class:`AsyncStore`'s
    underlying store, the asynchronous driver the :class:`AsyncStore` itself (with its limiter).
    ``after`` is called with the result (and awaited when it returns an awaitable, in :meth:`aio`).
    """

    flow: Flow[T]
    store: Store | AsyncStore
    guard: UrlGuard
    after: Callable[[T], Any] | None = None

    def sync(self) -> T:
        """Run the flow with ``requests`` and the synchronous store."""
        result = drive_sync(self.flow, sync_store(self.store), self.guard)
        if self.after is not None:
            self.after(result)
        return result

    async def aio(self) -> T:
        """Run the flow with ``httpx2`` and the asynchronous store."""
        result = await drive_async(self.flow, async_store(self.store), self.guard)
        if self.after is not None:
            awaitable = self.after(result)
            if inspect.isawaitable(awaitable):
                await awaitable
        return result
