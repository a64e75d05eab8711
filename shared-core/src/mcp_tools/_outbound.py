"""Outbound HTTP, written once and driven either synchronously or asynchronously.

Logic that must call the network (JWKS fetches, token introspection, Clerk's API, OAuth
discovery) is written as a *generator* that yields :class:`OutboundRequest` objects and
receives :class:`OutboundResponse` objects back. :func:`run_sync` drives such a generator
with ``requests`` (for Django and Flask views) and :func:`run_async` with the SDK's
``httpx2`` (for FastAPI), so each piece of logic exists once.

Example::

    def fetch_json(url: str) -> Flow[dict]:
        response = yield OutboundRequest("GET", url)
        return response.json()

    data = run_sync(fetch_json("https://..."))
    data = await run_async(fetch_json("https://..."))

A request's ``timeout`` is a **total** deadline: connecting, the headers and the whole body
(redirects included) must be done within it. A per-read timeout is not enough: a peer that
sends one byte a second never lets a read time out. The async driver cancels the exchange at
the deadline (``anyio.fail_after``); the sync driver arms a :class:`Watchdog` that shuts the
exchange's sockets down, which ends whatever read is blocked on them. The sockets are known
through the connection classes of :func:`watched_session`; a ``requests.Session`` you pass
yourself keeps its own adapters, so there the deadline covers the body and each header read is
bounded by the timeout on its own.
"""

from __future__ import annotations

import contextlib
import json
import socket
import threading
import time
from collections.abc import Generator, Mapping
from contextvars import ContextVar, Token
from dataclasses import dataclass, field
from functools import cache
from typing import Any, TypeVar

__all__ = [
    "DEFAULT_TIMEOUT",
    "Flow",
    "OutboundError",
    "OutboundRequest",
    "OutboundResponse",
    "Watchdog",
    "deadline_passed",
    "run_async",
    "run_sync",
    "watched_session",
]

T = TypeVar("T")

DEFAULT_TIMEOUT = 10.0


class OutboundError(Exception):
    """A network call failed (connection refused, DNS, timeout). The message names the URL."""


@dataclass(frozen=True)
class OutboundRequest:
    method: str
    url: str
    headers: Mapping[str, str] = field(default_factory=dict)
    data: Mapping[str, str] | None = None  # form-encoded body
    json_body: Any = None
    timeout: float = DEFAULT_TIMEOUT
    follow_redirects: bool = False


@dataclass(frozen=True)
class OutboundResponse:
    status: int
    headers: Mapping[str, str]
    content: bytes

    def json(self) -> Any:
        """Decode the body as JSON; raises ``ValueError`` on anything else."""
        return json.loads(self.content)


Flow = Generator[OutboundRequest, OutboundResponse, T]


def deadline_passed(seconds: float) -> TimeoutError:
    """The error of an exchange that did not finish within its total deadline of ``seconds``."""
    return TimeoutError(
        f"timed out: no complete answer within {seconds:g} s (the timeout bounds the whole request: "
        "connect, headers and body; the server is too slow, or trickling)"
    )


# -- the total deadline of a blocking exchange ---------------------------------------------------

_WATCHDOG: ContextVar[Watchdog | None] = ContextVar("mcp_tools_outbound_watchdog", default=None)


def _shut(sock: Any) -> None:
    # The plain socket's shutdown, also under TLS: it wakes a read blocked in another thread.
    with contextlib.suppress(OSError, TypeError):
        socket.socket.shutdown(sock, socket.SHUT_RDWR)


class Watchdog:
    """A total deadline for one blocking exchange: when it passes, its sockets are shut down.

    ``with Watchdog(10.0) as dog:`` arms a timer; sockets opened inside the block by a
    :func:`watched_session` (and any given to :meth:`watch`) are shut down when it fires, which
    ends a read blocked on them; :attr:`expired` then tells the caller why the read failed (or
    why a body ended early).
    """

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self.deadline = time.monotonic() + seconds
        self.expired = False
        self._sockets: list[Any] = []
        self._lock = threading.Lock()
        self._done = False
        self._timer = threading.Timer(seconds, self._fire)
        self._timer.daemon = True
        self._token: Token[Watchdog | None] | None = None

    def remaining(self) -> float:
        """Seconds left (a small positive number once the deadline has passed)."""
        return max(self.deadline - time.monotonic(), 0.001)

    def watch(self, sock: Any) -> None:
        """Shut ``sock`` down at the deadline (at once when it has passed)."""
        if sock is None:
            return
        with self._lock:
            if self._done:
                return
            self._sockets.append(sock)
            late = self.expired
        if late:
            _shut(sock)

    def _fire(self) -> None:
        with self._lock:
            if self._done:
                return
            self.expired = True
            sockets = list(self._sockets)
        for sock in sockets:
            _shut(sock)

    def __enter__(self) -> Watchdog:
        self._token = _WATCHDOG.set(self)
        self._timer.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._timer.cancel()
        with self._lock:
            self._done = True
            self._sockets.clear()
        if self._token is not None:
            _WATCHDOG.reset(self._token)


def _watch_current(sock: Any) -> None:
    dog = _WATCHDOG.get()
    if dog is not None:
        dog.watch(sock)


@cache
def _watched_adapter() -> type[Any]:
    """A ``requests`` adapter whose connections report their sockets to the current watchdog."""
    from requests.adapters import HTTPAdapter
    from urllib3.connection import HTTPConnection, HTTPSConnection
    from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool

    class Watched:
        """Reports the connection's socket to the current watchdog (mixed into both classes)."""

        sock: socket.socket | None

        def _new_conn(self) -> socket.socket:
            sock: socket.socket = super()._new_conn()  # type: ignore[misc]
            _watch_current(sock)  # a new connection: from the TCP handshake on (TLS included)
            return sock

        def request(self, *args: Any, **kwargs: Any) -> None:
            _watch_current(self.sock)  # a reused keep-alive connection
            super().request(*args, **kwargs)  # type: ignore[misc]

    class WatchedHTTPConnection(Watched, HTTPConnection):
        pass

    class WatchedHTTPSConnection(Watched, HTTPSConnection):
        pass

    class WatchedHTTPPool(HTTPConnectionPool):
        ConnectionCls = WatchedHTTPConnection

    class WatchedHTTPSPool(HTTPSConnectionPool):
        ConnectionCls = WatchedHTTPSConnection

    pools = {"http": WatchedHTTPPool, "https": WatchedHTTPSPool}

    class WatchedAdapter(HTTPAdapter):
        def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
            super().init_poolmanager(*args, **kwargs)
            self.poolmanager.pool_classes_by_scheme = pools

        def proxy_manager_for(self, proxy: str, **kwargs: Any) -> Any:
            manager = super().proxy_manager_for(proxy, **kwargs)
            if not proxy.lower().startswith("socks"):  # SOCKS pools keep their own connections
                manager.pool_classes_by_scheme = pools
            return manager

    return WatchedAdapter


def watched_session() -> Any:
    """A ``requests.Session`` whose sockets a :class:`Watchdog` can shut down at its deadline."""
    import requests

    session = requests.Session()
    adapter = _watched_adapter()()
    session.mount("http://", adapter)
    session.mount("https://", adapter)
    return session


def response_socket(response: Any) -> Any:
    """The socket under a streamed ``requests`` response (``None`` when it cannot be found)."""
    connection = getattr(getattr(response, "raw", None), "connection", None)
    return getattr(connection, "sock", None)


# -- the drivers ---------------------------------------------------------------------------------


def _kwargs(request: OutboundRequest, timeout: float) -> dict[str, Any]:
    """The keyword arguments ``requests`` and ``httpx2`` share for ``request``."""
    return {
        "headers": dict(request.headers),
        "data": request.data,
        "json": request.json_body,
        "timeout": timeout,
    }


def _advance(
    flow: Flow[T], request: OutboundRequest, outcome: OutboundResponse | Exception
) -> OutboundRequest:
    """Hand ``flow`` the response to ``request``, or throw its failure in; the next request."""
    if isinstance(outcome, OutboundResponse):
        return flow.send(outcome)
    return flow.throw(OutboundError(f"{request.method} {request.url} failed: {outcome}"))


def _exchange_sync(http: Any, request: OutboundRequest) -> OutboundResponse:
    """One blocking request, headers and body within ``request.timeout`` in all."""
    import requests

    with Watchdog(request.timeout) as dog:
        try:
            r = http.request(
                request.method,
                request.url,
                allow_redirects=request.follow_redirects,
                stream=True,
                **_kwargs(request, dog.remaining()),
            )
            try:
                dog.watch(response_socket(r))  # a caller's session: its sockets are known from here
                content = r.content
            finally:
                r.close()
        except requests.RequestException as exc:
            raise (deadline_passed(dog.seconds) if dog.expired else exc) from None
        if dog.expired:  # a body without a length ends early when its socket is shut down
            raise deadline_passed(dog.seconds)
    return OutboundResponse(r.status_code, {k.lower(): v for k, v in r.headers.items()}, content)


def run_sync(flow: Flow[T], session: Any = None) -> T:
    """Drive ``flow`` with ``requests`` (blocking). ``session`` may be a ``requests.Session``."""
    import requests

    http = session if session is not None else watched_session()
    try:
        request = next(flow)
        while True:
            try:
                outcome: OutboundResponse | Exception = _exchange_sync(http, request)
            except (requests.RequestException, TimeoutError) as exc:
                outcome = exc
            request = _advance(flow, request, outcome)
    except StopIteration as stop:
        return stop.value  # type: ignore[no-any-return]
    finally:
        if session is None:
            http.close()


async def _exchange_async(http: Any, request: OutboundRequest) -> OutboundResponse:
    """One request on the event loop, cancelled when ``request.timeout`` has passed in all."""
    import anyio

    try:
        with anyio.fail_after(request.timeout):
            async with http.stream(
                request.method,
                request.url,
                follow_redirects=request.follow_redirects,
                **_kwargs(request, request.timeout),
            ) as r:
                content = await r.aread()
    except TimeoutError:
        raise deadline_passed(request.timeout) from None
    return OutboundResponse(r.status_code, {k.lower(): v for k, v in r.headers.items()}, content)


async def run_async(flow: Flow[T], client: Any = None) -> T:
    """Drive ``flow`` with ``httpx2.AsyncClient`` (non-blocking)."""
    import httpx2

    owned = client is None
    http = client or httpx2.AsyncClient()
    try:
        request = next(flow)
        while True:
            try:
                outcome: OutboundResponse | Exception = await _exchange_async(http, request)
            except (httpx2.HTTPError, TimeoutError) as exc:
                outcome = exc
            request = _advance(flow, request, outcome)
    except StopIteration as stop:
        return stop.value  # type: ignore[no-any-return]
    finally:
        if owned:
            await http.aclose()
