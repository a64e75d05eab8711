"""The steps a client flow yields, each a small frozen dataclass with a typed result.

A flow (:mod:`mcp_tools.client._flows`) never touches the network or the store: it yields a
step and receives the step's result. ``result = yield from step`` does both and gives the result
its type (``yield from StoreTake(key)`` is a :data:`~mcp_tools.stores.JsonValue`,
``yield from Fetch(request)`` an :class:`~mcp_tools._outbound.OutboundResponse`), so flows are
type-checked end to end. The drivers in :mod:`mcp_tools.client._io` execute the steps: one
synchronous executor, one asynchronous, each a single ``match`` over the step classes below.

=====================  =================================================  ==================
Step                   Executed as                                        Result
=====================  =================================================  ==================
:class:`Fetch`         one guarded HTTP exchange (redirects same-origin)  ``OutboundResponse``
:class:`CheckUrl`      the guard's form rules for a URL the browser will  ``None``
                       be sent to (``UrlGuard.parse``; never fetched)
:class:`StoreRead`     ``store.read(key)``                                ``JsonValue``
:class:`StoreWrite`    ``store.write(key, value, ttl)``                   ``None``
:class:`StoreTake`     ``store.take(key)`` (atomic read-and-delete)       ``JsonValue``
:class:`StoreUpdate`   ``store.update(key, fn)`` (atomic)                 ``JsonValue``
:class:`AcquireLock`   enter ``store.lock(name, timeout)``                ``None``
:class:`ReleaseLock`   leave that lock (the driver also leaves it at the  ``None``
                       end of the flow)
=====================  =================================================  ==================
"""

from __future__ import annotations

from collections.abc import Callable, Generator
from dataclasses import dataclass
from typing import Any, Generic, TypeAlias, TypeVar, cast

from mcp_tools._outbound import OutboundRequest, OutboundResponse
from mcp_tools.stores.base import JsonInput, JsonValue, Updater

__all__ = [
    "AcquireLock",
    "CheckUrl",
    "Fetch",
    "Flow",
    "ReleaseLock",
    "Step",
    "StoreOp",
    "StoreRead",
    "StoreTake",
    "StoreUpdate",
    "StoreWrite",
    "then",
]

R = TypeVar("R")
T = TypeVar("T")


class Step(Generic[R]):
    """A request from a flow to its driver; ``R`` is the type of what the driver sends back."""

    __slots__ = ()

    def __iter__(self) -> Generator[Step[Any], object, R]:
        """``result = yield from step``: yield the step, return its (typed) result."""
        return cast(R, (yield self))


#: A flow: a generator of steps that returns ``T``.
Flow: TypeAlias = Generator[Step[Any], object, T]


@dataclass(frozen=True)
class Fetch(Step[OutboundResponse]):
    """An outbound HTTP request, checked by the URL guard; ``read_body=False`` for a probe."""

    request: OutboundRequest
    read_body: bool = True


@dataclass(frozen=True)
class CheckUrl(Step[None]):
    """Refuse (:class:`~mcp_tools.client.errors.UnsafeUrl`) a URL the guard's form rules reject.

    For URLs the server never fetches but sends the browser to (the authorization endpoint):
    https only, plain http only to loopback under ``allow_loopback``, no credentials, no fragment;
    so no ``javascript:`` or ``data:`` redirect. ``what`` names the URL in the error message.
    """

    url: str
    what: str


@dataclass(frozen=True)
class StoreRead(Step[JsonValue]):
    """The value under ``key`` (``None`` when missing or expired)."""

    key: str


@dataclass(frozen=True)
class StoreWrite(Step[None]):
    """Store ``value`` under ``key``, expiring after ``ttl`` seconds when given."""

    key: str
    value: JsonInput
    ttl: float | None = None


@dataclass(frozen=True)
class StoreTake(Step[JsonValue]):
    """Atomically read and delete ``key``: of concurrent takers at most one gets the value."""

    key: str


@dataclass(frozen=True)
class StoreUpdate(Step[JsonValue]):
    """Atomically replace the value under ``key`` with ``fn(current)``; the result is the new value.

    ``fn`` may run more than once (optimistic backends retry), so it must be free of side effects.
    """

    key: str
    fn: Updater


@dataclass(frozen=True)
class AcquireLock(Step[None]):
    """Enter the store's named lock; held until :class:`ReleaseLock` or the end of the flow."""

    name: str
    timeout: float


@dataclass(frozen=True)
class ReleaseLock(Step[None]):
    """Leave the named lock (nothing happens when it is not held)."""

    name: str


def then(flow: Flow[T], fn: Callable[[T], R]) -> Flow[R]:
    """``flow``, its result passed through ``fn``."""
    return fn((yield from flow))


#: The steps that touch the store's values (locks aside).
StoreOp: TypeAlias = StoreRead | StoreWrite | StoreTake | StoreUpdate
