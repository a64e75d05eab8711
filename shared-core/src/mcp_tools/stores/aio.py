"""Async access to any store, without a second implementation.

:class:`AsyncStore` wraps a synchronous store and runs each call in a worker thread through
:func:`anyio.to_thread.run_sync`, so it works under asyncio and trio and never blocks the event
loop. Why not native async drivers: the blocking work (sqlite3, file locks and fsync) has no async
form anyway; redis-py and psycopg do have async APIs, but using them would mean a second copy of
every store's logic to keep in step. An OAuth flow touches the store a handful of times per
request, so a thread hop (tens of microseconds) is negligible, and anyio's default limiter (40
threads) bounds the concurrency.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from datetime import timedelta
from functools import partial
from types import TracebackType
from typing import Self

import anyio.to_thread

from .base import (
    DEFAULT_LOCK_LEASE,
    DEFAULT_LOCK_TIMEOUT,
    Duration,
    JsonInput,
    JsonValue,
    Store,
    StoreStats,
    Updater,
)

__all__ = ["AsyncStore"]


class AsyncStore:
    """The :class:`Store` API as coroutines, delegating to a synchronous store in a thread.

    ``limiter`` (an :class:`anyio.CapacityLimiter`) caps how many calls run at once; by default
    anyio's shared thread limiter is used. ``async with AsyncStore(store):`` closes it at exit.
    """

    def __init__(self, store: Store, *, limiter: anyio.CapacityLimiter | None = None) -> None:
        self.sync = store
        self._limiter = limiter

    async def read(self, key: str) -> JsonValue:
        """Async :meth:`Store.read`."""
        return await anyio.to_thread.run_sync(self.sync.read, key, limiter=self._limiter)

    async def write(self, key: str, value: JsonInput, ttl: Duration | None = None) -> None:
        """Async :meth:`Store.write`."""
        await anyio.to_thread.run_sync(partial(self.sync.write, key, value, ttl), limiter=self._limiter)

    async def delete(self, key: str) -> bool:
        """Async :meth:`Store.delete`."""
        return await anyio.to_thread.run_sync(self.sync.delete, key, limiter=self._limiter)

    async def exists(self, key: str) -> bool:
        """Async :meth:`Store.exists`."""
        return await anyio.to_thread.run_sync(self.sync.exists, key, limiter=self._limiter)

    async def keys(self, prefix: str = "") -> list[str]:
        """Async :meth:`Store.keys`."""
        return await anyio.to_thread.run_sync(self.sync.keys, prefix, limiter=self._limiter)

    async def cleanup(self, older_than: float | timedelta | None = None) -> int:
        """Async :meth:`Store.cleanup`."""
        return await anyio.to_thread.run_sync(self.sync.cleanup, older_than, limiter=self._limiter)

    async def stats(self) -> StoreStats:
        """Async :meth:`Store.stats`."""
        return await anyio.to_thread.run_sync(self.sync.stats, limiter=self._limiter)

    async def take(self, key: str) -> JsonValue:
        """Async :meth:`Store.take` (atomic read-and-delete)."""
        return await anyio.to_thread.run_sync(self.sync.take, key, limiter=self._limiter)

    async def update(self, key: str, fn: Updater, ttl: Duration | None = None) -> JsonValue:
        """Async :meth:`Store.update`; ``fn`` is a plain function and runs in the worker thread."""
        return await anyio.to_thread.run_sync(partial(self.sync.update, key, fn, ttl), limiter=self._limiter)

    @contextlib.asynccontextmanager
    async def lock(
        self, name: str, timeout: Duration = DEFAULT_LOCK_TIMEOUT, lease: Duration = DEFAULT_LOCK_LEASE
    ) -> AsyncIterator[None]:
        """``async with astore.lock(name):`` the store's named lock, acquired in a worker thread.

        The event loop keeps running while the lock is awaited. Backends release the lock from
        whichever thread exits the block, so holding it across ``await`` is fine.
        """
        manager = self.sync.lock(name, timeout, lease)
        await anyio.to_thread.run_sync(manager.__enter__, limiter=self._limiter)
        try:
            yield
        except BaseException as exc:
            await anyio.to_thread.run_sync(
                partial(manager.__exit__, type(exc), exc, exc.__traceback__), limiter=self._limiter
            )
            raise
        else:
            await anyio.to_thread.run_sync(partial(manager.__exit__, None, None, None), limiter=self._limiter)

    async def close(self) -> None:
        """Async :meth:`Store.close`."""
        await anyio.to_thread.run_sync(self.sync.close, limiter=self._limiter)

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.close()
