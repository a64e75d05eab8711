"""Functions run in child processes by the concurrency tests (importable for the spawn method)."""

from __future__ import annotations

from mcp_tools.stores import create_fs_store, create_sqlite_store


def write_keys(kind: str, path: str, worker: int, count: int) -> int:
    """Open a store of ``kind`` at ``path`` in this process and write ``count`` distinct keys."""
    store = create_fs_store(path) if kind == "fs" else create_sqlite_store(path)
    try:
        for i in range(count):
            store.write(f"p{worker}_k{i}", {"worker": worker, "i": i})
    finally:
        store.close()
    return count


def open_store(kind: str, location: str, extra: str = "") -> object:
    """Open a store of ``kind``: a file path for fs/SQLite, a URL plus a prefix/table in ``extra``."""
    from mcp_tools.stores import create_postgres_store, create_redis_store

    if kind == "fs":
        return create_fs_store(location)
    if kind == "sqlite":
        return create_sqlite_store(location)
    if kind == "redis":
        return create_redis_store(location, key_prefix=extra, connect_timeout=2)
    if kind == "postgres":
        return create_postgres_store(location, table_name=extra, connect_timeout=3, max_size=2)
    raise AssertionError(kind)


def increment_counter(kind: str, location: str, extra: str, count: int) -> int:
    """Increment ``counter`` ``count`` times with ``update`` from this process."""
    store = open_store(kind, location, extra)
    try:
        for _ in range(count):
            store.update("counter", lambda v: (v or 0) + 1)  # type: ignore[attr-defined, operator]
    finally:
        store.close()  # type: ignore[attr-defined]
    return count


def increment_under_lock(kind: str, location: str, extra: str, count: int) -> int:
    """Increment ``locked_counter`` with a plain read then write, serialised only by ``lock``."""
    store = open_store(kind, location, extra)
    try:
        for _ in range(count):
            with store.lock("counter-lock", timeout=30):  # type: ignore[attr-defined]
                value = store.read("locked_counter") or 0  # type: ignore[attr-defined]
                store.write("locked_counter", value + 1)  # type: ignore[attr-defined]
    finally:
        store.close()  # type: ignore[attr-defined]
    return count


def take_once(kind: str, location: str, extra: str, key: str) -> object:
    """Try to take ``key``; return what this process got."""
    store = open_store(kind, location, extra)
    try:
        return store.take(key)  # type: ignore[attr-defined]
    finally:
        store.close()  # type: ignore[attr-defined]
