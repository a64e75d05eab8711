"""PostgreSQL store specifics against real servers: strings, laziness, failures, restarts."""

from __future__ import annotations

import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator

import pytest

from mcp_tools.stores import PostgresStore, StoreUnavailable, create_postgres_store

from ._servers import OwnPostgres
from .conftest import POSTGRES_URL, free_port, require_postgres

pytestmark = pytest.mark.postgres


def test_strings_that_broke_the_ts_store_round_trip_as_jsonb_strings(pg_table: str) -> None:
    import psycopg
    from psycopg import sql

    store = create_postgres_store(POSTGRES_URL, table_name=pg_table)
    cases: dict[str, str | int] = {
        "state_s": "6f1c2f9e-3c1b",
        "numeric_string": "123",
        "json_looking_string": '{"a":1}',
        "num": 123,
    }
    for key, value in cases.items():
        store.write(key, value)
    assert {key: store.read(key) for key in cases} == cases
    assert type(store.read("numeric_string")) is str
    with psycopg.connect(POSTGRES_URL) as conn:
        types: dict[str, str] = dict(
            conn.execute(
                sql.SQL("SELECT key, jsonb_typeof(value) FROM {}").format(sql.Identifier(pg_table))
            ).fetchall()
        )
    assert types == {
        "state_s": "string",
        "numeric_string": "string",
        "json_looking_string": "string",
        "num": "number",
    }
    store.close()


def test_documented_limits(pg_table: str) -> None:
    store = create_postgres_store(POSTGRES_URL, table_name=pg_table)
    with pytest.raises(ValueError, match="255"):
        store.write("k" * 256, 1)
    with pytest.raises(ValueError, match="cannot store the value of key 'nul'"):
        store.write("nul", "a\x00b")
    store.write("big_float", 1e300)
    assert store.read("big_float") == 10**300  # numeric keeps the decimal value, not the float type
    store.close()


def test_construction_never_connects() -> None:
    port = free_port()
    started = time.monotonic()
    threads_before = threading.active_count()
    store = create_postgres_store(host="127.0.0.1", port=port, connect_timeout=1)
    assert time.monotonic() - started < 0.2
    assert threading.active_count() == threads_before  # no pool, no background worker yet
    store.close()


def test_unused_store_pointed_at_a_down_server_does_not_kill_the_process() -> None:
    port = free_port()
    code = (
        "import time\n"
        "from mcp_tools.stores import create_postgres_store\n"
        f"store = create_postgres_store(host='127.0.0.1', port={port}, connect_timeout=1)\n"
        "time.sleep(1.5)\n"
        "print('alive')\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=30)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "alive"


def test_unreachable_server_fails_within_the_timeout() -> None:
    port = free_port()
    store = create_postgres_store(host="127.0.0.1", port=port, user="postgres", connect_timeout=1)
    for _ in range(2):  # and again: no process exit, no permanent poisoning
        started = time.monotonic()
        with pytest.raises(StoreUnavailable) as info:
            store.read("k")
        assert time.monotonic() - started < 1 + 1
        assert f"127.0.0.1:{port}" in str(info.value)
        assert "connect_timeout=1s" in str(info.value)
    store.close()


@pytest.fixture
def silent_server() -> Iterator[int]:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen(16)
        yield int(sock.getsockname()[1])


def test_server_that_never_answers_times_out(silent_server: int) -> None:
    store = create_postgres_store(host="127.0.0.1", port=silent_server, connect_timeout=1)
    started = time.monotonic()
    with pytest.raises(StoreUnavailable, match=f"127.0.0.1:{silent_server}"):
        store.read("k")
    assert time.monotonic() - started < 1 + 1
    store.close()


def test_server_restart_mid_use_reconnects() -> None:
    require_postgres()
    server = OwnPostgres()
    try:
        server.start()
        store = PostgresStore(server.url, connect_timeout=3, min_size=2)
        store.write("session_x", {"token": "t"})
        store.write("state_s", "abc")
        assert store.read("session_x") == {"token": "t"}
        server.stop()
        with pytest.raises(StoreUnavailable, match=f"127.0.0.1:{server.port}"):
            store.read("session_x")
        server.start()
        # The pool replaces its stale connections in the background; on a loaded machine the
        # first attempts may still fail fast with StoreUnavailable. Recovery must come, bounded.
        deadline = time.monotonic() + 20
        while True:
            try:
                recovered = store.read("state_s")
                break
            except StoreUnavailable:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.2)
        assert recovered == "abc"  # stale pooled connections were replaced
        assert store.read("session_x") == {"token": "t"}
        store.write("after", 1)
        assert store.keys() == ["session_x", "state_s", "after"]
        store.close()
    finally:
        server.remove()


def test_keyword_options_override_the_url(pg_table: str) -> None:
    store = PostgresStore(
        "postgresql://nobody@127.0.0.1:1/nothing",
        port=5432,
        user="postgres",
        database="test",
        table_name=pg_table,
    )
    assert store.endpoint == "127.0.0.1:5432"
    store.write("k", [1])
    assert store.read("k") == [1]
    stats = store.stats()
    assert str(stats["db_info"]).startswith("PostgreSQL ")
    assert stats["table_name"] == pg_table
    store.close()


@pytest.mark.parametrize("name", ["bad-name", "t; DROP TABLE x", 'a"b', "9t"])
def test_unsafe_table_names_are_refused(name: str) -> None:
    with pytest.raises(ValueError, match="invalid table name"):
        PostgresStore(POSTGRES_URL, table_name=name)


def test_concurrent_first_use_creates_the_table_once(pg_table: str) -> None:
    stores = [create_postgres_store(POSTGRES_URL, table_name=pg_table) for _ in range(4)]
    errors: list[BaseException] = []

    def use(index: int) -> None:
        try:
            stores[index].write(f"k{index}", index)
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=use, args=(i,)) for i in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert sorted(stores[0].keys()) == ["k0", "k1", "k2", "k3"]
    for store in stores:
        store.close()
