#!/usr/bin/env python3
"""Reads and writes per second for every store: 1 and 8 threads, with and without encryption.

    .venv/bin/python benchmarks/stores.py [--seconds 0.5] [--keys 200]

Each measurement runs for ``--seconds`` (so the whole run is bounded: about
5 stores x 2 encryption x 2 thread counts x 2 operations x seconds, plus setup). Redis and
PostgreSQL come from ``MCP_TOOLS_TEST_REDIS_URL`` / ``MCP_TOOLS_TEST_POSTGRES_URL`` (defaults:
127.0.0.1, Redis db 15, database "test") and are skipped when unreachable; the benchmark uses a
unique key prefix / table and removes it afterwards. Durable defaults are kept (fsync on for fs
and SQLite), since that is what an application gets.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from mcp_tools.stores import (
    BaseStore,
    create_fs_store,
    create_memory_store,
    create_postgres_store,
    create_redis_store,
    create_sqlite_store,
    generate_encryption_key,
)

REDIS_URL = os.environ.get("MCP_TOOLS_TEST_REDIS_URL", "redis://127.0.0.1:6379/15")
POSTGRES_URL = os.environ.get("MCP_TOOLS_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test")
VALUE = {
    "mcpEndpoint": "https://mcp.example.com/mcp",
    "oauthRedirectUrl": "https://app.example.com/cb",
    "clientId": "client-123",
    "accessToken": "at_" + "x" * 40,
    "refreshToken": "rt_" + "y" * 40,
}

Factory = Callable[[list[str] | None], BaseStore]


@contextmanager
def backends(tmp: str) -> Iterator[list[tuple[str, Factory | str]]]:
    """(name, factory or reason it is unavailable) for each store; cleans up servers' data."""
    found: list[tuple[str, Factory | str]] = [
        ("memory", lambda keys: create_memory_store(encryption_keys=keys)),
        (
            "fs",
            lambda keys: create_fs_store(
                os.path.join(tmp, f"fs-{uuid.uuid4().hex}.json"), encryption_keys=keys
            ),
        ),
        (
            "sqlite",
            lambda keys: create_sqlite_store(
                os.path.join(tmp, f"sq-{uuid.uuid4().hex}.db"), encryption_keys=keys
            ),
        ),
    ]
    prefix = f"mcp-bench:{uuid.uuid4().hex[:8]}:"
    table = f"mcp_bench_{uuid.uuid4().hex[:8]}"
    redis_ok = postgres_ok = False
    try:
        import redis

        redis.Redis.from_url(REDIS_URL, socket_connect_timeout=2).ping()
        redis_ok = True
        found.append(
            ("redis", lambda keys: create_redis_store(REDIS_URL, key_prefix=prefix, encryption_keys=keys))
        )
    except Exception as exc:
        found.append(("redis", f"unavailable: {exc}"))
    try:
        import psycopg

        psycopg.connect(POSTGRES_URL, connect_timeout=3).close()
        postgres_ok = True
        found.append(
            (
                "postgres",
                lambda keys: create_postgres_store(POSTGRES_URL, table_name=table, encryption_keys=keys),
            )
        )
    except Exception as exc:
        found.append(("postgres", f"unavailable: {exc}"))
    try:
        yield found
    finally:
        if redis_ok:
            import redis

            client = redis.Redis.from_url(REDIS_URL)
            names = list(client.scan_iter(match=prefix + "*", count=1000))
            if names:
                client.delete(*names)
            client.close()
        if postgres_ok:
            import psycopg
            from psycopg import sql

            with psycopg.connect(POSTGRES_URL, autocommit=True) as conn:
                conn.execute(sql.SQL("DROP TABLE IF EXISTS {}").format(sql.Identifier(table)))


def rate(operation: Callable[[int, int], None], threads: int, seconds: float) -> float:
    """Operations per second with ``threads`` threads calling ``operation(thread, i)`` for ``seconds``."""
    counts = [0] * threads
    start = threading.Barrier(threads + 1)
    stop = threading.Event()

    def work(index: int) -> None:
        start.wait()
        i = 0
        while not stop.is_set():
            operation(index, i)
            i += 1
        counts[index] = i

    workers = [threading.Thread(target=work, args=(n,)) for n in range(threads)]
    for worker in workers:
        worker.start()
    start.wait()
    began = time.perf_counter()
    time.sleep(seconds)
    stop.set()
    for worker in workers:
        worker.join()
    return sum(counts) / (time.perf_counter() - began)


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--seconds", type=float, default=0.5, help="duration of each measurement")
    parser.add_argument("--keys", type=int, default=200, help="keys written before measuring")
    args = parser.parse_args()
    key = generate_encryption_key()
    python = sys.version.split()[0]
    print(f"store benchmark: {args.seconds:g}s per measurement, {args.keys} keys pre-filled, Python {python}")
    header = f"{'store':<10} {'encryption':<10} {'threads':>7} {'reads/s':>12} {'writes/s':>12}"
    print(header)
    print("-" * len(header))
    with tempfile.TemporaryDirectory() as tmp, backends(tmp) as found:
        for name, factory in found:
            if isinstance(factory, str):
                print(f"{name:<10} {factory}")
                continue
            for encrypted in (False, True):
                store = factory([key] if encrypted else None)
                for i in range(args.keys):
                    store.write(f"session_{i}", VALUE)
                count = args.keys

                def read(t: int, i: int, store: BaseStore = store, count: int = count) -> None:
                    store.read(f"session_{i % count}")

                def write(t: int, i: int, store: BaseStore = store, count: int = count) -> None:
                    store.write(f"session_{(t * 7919 + i) % count}", VALUE)

                for threads in (1, 8):
                    reads = rate(read, threads, args.seconds)
                    writes = rate(write, threads, args.seconds)
                    label = "fernet" if encrypted else "off"
                    print(f"{name:<10} {label:<10} {threads:>7} {reads:>12,.0f} {writes:>12,.0f}", flush=True)
                store.cleanup(0)
                store.close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
