"""A store in an SQLite database, with the TypeScript ``createSqliteStore`` schema.

The table (default ``mcp_store``) is the TypeScript one plus one nullable column::

    CREATE TABLE IF NOT EXISTS mcp_store (
      key TEXT PRIMARY KEY, value TEXT NOT NULL,
      created_at DATETIME DEFAULT CURRENT_TIMESTAMP, updated_at DATETIME DEFAULT CURRENT_TIMESTAMP,
      expires_at DATETIME)                       -- added here; NULL = never expires
    CREATE INDEX IF NOT EXISTS idx_mcp_store_created_at ON mcp_store (created_at)

``value`` holds the value's JSON text, as the TypeScript store writes it. Timestamps are UTC text
``YYYY-MM-DD HH:MM:SS.fff``, which sorts and compares with SQLite's ``CURRENT_TIMESTAMP`` format,
so a Node app's ``cleanup`` still works on rows written here. A Node reader ignores
``expires_at`` (so it would see an expired entry until ``cleanup`` removes it).

Differences from the TypeScript store: writes are ``INSERT ... ON CONFLICT DO UPDATE``, so
``created_at`` survives an overwrite (``INSERT OR REPLACE`` reset it); the table name is validated
and quoted; the journal is WAL with a busy timeout, so threads and processes share one file
safely; a new database file is created with mode 0600. Each thread gets its own connection.
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import sqlite3
import tempfile
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from datetime import datetime, timedelta
from pathlib import Path
from typing import TypeVar

from ._identifiers import check_table_name
from .base import BaseStore, Duration, JsonValue, StoreStats, human_size, poll_for_lock, utcnow
from .encryption import EncryptionKey, maybe_encrypt
from .errors import StoreCorrupted, StoreError, StoreUnavailable

__all__ = ["DEFAULT_SQLITE_PATH", "SqliteStore", "create_sqlite_store"]

#: The TypeScript default, ``os.tmpdir()/mcp-store.db``. Fine for demos only: pass a real path.
DEFAULT_SQLITE_PATH = os.path.join(tempfile.gettempdir(), "mcp-store.db")

_T = TypeVar("_T")


def _stamp(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%d %H:%M:%S.") + f"{moment.microsecond // 1000:03d}"


class SqliteStore(BaseStore):
    """SQLite-backed store; safe for many threads and processes on one host."""

    backend = "sqlite"

    def __init__(
        self,
        db_path: str | os.PathLike[str] | None = None,
        *,
        table_name: str = "mcp_store",
        timeout: float = 5.0,
        enable_wal: bool = True,
        durable: bool = True,
        default_ttl: Duration | None = None,
    ) -> None:
        super().__init__(default_ttl=default_ttl)
        raw = os.fspath(db_path) if db_path is not None else DEFAULT_SQLITE_PATH
        if raw in ("", ":memory:") or raw.startswith("file:"):
            raise ValueError("the SQLite store needs a file path (use the memory store for in-memory data)")
        self.path = Path(raw).absolute()
        self.table_name = check_table_name(table_name)
        self.timeout = float(timeout)
        self.enable_wal = enable_wal
        self.durable = durable
        self._local = threading.local()
        self._connections: list[sqlite3.Connection] = []
        self._conn_lock = threading.Lock()
        self._pid = os.getpid()
        # The table name passed check_table_name() (a plain identifier) and is double-quoted, so the
        # f-strings below (flagged by ruff's S608) cannot be injected into; values are bound with ?.
        t = f'"{self.table_name}"'
        self._sql_read = f"SELECT value FROM {t} WHERE key = ? AND (expires_at IS NULL OR expires_at > ?)"  # noqa: S608
        self._sql_exists = f"SELECT 1 FROM {t} WHERE key = ? AND (expires_at IS NULL OR expires_at > ?)"  # noqa: S608
        self._sql_write = (
            f"INSERT INTO {t} (key, value, created_at, updated_at, expires_at) VALUES (?, ?, ?, ?, ?) "  # noqa: S608
            "ON CONFLICT (key) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at, "
            "expires_at = excluded.expires_at, created_at = CASE "
            f"WHEN {t}.expires_at IS NOT NULL AND {t}.expires_at <= excluded.updated_at "
            f"THEN excluded.created_at ELSE {t}.created_at END"
        )
        self._sql_delete_live = f"DELETE FROM {t} WHERE key = ? AND (expires_at IS NULL OR expires_at > ?)"  # noqa: S608
        self._sql_delete_any = f"DELETE FROM {t} WHERE key = ?"  # noqa: S608
        self._sql_keys = (
            f"SELECT key FROM {t} WHERE substr(key, 1, length(?1)) = ?1 "  # noqa: S608
            "AND (expires_at IS NULL OR expires_at > ?2) ORDER BY created_at, key"
        )
        self._sql_cleanup = (
            f"DELETE FROM {t} WHERE (expires_at IS NOT NULL AND expires_at <= ?) OR created_at < ?"  # noqa: S608
        )
        self._sql_count = f"SELECT count(*) FROM {t} WHERE expires_at IS NULL OR expires_at > ?"  # noqa: S608
        self._sql_take = (
            f"DELETE FROM {t} WHERE key = ? RETURNING value, (expires_at IS NULL OR expires_at > ?)"  # noqa: S608
        )
        # Named locks live in a side table "<table>__locks" (name, holder token, lease end as Unix time).
        self.locks_table = f"{self.table_name}__locks"
        lt = f'"{self.locks_table}"'
        self._sql_lock_schema = (
            f"CREATE TABLE IF NOT EXISTS {lt} "
            "(name TEXT PRIMARY KEY, token TEXT NOT NULL, expires_at REAL NOT NULL)"
        )
        self._sql_lock_acquire = (
            f"INSERT INTO {lt} (name, token, expires_at) VALUES (?1, ?2, ?3) "  # noqa: S608
            f"ON CONFLICT (name) DO UPDATE SET token = ?2, expires_at = ?3 WHERE {lt}.expires_at <= ?4 "
            "RETURNING token"
        )
        self._sql_lock_release = f"DELETE FROM {lt} WHERE name = ? AND token = ?"  # noqa: S608
        # Open now, as the TS store does: a bad path fails at construction, not at the first request.
        self._run(lambda conn: None)

    # -- connections ---------------------------------------------------------------------------

    def _create_file(self) -> None:
        self.path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        try:
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            return
        os.close(fd)

    def _connect(self) -> sqlite3.Connection:
        self._create_file()
        conn = sqlite3.connect(self.path, timeout=self.timeout, isolation_level=None, check_same_thread=False)
        try:
            conn.execute(f"PRAGMA busy_timeout = {int(self.timeout * 1000)}")
            if self.enable_wal:
                conn.execute("PRAGMA journal_mode = WAL")
            conn.execute(f"PRAGMA synchronous = {'FULL' if self.durable else 'NORMAL'}")
            self._ensure_schema(conn)
        except BaseException:
            conn.close()
            raise
        return conn

    def _ensure_schema(self, conn: sqlite3.Connection) -> None:
        t = f'"{self.table_name}"'
        conn.execute(
            f"CREATE TABLE IF NOT EXISTS {t} (key TEXT PRIMARY KEY, value TEXT NOT NULL, "
            "created_at DATETIME DEFAULT CURRENT_TIMESTAMP, updated_at DATETIME DEFAULT CURRENT_TIMESTAMP, "
            "expires_at DATETIME)"
        )
        columns = {row[1] for row in conn.execute(f"PRAGMA table_info({t})")}
        if "expires_at" not in columns:  # a table created by the TypeScript store
            try:
                conn.execute(f"ALTER TABLE {t} ADD COLUMN expires_at DATETIME")
            except sqlite3.OperationalError as exc:
                if "duplicate column" not in str(exc):  # another process added it first
                    raise
        conn.execute(f'CREATE INDEX IF NOT EXISTS "idx_{self.table_name}_created_at" ON {t} (created_at)')
        conn.execute(self._sql_lock_schema)

    def _conn(self) -> sqlite3.Connection:
        if self._pid != os.getpid():
            # Forked: never touch the parent's connections; leave them to the parent.
            self._local = threading.local()
            self._connections = []
            self._conn_lock = threading.Lock()
            self._pid = os.getpid()
        conn: sqlite3.Connection | None = getattr(self._local, "conn", None)
        if conn is None:
            conn = self._connect()
            self._local.conn = conn
            with self._conn_lock:
                self._connections.append(conn)
        return conn

    def _run(self, operation: Callable[[sqlite3.Connection], _T]) -> _T:
        try:
            return operation(self._conn())
        except sqlite3.OperationalError as exc:
            if "locked" in str(exc) or "busy" in str(exc):
                raise StoreUnavailable(
                    f"SQLite database {self.path} stayed locked for more than {self.timeout:g}s: {exc}"
                ) from None
            raise StoreError(f"SQLite database {self.path}: {exc}") from None
        except sqlite3.DatabaseError as exc:
            raise StoreError(f"SQLite database {self.path}: {exc}") from None

    # -- backend hooks -------------------------------------------------------------------------

    def _read(self, key: str) -> JsonValue:
        now = _stamp(utcnow())
        row = self._run(lambda c: c.execute(self._sql_read, (key, now)).fetchone())
        if row is None:
            return None
        try:
            return json.loads(row[0])  # type: ignore[no-any-return]
        except (TypeError, json.JSONDecodeError):
            raise StoreCorrupted(
                f"SQLite database {self.path}: the value of key {key!r} in table {self.table_name} is "
                "not JSON text",
                path=str(self.path),
                key=key,
            ) from None

    def _write(self, key: str, value_json: str, ttl: float | None) -> None:
        now = utcnow()
        stamp = _stamp(now)
        expires = None if ttl is None else _stamp(now + timedelta(seconds=ttl))
        self._run(lambda c: c.execute(self._sql_write, (key, value_json, stamp, stamp, expires)))

    def _delete(self, key: str) -> bool:
        now = _stamp(utcnow())

        def delete(conn: sqlite3.Connection) -> bool:
            live = conn.execute(self._sql_delete_live, (key, now)).rowcount > 0
            conn.execute(self._sql_delete_any, (key,))
            return live

        return self._run(delete)

    def _exists(self, key: str) -> bool:
        now = _stamp(utcnow())
        return self._run(lambda c: c.execute(self._sql_exists, (key, now)).fetchone() is not None)

    def _keys(self, prefix: str) -> list[str]:
        now = _stamp(utcnow())
        rows = self._run(lambda c: c.execute(self._sql_keys, (prefix, now)).fetchall())
        return [row[0] for row in rows]

    def _cleanup(self, older_than: float) -> int:
        now = utcnow()
        cutoff = _stamp(now - timedelta(seconds=older_than))
        return self._run(lambda c: c.execute(self._sql_cleanup, (_stamp(now), cutoff)).rowcount)

    def _stats(self) -> StoreStats:
        now = _stamp(utcnow())

        def stats(conn: sqlite3.Connection) -> tuple[int, int]:
            total = conn.execute(self._sql_count, (now,)).fetchone()[0]
            pages = conn.execute("PRAGMA page_count").fetchone()[0]
            page_size = conn.execute("PRAGMA page_size").fetchone()[0]
            return int(total), int(pages) * int(page_size)

        total, size = self._run(stats)
        return {
            "backend": self.backend,
            "total_keys": total,
            "db_size": human_size(size),
            "db_path": str(self.path),
            "table_name": self.table_name,
        }

    def _take(self, key: str) -> JsonValue:
        now = _stamp(utcnow())
        row = self._run(lambda c: c.execute(self._sql_take, (key, now)).fetchone())
        if row is None or not row[1]:
            return None
        try:
            return json.loads(row[0])  # type: ignore[no-any-return]
        except (TypeError, json.JSONDecodeError):
            raise StoreCorrupted(
                f"SQLite database {self.path}: the value of key {key!r} is not JSON text",
                path=str(self.path),
                key=key,
            ) from None

    def _update(self, key: str, compute: Callable[[JsonValue], str], ttl: float | None) -> str:
        def update(conn: sqlite3.Connection) -> str:
            # BEGIN IMMEDIATE takes the database's write lock before the read, so no other writer
            # (thread or process) can change the row between our read and our write.
            conn.execute("BEGIN IMMEDIATE")
            try:
                now = utcnow()
                row = conn.execute(self._sql_read, (key, _stamp(now))).fetchone()
                current: JsonValue = None
                if row is not None:
                    try:
                        current = json.loads(row[0])
                    except (TypeError, json.JSONDecodeError):
                        raise StoreCorrupted(
                            f"SQLite database {self.path}: the value of key {key!r} is not JSON text",
                            path=str(self.path),
                            key=key,
                        ) from None
                text = compute(current)
                stamp = _stamp(now)
                expires = None if ttl is None else _stamp(now + timedelta(seconds=ttl))
                conn.execute(self._sql_write, (key, text, stamp, stamp, expires))
            except BaseException:
                conn.execute("ROLLBACK")
                raise
            conn.execute("COMMIT")
            return text

        return self._run(update)

    @contextlib.contextmanager
    def _lock_cm(self, name: str, timeout: float, lease: float) -> Iterator[None]:
        token = secrets.token_hex(16)

        def acquire() -> bool:
            now = time.time()
            params = (name, token, now + lease, now)
            row = self._run(lambda c: c.execute(self._sql_lock_acquire, params).fetchone())
            return row is not None and row[0] == token

        poll_for_lock(acquire, timeout, f"lock {name!r} in {self.path}")
        try:
            yield
        finally:
            self._run(lambda c: c.execute(self._sql_lock_release, (name, token)))

    def _lock(self, name: str, timeout: float, lease: float) -> contextlib.AbstractContextManager[None]:
        return self._lock_cm(name, timeout, lease)

    def _close(self) -> None:
        with self._conn_lock:
            connections, self._connections = self._connections, []
        for conn in connections:
            conn.close()
        self._local = threading.local()


def create_sqlite_store(
    db_path: str | os.PathLike[str] | None = None,
    *,
    table_name: str = "mcp_store",
    timeout: float = 5.0,
    enable_wal: bool = True,
    durable: bool = True,
    default_ttl: Duration | None = None,
    encryption_keys: Sequence[EncryptionKey] | None = None,
    allow_plaintext: bool = False,
) -> BaseStore:
    """Create a :class:`SqliteStore` (TS ``createSqliteStore({dbPath, tableName})``).

    ``timeout`` is the busy timeout in seconds (TS: milliseconds). With ``encryption_keys`` the
    store is wrapped in an :class:`EncryptedStore`.
    """
    store = SqliteStore(
        db_path,
        table_name=table_name,
        timeout=timeout,
        enable_wal=enable_wal,
        durable=durable,
        default_ttl=default_ttl,
    )
    return maybe_encrypt(store, encryption_keys, allow_plaintext=allow_plaintext)
