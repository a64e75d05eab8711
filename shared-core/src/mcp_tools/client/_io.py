"""Drive the client flows synchronously or asynchronously: one implementation, two shells.

The OAuth flows in this package are generators (the pattern of :mod:`mcp_tools._outbound`):
they yield *steps* and receive each step's result. A step is an HTTP request
(:class:`~mcp_tools._outbound.OutboundRequest`), a store call (:class:`StoreCall`) or a named
lock (:class:`AcquireLock` / :class:`ReleaseLock`). :func:`drive_sync` performs the steps with
``requests`` and the store directly (Django, Flask); :func:`drive_async` with ``httpx2`` and an
:class:`~mcp_tools.stores.AsyncStore` (FastAPI). Errors of a step are thrown into the flow.

Both drivers apply the :class:`~mcp_tools.client.guard.UrlGuard` to every request (so no flow
can forget it), never follow a redirect to another origin, apply the guard's timeout and stop
reading a response body after ``max_response_bytes``. Locks still held when a flow ends (by an
error) are released by the driver.
"""

from __future__ import annotations

from collections.abc import Generator
from contextlib import AbstractAsyncContextManager, AbstractContextManager
from dataclasses import dataclass
from typing import Any, TypeVar
from urllib.parse import urljoin, urlsplit

from mcp_tools._outbound import OutboundRequest, OutboundResponse
from mcp_tools.stores import AsyncStore, Store

from .errors import NetworkError, ResponseTooLarge
from .guard import UrlGuard

__all__ = ["AcquireLock", "Flow", "ProbeRequest", "ReleaseLock", "StoreCall", "drive_async", "drive_sync"]

T = TypeVar("T")
_REDIRECTS = {301, 302, 303, 307, 308}


@dataclass(frozen=True)
class ProbeRequest(OutboundRequest):
    """An HTTP request whose response body is not read (only status and headers matter)."""


@dataclass(frozen=True)
class StoreCall:
    """Call ``store.<method>(*args)``; the flow receives the result."""

    method: str
    args: tuple[Any, ...] = ()


@dataclass(frozen=True)
class AcquireLock:
    """Enter ``store.lock(name, timeout)``; held until :class:`ReleaseLock` or the flow ends."""

    name: str
    timeout: float


@dataclass(frozen=True)
class ReleaseLock:
    """Leave the lock ``name``."""

    name: str


Step = OutboundRequest | StoreCall | AcquireLock | ReleaseLock
Flow = Generator[Step, Any, T]


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


def _too_large(url: str, guard: UrlGuard) -> ResponseTooLarge:
    return ResponseTooLarge(
        f"the response from {url} is larger than {guard.max_response_bytes} bytes; refused "
        "(raise UrlGuard.max_response_bytes if this server legitimately sends more)",
        url=url,
    )


def _timeout(request: OutboundRequest, guard: UrlGuard) -> float:
    return min(request.timeout, guard.timeout)


# -- synchronous ---------------------------------------------------------------------------------


def _http_sync(request: OutboundRequest, guard: UrlGuard, session: Any) -> OutboundResponse:
    import requests

    url, hops = request.url, 0
    while True:
        guard.check(url)
        try:
            response = session.request(
                request.method,
                url,
                headers=dict(request.headers),
                data=request.data,
                json=request.json_body,
                timeout=_timeout(request, guard),
                allow_redirects=False,
                stream=True,
            )
        except requests.RequestException as exc:
            raise NetworkError(f"{request.method} {url} failed: {type(exc).__name__}") from None
        try:
            headers = {k.lower(): v for k, v in response.headers.items()}
            target = _redirect_target(
                request, url, response.status_code, headers.get("location"), hops, guard
            )
            if target is not None:
                url, hops = target, hops + 1
                continue
            body = bytearray()
            if not isinstance(request, ProbeRequest):
                try:
                    for chunk in response.iter_content(65536):
                        body += chunk
                        if len(body) > guard.max_response_bytes:
                            raise _too_large(url, guard)
                except requests.RequestException as exc:
                    raise NetworkError(
                        f"{request.method} {url} failed while reading: {type(exc).__name__}"
                    ) from None
            return OutboundResponse(response.status_code, headers, bytes(body))
        finally:
            response.close()


def drive_sync(flow: Flow[T], store: Store, guard: UrlGuard, session: Any = None) -> T:
    """Run ``flow`` to completion with ``requests`` and the synchronous ``store``."""
    import requests

    http = session if session is not None else requests.Session()
    held: dict[str, AbstractContextManager[None]] = {}
    try:
        step = next(flow)
        while True:
            try:
                result = _step_sync(step, store, guard, http, held)
            except Exception as exc:  # every failure of a step goes back into the flow
                step = flow.throw(exc)
                continue
            step = flow.send(result)
    except StopIteration as stop:
        return stop.value  # type: ignore[no-any-return]
    finally:
        for manager in reversed(list(held.values())):
            manager.__exit__(None, None, None)
        if session is None:
            http.close()


def _step_sync(
    step: Step, store: Store, guard: UrlGuard, http: Any, held: dict[str, AbstractContextManager[None]]
) -> Any:
    if isinstance(step, OutboundRequest):
        return _http_sync(step, guard, http)
    if isinstance(step, StoreCall):
        return getattr(store, step.method)(*step.args)
    if isinstance(step, AcquireLock):
        manager = store.lock(step.name, step.timeout)
        manager.__enter__()
        held[step.name] = manager
        return None
    if isinstance(step, ReleaseLock):
        released = held.pop(step.name, None)
        if released is not None:
            released.__exit__(None, None, None)
        return None
    raise TypeError(f"unknown flow step {step!r}")


# -- asynchronous --------------------------------------------------------------------------------


async def _http_async(request: OutboundRequest, guard: UrlGuard, client: Any) -> OutboundResponse:
    import httpx2

    url, hops = request.url, 0
    while True:
        await guard.acheck(url)
        try:
            async with client.stream(
                request.method,
                url,
                headers=dict(request.headers),
                data=request.data,
                json=request.json_body,
                timeout=_timeout(request, guard),
                follow_redirects=False,
            ) as response:
                headers = {k.lower(): v for k, v in response.headers.items()}
                target = _redirect_target(
                    request, url, response.status_code, headers.get("location"), hops, guard
                )
                if target is not None:
                    url, hops = target, hops + 1
                    continue
                body = bytearray()
                if not isinstance(request, ProbeRequest):
                    async for chunk in response.aiter_bytes():
                        body += chunk
                        if len(body) > guard.max_response_bytes:
                            raise _too_large(url, guard)
                return OutboundResponse(response.status_code, headers, bytes(body))
        except httpx2.HTTPError as exc:
            raise NetworkError(f"{request.method} {url} failed: {type(exc).__name__}") from None


async def drive_async(flow: Flow[T], store: AsyncStore, guard: UrlGuard, client: Any = None) -> T:
    """Run ``flow`` to completion with ``httpx2`` and the :class:`AsyncStore`."""
    import httpx2

    http = client if client is not None else httpx2.AsyncClient()
    held: dict[str, AbstractAsyncContextManager[None]] = {}
    try:
        step = next(flow)
        while True:
            try:
                result = await _step_async(step, store, guard, http, held)
            except Exception as exc:
                step = flow.throw(exc)
                continue
            step = flow.send(result)
    except StopIteration as stop:
        return stop.value  # type: ignore[no-any-return]
    finally:
        for manager in reversed(list(held.values())):
            await manager.__aexit__(None, None, None)
        if client is None:
            await http.aclose()


async def _step_async(
    step: Step,
    store: AsyncStore,
    guard: UrlGuard,
    http: Any,
    held: dict[str, AbstractAsyncContextManager[None]],
) -> Any:
    if isinstance(step, OutboundRequest):
        return await _http_async(step, guard, http)
    if isinstance(step, StoreCall):
        return await getattr(store, step.method)(*step.args)
    if isinstance(step, AcquireLock):
        manager = store.lock(step.name, step.timeout)
        await manager.__aenter__()
        held[step.name] = manager
        return None
    if isinstance(step, ReleaseLock):
        released = held.pop(step.name, None)
        if released is not None:
            await released.__aexit__(None, None, None)
        return None
    raise TypeError(f"unknown flow step {step!r}")
