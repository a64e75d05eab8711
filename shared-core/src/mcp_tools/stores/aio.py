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

from datetime import timedelta
from functools import partial
from types import TracebackType
from typing import Self

import anyio.to_thread

from .base import Duration, JsonInput, JsonValue, Store, StoreStats

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

    async def close(self) -> None:
        """Async :meth:`Store.close`."""
        await anyio.to_thread.run_sync(self.sync.close, limiter=self._limiter)

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.close()
