"""SQLite store specifics: schema, WAL, created_at, identifiers, permissions."""

from __future__ import annotations

import sqlite3
import stat
import time
from pathlib import Path

import pytest

from mcp_tools.stores import SqliteStore, StoreCorrupted, create_sqlite_store


def rows(path: Path, table: str = "mcp_store") -> dict[str, tuple[str, str, str, str | None]]:
    with sqlite3.connect(path) as conn:
        found = conn.execute(
            f'SELECT key, value, created_at, updated_at, expires_at FROM "{table}"'
        ).fetchall()
    return {r[0]: r[1:] for r in found}


def test_schema_wal_and_mode(tmp_path: Path) -> None:
    path = tmp_path / "sub" / "store.db"
    store = SqliteStore(path)
    store.write("k", "v")
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    with sqlite3.connect(path) as conn:
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        columns = [(r[1], r[2], r[3], r[4]) for r in conn.execute("PRAGMA table_info(mcp_store)")]
        indexes = [r[1] for r in conn.execute("PRAGMA index_list(mcp_store)")]
    assert columns == [
        ("key", "TEXT", 0, None),
        ("value", "TEXT", 1, None),
        ("created_at", "DATETIME", 0, "CURRENT_TIMESTAMP"),
        ("updated_at", "DATETIME", 0, "CURRENT_TIMESTAMP"),
        ("expires_at", "DATETIME", 0, None),
    ]
    assert "idx_mcp_store_created_at" in indexes
    stats = store.stats()
    assert stats["db_path"] == str(path)
    assert str(stats["db_size"]).endswith("KB")


def test_values_are_json_text_and_created_at_survives_overwrite(tmp_path: Path) -> None:
    path = tmp_path / "store.db"
    store = SqliteStore(path)
    store.write("state_s", "abc")
    before = rows(path)["state_s"]
    time.sleep(0.01)
    store.write("state_s", "changed")
    after = rows(path)["state_s"]
    assert before[0] == '"abc"'
    assert after[0] == '"changed"'
    assert after[1] == before[1]  # created_at kept (TS's INSERT OR REPLACE reset it)
    assert after[2] > before[2]
    assert len(after[1]) == len("2026-11-26 05:53:33.123")


@pytest.mark.parametrize("name", ["bad-name", "x; DROP TABLE y", '"quoted"', "1abc", "a" * 64, ""])
def test_unsafe_table_names_are_refused(tmp_path: Path, name: str) -> None:
    with pytest.raises(ValueError, match="invalid table name"):
        SqliteStore(tmp_path / "store.db", table_name=name)


def test_custom_table_name_and_keyword_like_name(tmp_path: Path) -> None:
    store = create_sqlite_store(tmp_path / "store.db", table_name="select")
    store.write("k", [1])
    assert store.read("k") == [1]
    assert rows(tmp_path / "store.db", "select")["k"][0] == "[1]"


def test_missing_directory_is_created_and_memory_is_refused(tmp_path: Path) -> None:
    SqliteStore(tmp_path / "a" / "b" / "store.db").write("k", 1)
    with pytest.raises(ValueError, match="file path"):
        SqliteStore(":memory:")


def test_foreign_non_json_value_is_reported(tmp_path: Path) -> None:
    path = tmp_path / "store.db"
    store = SqliteStore(path)
    store.write("k", 1)
    with sqlite3.connect(path) as conn:
        conn.execute("UPDATE mcp_store SET value = 'not json' WHERE key = 'k'")
    with pytest.raises(StoreCorrupted, match="'k'"):
        store.read("k")


def test_connections_per_thread_are_closed(tmp_path: Path) -> None:
    import threading

    store = SqliteStore(tmp_path / "store.db")
    threads = [threading.Thread(target=store.write, args=(f"k{i}", i)) for i in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(store._connections) == 5
    store.close()
    assert store._connections == []
