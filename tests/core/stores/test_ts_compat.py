"""Sharing a store with a Node app: data in the exact formats the TS stores write (ts-vectors.json)."""

from __future__ import annotations

import json
import re
import sqlite3
import time
from pathlib import Path
from typing import Any

import pytest

from mcp_tools.stores import FsStore, SqliteStore, StoreCorrupted, create_postgres_store, create_redis_store

from ..vectors import load_vectors
from .conftest import POSTGRES_URL, REDIS_URL

UUID = "0b5e3b8c-1f7a-4a57-9c3e-52b1e0c7d1aa"
ISO_MS = r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z"


def ts_vector(fn: str) -> dict[str, Any]:
    """The ``output`` of the vector named ``fn``, with ``<uuid:N>`` placeholders made concrete."""
    (record,) = load_vectors([fn])
    text = json.dumps(record["output"])
    return json.loads(re.sub(r"<uuid:\d+>", UUID, text))  # type: ignore[no-any-return]


def written_values(vector: dict[str, Any]) -> dict[str, Any]:
    return {t["key"]: t["written"] for t in vector["roundtrips"] if "written" in t and t["key"] != "undef"}


def test_fs_reads_a_file_written_by_the_ts_store(tmp_path: Path) -> None:
    vector = ts_vector("stores/fs:createFsStore")
    values = written_values(vector)
    stamp = "2026-11-26T05:53:35.074Z"
    ts_file = {
        key: {"value": value, "created_at": stamp, "updated_at": stamp} for key, value in values.items()
    }
    ts_file["undef"] = {"created_at": stamp, "updated_at": stamp}  # TS stores undefined without "value"
    path = tmp_path / "store.json"
    path.write_text(json.dumps(ts_file, indent=2))
    store = FsStore(path)
    for trip in vector["roundtrips"]:
        if trip["key"] in values:
            assert store.read(trip["key"]) == trip["read"]
    assert store.read("undef") is None
    assert store.read("missing_key") is None
    assert store.keys() == vector["extras"]["keys()"]
    store.write("state_s", "changed")  # keeps the TS entry's created_at and the others' bytes
    data = json.loads(path.read_text())
    assert data["state_s"]["created_at"] == stamp
    assert re.fullmatch(ISO_MS, data["state_s"]["updated_at"])
    assert {k: v for k, v in data.items() if k != "state_s"} == {
        k: v for k, v in ts_file.items() if k != "state_s"
    }


def test_sqlite_shares_a_table_created_by_the_ts_store(tmp_path: Path) -> None:
    vector = ts_vector("stores/sqlite:createSqliteStore")
    path = tmp_path / "store.db"
    with sqlite3.connect(path) as conn:
        conn.executescript(vector["schema"])  # the exact TS schema, without expires_at
        for key, value in written_values(vector).items():
            conn.execute(
                "INSERT INTO mcp_store (key, value, created_at, updated_at) VALUES (?, ?, ?, ?)",
                (key, json.dumps(value, separators=(",", ":")), "2026-11-26 05:53:33", "2026-11-26 05:53:33"),
            )
    store = SqliteStore(path)
    for trip in vector["roundtrips"]:
        if "written" in trip and trip["key"] != "undef":
            assert store.read(trip["key"]) == trip["read"]
    time.sleep(0.01)
    store.write("new_key", {"a": 1})
    store.write("state_s", "changed")
    with sqlite3.connect(path) as conn:
        created = conn.execute("SELECT created_at FROM mcp_store WHERE key = 'state_s'").fetchone()[0]
        assert created == "2026-11-26 05:53:33"
        # The TS store's own queries still work on rows written here.
        assert json.loads(
            conn.execute("SELECT value FROM mcp_store WHERE key = 'new_key'").fetchone()[0]
        ) == {"a": 1}
        ts_cleanup = "DELETE FROM mcp_store WHERE created_at < datetime('now', '-' || ? || ' days')"
        assert conn.execute(ts_cleanup, (0,)).rowcount == len(written_values(vector))
        ts_keys = [r[0] for r in conn.execute("SELECT key FROM mcp_store ORDER BY created_at")]
    assert ts_keys == ["new_key"]


@pytest.mark.redis
def test_redis_reads_ts_values_and_writes_the_ts_format(redis_prefix: str) -> None:
    import redis

    vector = ts_vector("stores/redis:createRedisStore")
    client = redis.Redis.from_url(REDIS_URL)
    try:
        client.set(redis_prefix + "session_x", vector["raw_value_session_x"])
        client.set(redis_prefix + "state_s", vector["raw_value_state_s"])
        client.set(redis_prefix + "foreign", json.dumps(vector["foreign_values"]["json_without_wrapper"]))
        client.set(redis_prefix + "foreign_str", "not json at all")
        client.set(redis_prefix + "undef", '{"created_at":"2026-11-26T05:53:35.077Z","updated_at":"x"}')
        store = create_redis_store(REDIS_URL, key_prefix=redis_prefix)
        assert store.read("session_x") == written_values(vector)["session_x"]
        assert store.read("state_s") == UUID
        assert store.read("foreign") == {"a": 1}  # JSON without the wrapper is returned whole, as in TS
        assert store.read("undef") is None
        with pytest.raises(StoreCorrupted, match="foreign_str"):
            store.read("foreign_str")
        assert store.cleanup(0) == 3  # only records in the wrapper format are aged out
        assert sorted(store.keys()) == ["foreign", "foreign_str"]  # foreign values are listed, never deleted

        store.write("state_s", UUID)
        raw = bytes(client.get(redis_prefix + "state_s")).decode()  # type: ignore[arg-type]
        match = re.fullmatch(
            r'\{"value":"' + UUID + r'","created_at":"(' + ISO_MS + r')","updated_at":"(' + ISO_MS + r')"\}',
            raw,
        )
        assert match, raw
        assert client.ttl(redis_prefix + "state_s") == -1  # as TS without ttl
        store.write("session_x", written_values(vector)["session_x"], ttl=60)
        expected = vector["raw_value_session_x"]
        got = bytes(client.get(redis_prefix + "session_x")).decode()  # type: ignore[arg-type]
        assert re.sub(ISO_MS, "T", got) == re.sub(ISO_MS, "T", expected)  # byte-identical but for times
        assert 0 < client.ttl(redis_prefix + "session_x") <= 60
        store.close()
    finally:
        client.close()


@pytest.mark.postgres
def test_postgres_reads_ts_rows_including_strings(pg_table: str) -> None:
    import psycopg
    from psycopg import sql

    vector = ts_vector("stores/postgres:createPostgresStore")
    values = written_values(vector)
    table = sql.Identifier(pg_table)
    with psycopg.connect(POSTGRES_URL, autocommit=True) as conn:
        conn.execute(
            sql.SQL(
                "CREATE TABLE {} (key VARCHAR(255) PRIMARY KEY, value JSONB NOT NULL, "
                "created_at TIMESTAMPTZ DEFAULT NOW(), updated_at TIMESTAMPTZ DEFAULT NOW())"
            ).format(table)
        )
        for key, value in values.items():  # TS: INSERT ... VALUES ($1, $2) with $2 = JSON.stringify(value)
            conn.execute(
                sql.SQL("INSERT INTO {} (key, value) VALUES (%s, %s::jsonb)").format(table),
                (key, json.dumps(value)),
            )
    store = create_postgres_store(POSTGRES_URL, table_name=pg_table)
    for key, value in values.items():
        assert store.read(key) == value, key  # TS itself failed on every string here
    store.write("state_s", "changed")
    with psycopg.connect(POSTGRES_URL) as conn:
        row = conn.execute(
            sql.SQL(
                "SELECT value, jsonb_typeof(value), created_at < updated_at FROM {} WHERE key = 'state_s'"
            ).format(table)
        ).fetchone()
        columns = [
            r[0]
            for r in conn.execute(
                "SELECT column_name FROM information_schema.columns WHERE table_name = %s "
                "ORDER BY ordinal_position",
                (pg_table,),
            )
        ]
    assert row == ("changed", "string", True)
    assert columns == ["key", "value", "created_at", "updated_at", "expires_at"]
    store.close()
