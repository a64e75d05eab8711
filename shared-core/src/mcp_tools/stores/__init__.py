"""Persistent stores for the OAuth client flow: memory, fs, SQLite, Redis and PostgreSQL.

A store maps string keys to JSON values, like the TypeScript ``@clerk/mcp-tools`` stores, and
keeps their on-disk layout (record wrapper ``{value, created_at, updated_at}``, Redis key prefix
``mcp:``, SQL table schema) so a Python app and a Node app can share one store. Unlike them,
these stores do not lose data: the fs store locks across threads and processes and writes
atomically, the SQL stores keep ``created_at`` and quote identifiers, PostgreSQL round-trips
strings, and unreachable servers fail fast with :class:`StoreUnavailable` instead of hanging.

Besides ``read``/``write``, every store offers the three atomic operations the OAuth client
flow relies on: ``take`` (read and delete in one step, for single-use ``state`` and PKCE
verifiers), ``update`` (read-modify-write without lost updates, for session records) and
``lock`` (a named lock shared across processes, to refresh a token once).

Every store supports a per-key TTL on ``write``, optional encryption at rest
(``encryption_keys=[...]``, see :class:`EncryptedStore`), and configuration from one URL
(:func:`store_from_url`).

Sync and async: the stores are synchronous (Django and Flask views are), and
:class:`AsyncStore` wraps any of them for async code by running each call in a worker thread
(``anyio.to_thread``). One implementation of each backend serves both worlds; the blocking parts
(file locks, fsync, sqlite3) could not be made natively async anyway, and a store call costs far
more than the thread hop. See ``docs/stores.md``.

Example::

    from mcp_tools.stores import AsyncStore, store_from_url

    store = store_from_url("sqlite:////var/lib/myapp/mcp.db", encryption_keys=[settings.STORE_KEY])
    store.write("state_abc", "session-1", ttl=600)
    store.read("state_abc")                      # "session-1"
    astore = AsyncStore(store)                  # in FastAPI: await astore.read("state_abc")
"""

from __future__ import annotations

from .aio import AsyncStore
from .base import BaseStore, JsonInput, JsonValue, Store, StoreStats
from .encryption import EncryptedStore, EncryptionKey, derive_encryption_keys, generate_encryption_key
from .errors import (
    StoreClosed,
    StoreCorrupted,
    StoreDecryptionError,
    StoreError,
    StoreLockTimeout,
    StoreUnavailable,
)
from .fs import FsStore, create_fs_store
from .memory import MemoryStore, create_memory_store
from .postgres import PostgresStore, create_postgres_store
from .redis import RedisStore, create_redis_store
from .sqlite import SqliteStore, create_sqlite_store
from .url import store_from_url

__all__ = [
    "AsyncStore",
    "BaseStore",
    "EncryptedStore",
    "EncryptionKey",
    "FsStore",
    "JsonInput",
    "JsonValue",
    "MemoryStore",
    "PostgresStore",
    "RedisStore",
    "SqliteStore",
    "Store",
    "StoreClosed",
    "StoreCorrupted",
    "StoreDecryptionError",
    "StoreError",
    "StoreLockTimeout",
    "StoreStats",
    "StoreUnavailable",
    "create_fs_store",
    "create_memory_store",
    "create_postgres_store",
    "create_redis_store",
    "create_sqlite_store",
    "derive_encryption_keys",
    "generate_encryption_key",
    "store_from_url",
]
