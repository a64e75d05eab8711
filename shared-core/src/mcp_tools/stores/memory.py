"""An in-process store for tests and single-process demos.

Values are kept as JSON text, so a write validates the value exactly as a persistent store would
and a caller mutating a value it read cannot change what is stored. Nothing survives the process.
"""

from __future__ import annotations

import contextlib
import json
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass

from .base import BaseStore, Duration, JsonValue, StoreStats
from .encryption import EncryptionKey, maybe_encrypt
from .errors import StoreLockTimeout

__all__ = ["MemoryStore", "create_memory_store"]


@dataclass
class _Entry:
    value_json: str
    created_at: float
    updated_at: float
    expires_at: float | None

    def live(self, now: float) -> bool:
        return self.expires_at is None or self.expires_at > now


class MemoryStore(BaseStore):
    """A dict guarded by a lock, with the same semantics as the persistent stores."""

    backend = "memory"

    def __init__(self, *, default_ttl: Duration | None = None) -> None:
        super().__init__(default_ttl=default_ttl)
        self._data: dict[str, _Entry] = {}
        self._mutex = threading.Lock()
        self._named_locks: dict[str, threading.Lock] = {}

    def _live(self, key: str, now: float) -> _Entry | None:
        entry = self._data.get(key)
        if entry is not None and not entry.live(now):
            del self._data[key]
            return None
        return entry

    def _read(self, key: str) -> JsonValue:
        with self._mutex:
            entry = self._live(key, time.time())
            text = None if entry is None else entry.value_json
        return None if text is None else json.loads(text)

    def _write(self, key: str, value_json: str, ttl: float | None) -> None:
        now = time.time()
        with self._mutex:
            old = self._live(key, now)
            created = now if old is None else old.created_at
            self._data[key] = _Entry(value_json, created, now, None if ttl is None else now + ttl)

    def _delete(self, key: str) -> bool:
        with self._mutex:
            return self._live(key, time.time()) is not None and self._data.pop(key, None) is not None

    def _exists(self, key: str) -> bool:
        with self._mutex:
            return self._live(key, time.time()) is not None

    def _keys(self, prefix: str) -> list[str]:
        now = time.time()
        with self._mutex:
            found = [(e.created_at, k) for k, e in self._data.items() if k.startswith(prefix) and e.live(now)]
        return [k for _, k in sorted(found)]

    def _cleanup(self, older_than: float) -> int:
        now = time.time()
        cutoff = now - older_than
        with self._mutex:
            doomed = [k for k, e in self._data.items() if not e.live(now) or e.created_at < cutoff]
            for k in doomed:
                del self._data[k]
        return len(doomed)

    def _stats(self) -> StoreStats:
        now = time.time()
        with self._mutex:
            total = sum(1 for e in self._data.values() if e.live(now))
        return {"backend": self.backend, "total_keys": total}

    def _close(self) -> None:
        with self._mutex:
            self._data.clear()

    def _take(self, key: str) -> JsonValue:
        with self._mutex:
            entry = self._live(key, time.time())
            if entry is None:
                return None
            del self._data[key]
        return json.loads(entry.value_json)  # type: ignore[no-any-return]

    def _update(self, key: str, compute: Callable[[JsonValue], str], ttl: float | None) -> str:
        with self._mutex:  # the whole read-compute-write under the store lock
            now = time.time()
            old = self._live(key, now)
            text = compute(None if old is None else json.loads(old.value_json))
            created = now if old is None else old.created_at
            self._data[key] = _Entry(text, created, now, None if ttl is None else now + ttl)
            return text

    @contextlib.contextmanager
    def _lock_cm(self, name: str, timeout: float) -> Iterator[None]:
        with self._mutex:
            lock = self._named_locks.setdefault(name, threading.Lock())
        if not lock.acquire(timeout=timeout):
            raise StoreLockTimeout(
                f"could not acquire lock {name!r} within {timeout:g}s; another holder keeps it"
            )
        try:
            yield
        finally:
            lock.release()

    def _lock(self, name: str, timeout: float, lease: float) -> contextlib.AbstractContextManager[None]:
        # One process: a held lock cannot outlive its holder, so the lease is not needed.
        return self._lock_cm(name, timeout)


def create_memory_store(
    *,
    default_ttl: Duration | None = None,
    encryption_keys: Sequence[EncryptionKey] | None = None,
    allow_plaintext: bool = False,
) -> BaseStore:
    """Create a :class:`MemoryStore`, wrapped in an :class:`EncryptedStore` when keys are given."""
    store = MemoryStore(default_ttl=default_ttl)
    return maybe_encrypt(store, encryption_keys, allow_plaintext=allow_plaintext)
