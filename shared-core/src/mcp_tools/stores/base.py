"""The store protocol and the pieces every backend shares.

A store maps string keys to JSON values, as the TypeScript package's ``McpClientStore`` does,
plus per-key time-to-live, enumeration and maintenance. Backends subclass :class:`BaseStore`,
which validates arguments, converts TTL and age arguments and refuses use after ``close``; the
backend methods (``_read``, ``_write``, ...) then only touch storage.
"""

from __future__ import annotations

import abc
import contextlib
import json
import math
import threading
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from types import TracebackType
from typing import Protocol, Self, TypeAlias, runtime_checkable

from .errors import StoreClosed

__all__ = [
    "DEFAULT_LOCK_LEASE",
    "DEFAULT_LOCK_TIMEOUT",
    "BaseStore",
    "JsonInput",
    "JsonValue",
    "Store",
    "StoreStats",
    "Updater",
    "dumps_value",
    "poll_for_lock",
]

#: A JSON value as it comes back from a store: what :func:`json.loads` produces.
JsonValue: TypeAlias = "bool | int | float | str | list[JsonValue] | dict[str, JsonValue] | None"

#: What a store accepts: any JSON value; sequences and mappings of JSON values are accepted read-only
#: (a ``dict[str, str]`` or a tuple is fine). Tuples come back as lists.
JsonInput: TypeAlias = "bool | int | float | str | Sequence[JsonInput] | Mapping[str, JsonInput] | None"

#: ``stats()`` result: always has ``total_keys`` (live keys) and ``backend``; the rest depends on the backend.
StoreStats: TypeAlias = dict[str, JsonValue]

#: A duration: seconds as a number, or a :class:`~datetime.timedelta`.
Duration: TypeAlias = float | timedelta

#: The function given to :meth:`Store.update`: receives the current value (``None`` when the key
#: is missing or expired) and returns the value to store. It may run more than once (optimistic
#: backends retry on a conflicting write), so it must not have side effects.
Updater: TypeAlias = "Callable[[JsonValue], JsonInput]"

#: Defaults of :meth:`Store.lock`: how long to wait for the lock, and how long a holder that
#: crashed keeps it (the lease; backends that release locks with the connection ignore it).
DEFAULT_LOCK_TIMEOUT = 10.0
DEFAULT_LOCK_LEASE = 30.0


@runtime_checkable
class Store(Protocol):
    """What the OAuth client flow and the framework adapters need from a store (synchronous).

    The method names mirror the TypeScript stores in snake_case; ``disconnect`` is ``close``.
    Use :class:`mcp_tools.stores.AsyncStore` to call any store from async code.
    """

    def read(self, key: str) -> JsonValue:
        """Return the value stored under ``key``, or ``None`` when it is missing or expired."""
        ...

    def write(self, key: str, value: JsonInput, ttl: Duration | None = None) -> None:
        """Store ``value`` under ``key``; with ``ttl`` (seconds or timedelta) the entry then expires."""
        ...

    def delete(self, key: str) -> bool:
        """Remove ``key``; return whether it existed."""
        ...

    def exists(self, key: str) -> bool:
        """Return whether ``key`` holds a live (not expired) entry."""
        ...

    def keys(self, prefix: str = "") -> list[str]:
        """Return the live keys that start with ``prefix``, oldest ``created_at`` first."""
        ...

    def cleanup(self, older_than: Duration | None = None) -> int:
        """Delete entries created before ``older_than`` ago (a number means days) and expired ones."""
        ...

    def stats(self) -> StoreStats:
        """Return backend facts: always ``total_keys`` and ``backend``."""
        ...

    def close(self) -> None:
        """Release connections and files. Idempotent; the store cannot be used afterwards."""
        ...

    def take(self, key: str) -> JsonValue:
        """Atomically return the value under ``key`` and delete it (``None`` when missing or expired).

        Of several concurrent callers (threads, processes, hosts) at most one gets the value: the
        single-use read the OAuth flow needs for ``state_`` and ``pkce_verifier_`` entries.
        """
        ...

    def update(self, key: str, fn: Updater, ttl: Duration | None = None) -> JsonValue:
        """Replace the value under ``key`` with ``fn(current)`` without losing concurrent updates.

        ``fn`` receives the current value (``None`` when missing) and returns the new one; the
        read, ``fn`` and the write happen as one atomic step with respect to every other
        ``update``, ``write``, ``take`` and ``delete`` of the key. Returns the stored value.
        ``ttl`` as in :meth:`write`.
        """
        ...

    def lock(
        self, name: str, timeout: Duration = DEFAULT_LOCK_TIMEOUT, lease: Duration = DEFAULT_LOCK_LEASE
    ) -> contextlib.AbstractContextManager[None]:
        """A named mutual-exclusion lock shared by every process using the same storage.

        ``with store.lock("refresh_<session>"):`` waits at most ``timeout`` seconds, then raises
        :class:`~mcp_tools.stores.StoreLockTimeout`. ``lease`` bounds how long a crashed holder
        can keep the lock where the backend cannot notice the crash itself (Redis, SQLite).
        """
        ...


def dumps_value(value: object, key: str) -> str:
    """Serialise ``value`` as compact JSON text, refusing what JSON cannot carry.

    NaN and infinities are rejected (PostgreSQL's JSONB and JavaScript's ``JSON.parse`` would both
    refuse them), as are objects with non-string keys other than the ones :mod:`json` converts.
    """
    try:
        return json.dumps(value, ensure_ascii=False, allow_nan=False, separators=(",", ":"))
    except (TypeError, ValueError) as exc:
        raise type(exc)(f"value for key {key!r} is not JSON-serialisable: {exc}") from None


def to_seconds(duration: Duration, what: str) -> float:
    """Convert a positive TTL (seconds or timedelta) to seconds, rejecting zero, negatives and NaN."""
    seconds = duration.total_seconds() if isinstance(duration, timedelta) else float(duration)
    if not math.isfinite(seconds) or seconds <= 0:
        raise ValueError(f"{what} must be a positive number of seconds or a timedelta, got {duration!r}")
    return seconds


def age_to_seconds(older_than: Duration | None) -> float:
    """Convert ``cleanup``'s argument to seconds: a number is days (as in TS), default 30 days."""
    if older_than is None:
        return 30 * 86400.0
    seconds = older_than.total_seconds() if isinstance(older_than, timedelta) else float(older_than) * 86400
    if not math.isfinite(seconds) or seconds < 0:
        raise ValueError(f"older_than must be zero or more days or a timedelta, got {older_than!r}")
    return seconds


def iso_timestamp(moment: datetime) -> str:
    """Format like JavaScript's ``Date.prototype.toISOString``: ``2026-11-26T05:53:35.074Z``."""
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def parse_timestamp(text: str) -> datetime | None:
    """Parse an ISO-8601 or SQLite ``YYYY-MM-DD HH:MM:SS[.fff]`` timestamp (UTC when unzoned)."""
    try:
        moment = datetime.fromisoformat(text)
    except (TypeError, ValueError):
        return None
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment


def utcnow() -> datetime:
    """The current time, timezone-aware UTC."""
    return datetime.now(UTC)


def human_size(size: int) -> str:
    """Format a byte count as the TS stores do: ``2 B``, ``1.50 KB``, ``3.25 MB``."""
    if size < 1024:
        return f"{size} B"
    if size < 1024 * 1024:
        return f"{size / 1024:.2f} KB"
    return f"{size / (1024 * 1024):.2f} MB"


class BaseStore(abc.ABC):
    """Argument checking, TTL defaults and close handling shared by the built-in stores.

    Subclasses implement the underscored methods; they receive validated arguments (``ttl`` in
    seconds or ``None``, ``older_than`` in seconds) and never see a closed store.
    """

    #: Name reported as ``stats()["backend"]``.
    backend: str = "base"

    def __init__(self, *, default_ttl: Duration | None = None) -> None:
        self.default_ttl: float | None = (
            None if default_ttl is None else to_seconds(default_ttl, "default_ttl")
        )
        self._closed = False
        self._close_lock = threading.Lock()

    # -- public API -----------------------------------------------------------------------------

    def read(self, key: str) -> JsonValue:
        """Return the value under ``key``; ``None`` when missing or expired (a stored JSON null too)."""
        self._check(key)
        return self._read(key)

    def write(self, key: str, value: JsonInput, ttl: Duration | None = None) -> None:
        """Store any JSON value under ``key``; ``created_at`` survives an overwrite.

        ``ttl`` (seconds, fractions allowed, or a timedelta) makes the entry expire; without it the
        store's ``default_ttl`` applies, and without that the entry lives until deleted or cleaned up.
        Writing ``None`` stores JSON ``null``, which reads back as ``None`` like a missing key.
        """
        self._check(key)
        seconds = self.default_ttl if ttl is None else to_seconds(ttl, "ttl")
        self._write(key, dumps_value(value, key), seconds)

    def delete(self, key: str) -> bool:
        """Remove ``key``; return ``True`` if a live entry was removed."""
        self._check(key)
        return self._delete(key)

    def exists(self, key: str) -> bool:
        """Return whether ``key`` holds a live entry (a stored ``null`` counts as existing)."""
        self._check(key)
        return self._exists(key)

    def keys(self, prefix: str = "") -> list[str]:
        """Return live keys starting with ``prefix``, ordered by ``created_at`` then key."""
        self._check_open()
        if not isinstance(prefix, str):
            raise TypeError(f"prefix must be a str, got {type(prefix).__name__}")
        return self._keys(prefix)

    def cleanup(self, older_than: Duration | None = None) -> int:
        """Delete entries created more than ``older_than`` ago, and every expired entry.

        A number is a count of days, as the TypeScript ``cleanup(olderThanDays = 30)``; pass a
        :class:`~datetime.timedelta` for finer ages. ``cleanup(0)`` empties the store. Returns the
        number of entries deleted (expired ones included).
        """
        self._check_open()
        return self._cleanup(age_to_seconds(older_than))

    def stats(self) -> StoreStats:
        """Return ``total_keys``, ``backend`` and backend details (sizes, versions, paths)."""
        self._check_open()
        return self._stats()

    def close(self) -> None:
        """Release resources. Safe to call twice; later operations raise :class:`StoreClosed`."""
        with self._close_lock:
            if self._closed:
                return
            self._closed = True
        self._close()

    def take(self, key: str) -> JsonValue:
        """Atomically return the value under ``key`` and delete it; ``None`` when missing or expired.

        Among concurrent callers on the same storage at most one receives the value, so a value
        read with ``take`` is used once (OAuth ``state`` and PKCE verifiers).
        """
        self._check(key)
        return self._take(key)

    def update(self, key: str, fn: Updater, ttl: Duration | None = None) -> JsonValue:
        """Store ``fn(current)`` under ``key`` as one atomic read-modify-write; return the new value.

        ``fn`` gets the current value (``None`` when the key is missing or expired) and returns the
        value to store. Concurrent updates of the key are serialised (by a lock or an optimistic
        retry, depending on the backend), so none is lost; ``fn`` may therefore be called more than
        once and must be free of side effects. ``ttl`` works as in :meth:`write`. An exception
        raised by ``fn`` propagates and leaves the entry unchanged.
        """
        self._check(key)
        seconds = self.default_ttl if ttl is None else to_seconds(ttl, "ttl")

        def compute(current: JsonValue) -> str:
            return dumps_value(fn(current), key)

        return json.loads(self._update(key, compute, seconds))  # type: ignore[no-any-return]

    def lock(
        self, name: str, timeout: Duration = DEFAULT_LOCK_TIMEOUT, lease: Duration = DEFAULT_LOCK_LEASE
    ) -> contextlib.AbstractContextManager[None]:
        """A named lock shared by every process on the same storage (a context manager).

        Waits up to ``timeout`` seconds and then raises :class:`~mcp_tools.stores.StoreLockTimeout`.
        ``lease`` (seconds) is how long the lock survives a holder that died without releasing it,
        on backends that cannot detect that (Redis, SQLite); hold the lock for less than that.
        Locks are not re-entrant. Lock names live in their own namespace: they never appear in
        :meth:`keys` and never collide with values.
        """
        self._check(name)
        wait = to_seconds(timeout, "timeout")
        hold = to_seconds(lease, "lease")
        return self._lock(name, wait, hold)

    @property
    def closed(self) -> bool:
        """Whether :meth:`close` was called."""
        return self._closed

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    # -- helpers ------------------------------------------------------------------------------

    def _check_open(self) -> None:
        if self._closed:
            raise StoreClosed(f"{type(self).__name__} is closed")

    def _check(self, key: str) -> None:
        self._check_open()
        if not isinstance(key, str):
            raise TypeError(f"store keys must be str, got {type(key).__name__}")
        if not key:
            raise ValueError("store keys must not be empty")

    # -- backend hooks -------------------------------------------------------------------------

    @abc.abstractmethod
    def _read(self, key: str) -> JsonValue: ...

    @abc.abstractmethod
    def _write(self, key: str, value_json: str, ttl: float | None) -> None: ...

    @abc.abstractmethod
    def _delete(self, key: str) -> bool: ...

    @abc.abstractmethod
    def _exists(self, key: str) -> bool: ...

    @abc.abstractmethod
    def _keys(self, prefix: str) -> list[str]: ...

    @abc.abstractmethod
    def _cleanup(self, older_than: float) -> int: ...

    @abc.abstractmethod
    def _stats(self) -> StoreStats: ...

    @abc.abstractmethod
    def _close(self) -> None: ...

    @abc.abstractmethod
    def _take(self, key: str) -> JsonValue: ...

    @abc.abstractmethod
    def _update(self, key: str, compute: Callable[[JsonValue], str], ttl: float | None) -> str:
        """Atomically replace the value with ``compute(current)`` (JSON text); return that text."""

    @abc.abstractmethod
    def _lock(self, name: str, timeout: float, lease: float) -> contextlib.AbstractContextManager[None]: ...


def poll_for_lock(acquire: Callable[[], bool], timeout: float, what: str) -> None:
    """Call ``acquire`` until it returns ``True``, backing off up to 50 ms; raise on ``timeout``."""
    import time

    from .errors import StoreLockTimeout

    deadline = time.monotonic() + timeout
    delay = 0.002
    while not acquire():
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise StoreLockTimeout(f"could not acquire {what} within {timeout:g}s; another holder keeps it")
        time.sleep(min(delay, remaining))
        delay = min(delay * 2, 0.05)
