"""Fixtures for the store tests: one ``case`` per store (and per store with encryption on).

Redis and PostgreSQL are real servers, found through ``MCP_TOOLS_TEST_REDIS_URL`` (default
``redis://127.0.0.1:6379/15``) and ``MCP_TOOLS_TEST_POSTGRES_URL`` (default
``postgresql://postgres@127.0.0.1:5432/test``). Every test uses its own Redis key prefix or
PostgreSQL table and removes it afterwards. When a server is unreachable its tests are skipped
with the reason, except under ``CI=true``, where they fail so CI cannot pass by skipping.
"""

from __future__ import annotations

import functools
import os
import socket
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from mcp_tools.stores import (
    BaseStore,
    MemoryStore,
    create_fs_store,
    create_postgres_store,
    create_redis_store,
    create_sqlite_store,
    generate_encryption_key,
)
from mcp_tools.stores.encryption import maybe_encrypt

REDIS_URL = os.environ.get("MCP_TOOLS_TEST_REDIS_URL", "redis://127.0.0.1:6379/15")
POSTGRES_URL = os.environ.get("MCP_TOOLS_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test")
IN_CI = os.environ.get("CI", "").strip().lower() in {"1", "true", "yes"}

BACKENDS = ["memory", "fs", "sqlite", "redis", "postgres"]


def unavailable(reason: str) -> None:
    """Skip locally, fail under CI=true: a missing service must never turn CI green."""
    if IN_CI:
        pytest.fail(f"{reason} (CI=true, so this is a failure, not a skip)")
    pytest.skip(reason)


@functools.cache
def _redis_problem() -> str | None:
    import redis

    try:
        client = redis.Redis.from_url(REDIS_URL, socket_connect_timeout=2, socket_timeout=2)
        client.ping()
        client.close()
    except redis.RedisError as exc:
        return f"Redis not reachable at {REDIS_URL}: {exc}"
    return None


@functools.cache
def _postgres_problem() -> str | None:
    import psycopg

    try:
        psycopg.connect(POSTGRES_URL, connect_timeout=3).close()
    except psycopg.Error as exc:
        return f"PostgreSQL not reachable at {POSTGRES_URL}: {exc}"
    return None


def require_redis() -> str:
    problem = _redis_problem()
    if problem:
        unavailable(problem)
    return REDIS_URL


def require_postgres() -> str:
    problem = _postgres_problem()
    if problem:
        unavailable(problem)
    return POSTGRES_URL


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on (bound, then released)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture
def redis_prefix() -> Iterator[str]:
    """A unique key prefix in the test Redis database; its keys are deleted afterwards."""
    import redis

    require_redis()
    prefix = f"mcp-test:{uuid.uuid4().hex[:12]}:"
    yield prefix
    client = redis.Redis.from_url(REDIS_URL)
    names = list(client.scan_iter(match=prefix + "*", count=1000))
    if names:
        client.delete(*names)
    client.close()


@pytest.fixture
def pg_table() -> Iterator[str]:
    """A unique table name in the test database; the table is dropped afterwards."""
    import psycopg
    from psycopg import sql

    require_postgres()
    table = f"mcp_test_{uuid.uuid4().hex[:12]}"
    yield table
    with psycopg.connect(POSTGRES_URL, autocommit=True) as conn:
        conn.execute(sql.SQL("DROP TABLE IF EXISTS {}").format(sql.Identifier(table)))


@dataclass
class Case:
    """One store under test: how to open (more) stores on the same storage and read its raw bytes."""

    backend: str
    encrypted: bool
    opener: Callable[..., BaseStore]
    raw: Callable[[], bytes]
    encryption_keys: list[str] = field(default_factory=list)
    opened: list[BaseStore] = field(default_factory=list)

    def make(self, encryption_keys: list[str] | None = None, **options: Any) -> BaseStore:
        """Open a store on this case's storage; by default with the case's own encryption keys."""
        keys = self.encryption_keys if encryption_keys is None else encryption_keys
        store = self.opener(encryption_keys=keys or None, **options)
        self.opened.append(store)
        return store

    @property
    def id(self) -> str:
        return self.backend + ("+enc" if self.encrypted else "")


def _case(backend: str, encrypted: bool, tmp_path: Path, request: pytest.FixtureRequest) -> Case:
    keys = [generate_encryption_key()] if encrypted else []
    if backend == "memory":
        inner = MemoryStore()

        def open_memory(encryption_keys: list[str] | None = None, **options: Any) -> BaseStore:
            # Stores "opened" on memory storage share one MemoryStore (the storage itself).
            if "default_ttl" in options:
                inner.default_ttl = options.pop("default_ttl")
            return maybe_encrypt(inner, encryption_keys, **options)

        def raw_memory() -> bytes:
            return "".join(k + e.value_json for k, e in inner._data.items()).encode()

        return Case(backend, encrypted, open_memory, raw_memory, keys)
    if backend == "fs":
        path = tmp_path / "store.json"

        def open_fs(**options: Any) -> BaseStore:
            return create_fs_store(path, **options)

        return Case(backend, encrypted, open_fs, lambda: path.read_bytes() if path.exists() else b"", keys)
    if backend == "sqlite":
        path = tmp_path / "store.db"

        def open_sqlite(**options: Any) -> BaseStore:
            return create_sqlite_store(path, **options)

        def raw_sqlite() -> bytes:
            return b"".join(p.read_bytes() for p in tmp_path.glob("store.db*"))

        return Case(backend, encrypted, open_sqlite, raw_sqlite, keys)
    if backend == "redis":
        import redis

        prefix = request.getfixturevalue("redis_prefix")

        def open_redis(**options: Any) -> BaseStore:
            return create_redis_store(REDIS_URL, key_prefix=prefix, connect_timeout=2, **options)

        def raw_redis() -> bytes:
            client = redis.Redis.from_url(REDIS_URL)
            try:
                names = sorted(client.scan_iter(match=prefix + "*", count=1000))
                return b"".join(names + [v for v in client.mget(names) if v] if names else [])
            finally:
                client.close()

        return Case(backend, encrypted, open_redis, raw_redis, keys)
    if backend == "postgres":
        import psycopg
        from psycopg import sql

        table = request.getfixturevalue("pg_table")

        def open_postgres(**options: Any) -> BaseStore:
            return create_postgres_store(POSTGRES_URL, table_name=table, connect_timeout=3, **options)

        def raw_postgres() -> bytes:
            with psycopg.connect(POSTGRES_URL) as conn:
                exists = conn.execute("SELECT to_regclass(%s)", (table,)).fetchone()
                if not exists or exists[0] is None:
                    return b""
                rows = conn.execute(
                    sql.SQL("SELECT key, value::text FROM {}").format(sql.Identifier(table))
                ).fetchall()
            return "".join(k + v for k, v in rows).encode()

        return Case(backend, encrypted, open_postgres, raw_postgres, keys)
    raise AssertionError(backend)


def _params(encryption: tuple[bool, ...] = (False, True)) -> list[Any]:
    params = []
    for backend in BACKENDS:
        marks = [getattr(pytest.mark, backend)] if backend in {"redis", "postgres"} else []
        for encrypted in encryption:
            case_id = backend + ("+enc" if encrypted else "")
            params.append(pytest.param((backend, encrypted), id=case_id, marks=marks))
    return params


@pytest.fixture(params=_params())
def case(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Case]:
    """Every store, plain and encrypted, on fresh storage."""
    backend, encrypted = request.param
    current = _case(backend, encrypted, tmp_path, request)
    yield current
    for store in current.opened:
        store.close()


@pytest.fixture(params=_params(encryption=(False,)))
def plain_case(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Case]:
    """Every store once, without encryption (for tests that choose their own keys)."""
    backend, encrypted = request.param
    current = _case(backend, encrypted, tmp_path, request)
    yield current
    for store in current.opened:
        store.close()


@pytest.fixture
def store(case: Case) -> BaseStore:
    """A store opened on the case's storage (with the case's encryption keys)."""
    return case.make()
