"""A store in PostgreSQL (psycopg 3 with psycopg_pool), with the TypeScript table schema.

The table (default ``mcp_store``) is the TypeScript one plus one nullable column::

    CREATE TABLE IF NOT EXISTS mcp_store (
      key VARCHAR(255) PRIMARY KEY, value JSONB NOT NULL,
      created_at TIMESTAMPTZ DEFAULT NOW(), updated_at TIMESTAMPTZ DEFAULT NOW(),
      expires_at TIMESTAMPTZ)                    -- added here; NULL = never expires
    CREATE INDEX IF NOT EXISTS idx_mcp_store_created_at ON mcp_store (created_at)

Correctness wins over compatibility here: every JSON value, plain strings included, is stored
as the JSONB value itself (``"abc"`` is the JSONB string ``"abc"``) and comes back with its type.
The TypeScript store writes the same representation but cannot read strings back; it reads
objects, arrays, numbers, booleans and null written here. A Node app can therefore share the
table only for object values (sessions), not for ``state_`` or ``pkce_verifier_`` entries.

Numbers pass through PostgreSQL's ``numeric``: a float whose JSON form uses an exponent of 16 or
more (``1e16``) reads back as the int with the same decimal value. JSONB cannot hold the
character U+0000; writing it raises :class:`ValueError`.

The connection pool opens on first use, so a store pointed at a down server can be created (and
the process can run) without any connection; each operation then fails with
:class:`StoreUnavailable` within ``connect_timeout``. After a server restart the dead pooled
connections are discarded and the operation is retried once on a fresh connection.
"""

from __future__ import annotations

import contextlib
import math
import os
import threading
from collections.abc import Callable, Iterator, Sequence
from typing import TYPE_CHECKING, Any, TypeVar

from ._identifiers import check_table_name
from .base import BaseStore, Duration, JsonValue, StoreStats, poll_for_lock
from .encryption import EncryptionKey, maybe_encrypt
from .errors import StoreError, StoreUnavailable

if TYPE_CHECKING:
    import psycopg
    from psycopg_pool import ConnectionPool

__all__ = ["PostgresStore", "create_postgres_store"]

_T = TypeVar("_T")
_LIVE = "(expires_at IS NULL OR expires_at > NOW())"


class PostgresStore(BaseStore):
    """PostgreSQL-backed store on a lazily opened ``psycopg_pool.ConnectionPool``.

    Give ``url`` (``postgresql://user:password@host:port/db?sslmode=require``, or any libpq
    connection string) and/or the TypeScript keyword options; keywords override the URL (the TS
    store silently ignored them). ``ssl=True`` means ``sslmode=require``. Timeouts are in seconds.
    """

    backend = "postgres"

    def __init__(
        self,
        url: str | None = None,
        *,
        host: str | None = None,
        port: int | None = None,
        database: str | None = None,
        user: str | None = None,
        password: str | None = None,
        table_name: str = "mcp_store",
        ssl: bool = False,
        connect_timeout: float = 5.0,
        min_size: int = 1,
        max_size: int = 10,
        default_ttl: Duration | None = None,
    ) -> None:
        super().__init__(default_ttl=default_ttl)
        try:
            from psycopg import sql
            from psycopg.conninfo import conninfo_to_dict, make_conninfo
        except ImportError as exc:  # pragma: no cover - depends on the installation
            raise ImportError(
                "the PostgreSQL store needs psycopg 3 and psycopg_pool: "
                "pip install 'mcp-tools-core[postgres]'"
            ) from exc
        self.table_name = check_table_name(table_name)
        params: dict[str, Any] = {
            name: value
            for name, value in {
                "host": host,
                "port": port,
                "dbname": database,
                "user": user,
                "password": password,
            }.items()
            if value is not None
        }
        if ssl:
            params["sslmode"] = "require"
        if url is None:
            params.setdefault("host", "localhost")
            params.setdefault("port", 5432)
        if url is not None and url.startswith("postgres://"):
            url = "postgresql://" + url[len("postgres://") :]
        self.conninfo = make_conninfo(url or "", **params)
        info = conninfo_to_dict(self.conninfo)
        self.endpoint = f"{info.get('host') or 'localhost'}:{info.get('port') or 5432}"
        self.connect_timeout = float(connect_timeout)
        self.min_size = min_size
        self.max_size = max_size
        self._pool: ConnectionPool[Any] | None = None
        self._pool_lock = threading.Lock()
        self._pid = os.getpid()
        self._schema_ready = False

        table = sql.Identifier(self.table_name)
        index = sql.Identifier(f"idx_{self.table_name}_created_at")
        live = sql.SQL(_LIVE)
        self._sql_schema = [
            sql.SQL(
                "CREATE TABLE IF NOT EXISTS {t} (key VARCHAR(255) PRIMARY KEY, value JSONB NOT NULL, "
                "created_at TIMESTAMPTZ DEFAULT NOW(), updated_at TIMESTAMPTZ DEFAULT NOW(), "
                "expires_at TIMESTAMPTZ)"
            ).format(t=table),
            sql.SQL("ALTER TABLE {t} ADD COLUMN IF NOT EXISTS expires_at TIMESTAMPTZ").format(t=table),
            sql.SQL("CREATE INDEX IF NOT EXISTS {i} ON {t} (created_at)").format(i=index, t=table),
        ]
        self._sql_read = sql.SQL("SELECT value FROM {t} WHERE key = %s AND {live}").format(t=table, live=live)
        self._sql_exists = sql.SQL("SELECT 1 FROM {t} WHERE key = %s AND {live}").format(t=table, live=live)
        self._sql_write = sql.SQL(
            "INSERT INTO {t} AS old (key, value, created_at, updated_at, expires_at) "
            "VALUES (%s, %s::jsonb, NOW(), NOW(), NOW() + %s::double precision * INTERVAL '1 second') "
            "ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value, updated_at = NOW(), "
            "expires_at = EXCLUDED.expires_at, created_at = CASE "
            "WHEN old.expires_at IS NOT NULL AND old.expires_at <= NOW() THEN NOW() ELSE old.created_at END"
        ).format(t=table)
        self._sql_delete = sql.SQL("DELETE FROM {t} WHERE key = %s RETURNING {live}").format(
            t=table, live=live
        )
        self._sql_keys = sql.SQL(
            "SELECT key FROM {t} WHERE starts_with(key, %s) AND {live} ORDER BY created_at, key"
        ).format(t=table, live=live)
        self._sql_cleanup = sql.SQL(
            "DELETE FROM {t} WHERE (expires_at IS NOT NULL AND expires_at <= NOW()) "
            "OR created_at < NOW() - %s::double precision * INTERVAL '1 second'"
        ).format(t=table)
        self._sql_count = sql.SQL("SELECT count(*) FROM {t} WHERE {live}").format(t=table, live=live)
        self._sql_take = sql.SQL("DELETE FROM {t} WHERE key = %s RETURNING value, {live}").format(
            t=table, live=live
        )
        self._sql_read_for_update = sql.SQL("SELECT value, {live} FROM {t} WHERE key = %s FOR UPDATE").format(
            t=table, live=live
        )
        # Advisory-lock namespaces (the two-int4 key space): one for update(), one for lock().
        self._update_ns = f"mcp_tools:update:{self.table_name}"
        self._lock_ns = f"mcp_tools:lock:{self.table_name}"

    # -- plumbing ------------------------------------------------------------------------------

    def _check(self, key: str) -> None:
        super()._check(key)
        if len(key) > 255:
            raise ValueError("PostgreSQL store keys are at most 255 characters (the column is VARCHAR(255))")

    def _get_pool(self) -> ConnectionPool[Any]:
        from psycopg_pool import ConnectionPool

        with self._pool_lock:
            if self._pid != os.getpid():  # forked: the parent's pool and its threads are not ours
                self._pool = None
                self._pid = os.getpid()
            if self._pool is None:
                pool: ConnectionPool[Any] = ConnectionPool(
                    self.conninfo,
                    min_size=self.min_size,
                    max_size=max(self.max_size, self.min_size),
                    open=False,
                    timeout=self.connect_timeout,
                    name=f"mcp-tools-store-{self.table_name}",
                    kwargs={"autocommit": True, "connect_timeout": max(2, math.ceil(self.connect_timeout))},
                )
                pool.open(wait=False)
                self._pool = pool
            return self._pool

    def _ensure_schema(self, conn: psycopg.Connection[Any]) -> None:
        if self._schema_ready:
            return
        with conn.transaction():
            # Serialise concurrent first uses (CREATE TABLE IF NOT EXISTS can race otherwise).
            conn.execute("SELECT pg_advisory_xact_lock(hashtext(%s))", (f"mcp_tools:{self.table_name}",))
            for statement in self._sql_schema:
                conn.execute(statement)
        self._schema_ready = True

    def _run(self, operation: Callable[[psycopg.Connection[Any]], _T], key: str | None = None) -> _T:
        import psycopg
        from psycopg_pool import PoolTimeout

        pool = self._get_pool()
        for attempt in (1, 2):
            try:
                with pool.connection(timeout=self.connect_timeout) as conn:
                    self._ensure_schema(conn)
                    return operation(conn)
            except PoolTimeout:
                raise StoreUnavailable(
                    f"PostgreSQL at {self.endpoint} is unreachable: no connection within "
                    f"connect_timeout={self.connect_timeout:g}s"
                ) from None
            except psycopg.OperationalError as exc:
                if attempt == 1:
                    pool.check()  # drop connections the server closed (restart, failover), then retry
                    continue
                raise StoreUnavailable(
                    f"PostgreSQL at {self.endpoint} failed (connect_timeout={self.connect_timeout:g}s): {exc}"
                ) from None
            except psycopg.DataError as exc:
                what = f"the value of key {key!r}" if key is not None else "the request"
                raise ValueError(f"PostgreSQL cannot store {what}: {exc}") from None
            except psycopg.Error as exc:
                raise StoreError(f"PostgreSQL at {self.endpoint}, table {self.table_name}: {exc}") from None
        raise AssertionError("unreachable")  # pragma: no cover

    # -- backend hooks -------------------------------------------------------------------------

    def _read(self, key: str) -> JsonValue:
        row = self._run(lambda c: c.execute(self._sql_read, (key,)).fetchone(), key)
        return None if row is None else row[0]

    def _write(self, key: str, value_json: str, ttl: float | None) -> None:
        self._run(lambda c: c.execute(self._sql_write, (key, value_json, ttl)), key)

    def _delete(self, key: str) -> bool:
        row = self._run(lambda c: c.execute(self._sql_delete, (key,)).fetchone(), key)
        return bool(row and row[0])

    def _exists(self, key: str) -> bool:
        return self._run(lambda c: c.execute(self._sql_exists, (key,)).fetchone() is not None, key)

    def _keys(self, prefix: str) -> list[str]:
        rows = self._run(lambda c: c.execute(self._sql_keys, (prefix,)).fetchall())
        return [str(row[0]) for row in rows]

    def _cleanup(self, older_than: float) -> int:
        return self._run(lambda c: c.execute(self._sql_cleanup, (older_than,)).rowcount)

    def _stats(self) -> StoreStats:
        def stats(conn: psycopg.Connection[Any]) -> tuple[int, str, str]:
            count = conn.execute(self._sql_count).fetchone()
            size = conn.execute(
                "SELECT pg_size_pretty(pg_total_relation_size(%s::regclass)), "
                "current_setting('server_version')",
                (f'"{self.table_name}"',),
            ).fetchone()
            assert count is not None
            assert size is not None
            return int(count[0]), str(size[0]), str(size[1]).split()[0]

        total, size, version = self._run(stats)
        return {
            "backend": self.backend,
            "total_keys": total,
            "table_size": size,
            "db_info": f"PostgreSQL {version}",
            "table_name": self.table_name,
        }

    def _take(self, key: str) -> JsonValue:
        row = self._run(lambda c: c.execute(self._sql_take, (key,)).fetchone(), key)
        return row[0] if row is not None and row[1] else None

    def _update(self, key: str, compute: Callable[[JsonValue], str], ttl: float | None) -> str:
        def update(conn: psycopg.Connection[Any]) -> str:
            with conn.transaction():
                # The advisory lock serialises updates of this key even while the row does not
                # exist yet (FOR UPDATE alone locks nothing then); FOR UPDATE also holds off a
                # concurrent plain write of an existing row until we commit.
                conn.execute(
                    "SELECT pg_advisory_xact_lock(hashtext(%s), hashtext(%s))", (self._update_ns, key)
                )
                row = conn.execute(self._sql_read_for_update, (key,)).fetchone()
                current: JsonValue = row[0] if row is not None and row[1] else None
                text = compute(current)
                conn.execute(self._sql_write, (key, text, ttl))
                return text

        return self._run(update, key)

    @contextlib.contextmanager
    def _lock_cm(self, name: str, timeout: float) -> Iterator[None]:
        import psycopg
        from psycopg_pool import PoolTimeout

        # A session-level advisory lock, held on one pooled connection for the duration of the
        # block; PostgreSQL releases it by itself if this process or its connection dies.
        pool = self._get_pool()
        keys = (self._lock_ns, name)
        try:
            with pool.connection(timeout=self.connect_timeout) as conn:
                self._ensure_schema(conn)

                def acquire() -> bool:
                    row = conn.execute(
                        "SELECT pg_try_advisory_lock(hashtext(%s), hashtext(%s))", keys
                    ).fetchone()
                    return bool(row and row[0])

                poll_for_lock(acquire, timeout, f"lock {name!r} on PostgreSQL at {self.endpoint}")
                try:
                    yield
                finally:
                    conn.execute("SELECT pg_advisory_unlock(hashtext(%s), hashtext(%s))", keys)
        except PoolTimeout:
            raise StoreUnavailable(
                f"PostgreSQL at {self.endpoint} is unreachable: no connection within "
                f"connect_timeout={self.connect_timeout:g}s"
            ) from None
        except psycopg.OperationalError as exc:
            raise StoreUnavailable(
                f"PostgreSQL at {self.endpoint} failed while holding lock {name!r}: {exc}"
            ) from None

    def _lock(self, name: str, timeout: float, lease: float) -> contextlib.AbstractContextManager[None]:
        return self._lock_cm(name, timeout)

    def _close(self) -> None:
        with self._pool_lock:
            pool, self._pool = self._pool, None
        if pool is not None and self._pid == os.getpid():
            pool.close(timeout=self.connect_timeout)


def create_postgres_store(
    url: str | None = None,
    *,
    host: str | None = None,
    port: int | None = None,
    database: str | None = None,
    user: str | None = None,
    password: str | None = None,
    table_name: str = "mcp_store",
    ssl: bool = False,
    connect_timeout: float = 5.0,
    min_size: int = 1,
    max_size: int = 10,
    default_ttl: Duration | None = None,
    encryption_keys: Sequence[EncryptionKey] | None = None,
    allow_plaintext: bool = False,
) -> BaseStore:
    """Create a :class:`PostgresStore` (TS ``createPostgresStore``; ``url`` is TS ``connectionString``).

    Nothing connects until the first operation. With ``encryption_keys`` the store is wrapped in an
    :class:`EncryptedStore`.
    """
    store = PostgresStore(
        url,
        host=host,
        port=port,
        database=database,
        user=user,
        password=password,
        table_name=table_name,
        ssl=ssl,
        connect_timeout=connect_timeout,
        min_size=min_size,
        max_size=max_size,
        default_ttl=default_ttl,
    )
    return maybe_encrypt(store, encryption_keys, allow_plaintext=allow_plaintext)
