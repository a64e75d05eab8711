"""An in-process store for tests and single-process demos.

Values are kept as JSON text, so a write validates the value exactly as a persistent store would
and a caller mutating a value it read cannot change what is stored. Nothing survives the process.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass

from .base import BaseStore, Duration, JsonValue, StoreStats
from .encryption import EncryptionKey, maybe_encrypt

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
        self._lock = threading.Lock()

    def _live(self, key: str, now: float) -> _Entry | None:
        entry = self._data.get(key)
        if entry is not None and not entry.live(now):
            del self._data[key]
            return None
        return entry

    def _read(self, key: str) -> JsonValue:
        with self._lock:
            entry = self._live(key, time.time())
            text = None if entry is None else entry.value_json
        return None if text is None else json.loads(text)

    def _write(self, key: str, value_json: str, ttl: float | None) -> None:
        now = time.time()
        with self._lock:
            old = self._live(key, now)
            created = now if old is None else old.created_at
            self._data[key] = _Entry(value_json, created, now, None if ttl is None else now + ttl)

    def _delete(self, key: str) -> bool:
        with self._lock:
            return self._live(key, time.time()) is not None and self._data.pop(key, None) is not None

    def _exists(self, key: str) -> bool:
        with self._lock:
            return self._live(key, time.time()) is not None

    def _keys(self, prefix: str) -> list[str]:
        now = time.time()
        with self._lock:
            found = [(e.created_at, k) for k, e in self._data.items() if k.startswith(prefix) and e.live(now)]
        return [k for _, k in sorted(found)]

    def _cleanup(self, older_than: float) -> int:
        now = time.time()
        cutoff = now - older_than
        with self._lock:
            doomed = [k for k, e in self._data.items() if not e.live(now) or e.created_at < cutoff]
            for k in doomed:
                del self._data[k]
        return len(doomed)

    def _stats(self) -> StoreStats:
        now = time.time()
        with self._lock:
            total = sum(1 for e in self._data.values() if e.live(now))
        return {"backend": self.backend, "total_keys": total}

    def _close(self) -> None:
        with self._lock:
            self._data.clear()


def create_memory_store(
    *,
    default_ttl: Duration | None = None,
    encryption_keys: Sequence[EncryptionKey] | None = None,
    allow_plaintext: bool = False,
) -> BaseStore:
    """Create a :class:`MemoryStore`, wrapped in an :class:`EncryptedStore` when keys are given."""
    store = MemoryStore(default_ttl=default_ttl)
    return maybe_encrypt(store, encryption_keys, allow_plaintext=allow_plaintext)
