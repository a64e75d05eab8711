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
