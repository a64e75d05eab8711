"""A store in Redis (redis-py), with the TypeScript ``createRedisStore`` layout.

Each entry is one Redis string under ``<key_prefix><key>`` (default prefix ``mcp:``) holding the
compact JSON record ``{"value":...,"created_at":"<ISO>","updated_at":"<ISO>"}``, byte for byte
what the TypeScript store writes, so a Node app and a Python app can share the keys. A TTL is a
native Redis expiry (``PX``); a write without TTL clears any earlier one.

Differences from the TypeScript store: the ``url`` option works; ``created_at`` survives an
overwrite (a small Lua script reads and rewrites the record atomically); ``keys`` and ``cleanup``
use ``SCAN`` rather than ``KEYS``; an unreachable server raises :class:`StoreUnavailable` within
the connect timeout instead of hanging. redis-py's own retries are turned off; the store retries
a command once only when a pooled connection turns out to be dead (for example after a server
restart), never after a timeout, so the time to fail stays bounded by the timeout.
"""

from __future__ import annotations

import contextlib
import json
import secrets
from collections.abc import Callable, Iterator, Sequence
from datetime import datetime, timedelta
from functools import partial
from typing import TYPE_CHECKING, Any, TypeVar

from .base import (
    BaseStore,
    Duration,
    JsonValue,
    StoreStats,
    iso_timestamp,
    parse_timestamp,
    poll_for_lock,
    utcnow,
)
from .encryption import EncryptionKey, maybe_encrypt
from .errors import StoreCorrupted, StoreError, StoreUnavailable

if TYPE_CHECKING:
    import redis as redis_lib

__all__ = ["RedisStore", "create_redis_store"]

_T = TypeVar("_T")
_WRAPPER_FIELDS = frozenset({"value", "created_at", "updated_at", "expires_at"})
_BATCH = 500

# KEYS[1] = full key; ARGV = value JSON, now (ISO), TTL in ms or "".
# Keeps created_at of an existing record, then writes the wrapper in the TS field order.
_WRITE_SCRIPT = """
local created = ARGV[2]
local old = redis.call('GET', KEYS[1])
if old then
  local ok, rec = pcall(cjson.decode, old)
  if ok and type(rec) == 'table' and type(rec['created_at']) == 'string' then
    created = rec['created_at']
  end
end
local doc = '{"value":' .. ARGV[1] .. ',"created_at":' .. cjson.encode(created) ..
  ',"updated_at":"' .. ARGV[2] .. '"}'
if ARGV[3] ~= '' then
  redis.call('SET', KEYS[1], doc, 'PX', ARGV[3])
else
  redis.call('SET', KEYS[1], doc)
end
return 1
"""


# KEYS[1] = lock key; ARGV[1] = holder token. Deletes the lock only if we still hold it.
_UNLOCK_SCRIPT = """
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0
"""

_UPDATE_ATTEMPTS = 50


def _glob_escape(text: str) -> str:
    for char in "\\*?[]":
        text = text.replace(char, "\\" + char)
    return text


def _as_bytes(raw: object) -> bytes | None:
    """Normalise a reply (bytes, or str for a client created with ``decode_responses=True``)."""
    if raw is None or isinstance(raw, bytes):
        return raw
    if isinstance(raw, str):
        return raw.encode("utf-8")
    raise StoreError(f"unexpected Redis reply of type {type(raw).__name__}")


def _scan_page(client: redis_lib.Redis, *, cursor: int, match: bytes) -> tuple[int, list[bytes]]:
    next_cursor, names = client.scan(cursor=cursor, match=match, count=1000)
    return int(next_cursor), [name for name in (_as_bytes(n) for n in names) if name is not None]


def _mget(client: redis_lib.Redis, *, names: list[bytes]) -> list[bytes | None]:
    return [_as_bytes(raw) for raw in client.mget(names)]


def _delete_many(client: redis_lib.Redis, *, names: list[bytes]) -> int:
    return int(client.delete(*names))


def _is_wrapper(doc: object) -> bool:
    return isinstance(doc, dict) and "created_at" in doc and set(doc) <= _WRAPPER_FIELDS


class RedisStore(BaseStore):
    """Redis-backed store. Connects lazily: constructing it never touches the network.

    Pass ``url`` (``redis://[[user]:password@]host[:port][/db]``, ``rediss://`` for TLS,
    ``unix://``), or the keyword options of the TypeScript store (``host``, ``port``,
    ``password``, ``db``, ``tls``), or an existing ``redis.Redis`` as ``client`` (then its own
    timeouts and retries apply and :meth:`close` leaves it open). Timeouts are in seconds.
    """

    backend = "redis"

    def __init__(
        self,
        url: str | None = None,
        *,
        host: str = "localhost",
        port: int = 6379,
        username: str | None = None,
        password: str | None = None,
        db: int = 0,
        key_prefix: str = "mcp:",
        connect_timeout: float = 5.0,
        socket_timeout: float = 5.0,
        tls: bool = False,
        default_ttl: Duration | None = None,
        client: redis_lib.Redis | None = None,
    ) -> None:
        super().__init__(default_ttl=default_ttl)
        try:
            import redis as redis_lib
            from redis.backoff import NoBackoff
            from redis.retry import Retry
        except ImportError as exc:  # pragma: no cover - depends on the installation
            raise ImportError("the Redis store needs redis-py: pip install 'mcp-tools-core[redis]'") from exc
        self._errors = redis_lib.exceptions
        self.key_prefix = key_prefix
        self.connect_timeout = float(connect_timeout)
        self.socket_timeout = float(socket_timeout)
        self._owns_client = client is None
        if client is None:
            options: dict[str, Any] = {
                "socket_connect_timeout": self.connect_timeout,
                "socket_timeout": self.socket_timeout,
                "retry": Retry(NoBackoff(), 0),
                "decode_responses": False,
            }
            if url is not None:
                client = redis_lib.Redis.from_url(url, **options)
            else:
                client = redis_lib.Redis(
                    host=host, port=port, username=username, password=password, db=db, ssl=tls, **options
                )
        self._client: redis_lib.Redis = client
        conn_kwargs = client.connection_pool.connection_kwargs
        if "path" in conn_kwargs:
            self.endpoint = f"unix:{conn_kwargs['path']}"
        else:
            self.endpoint = f"{conn_kwargs.get('host', 'localhost')}:{conn_kwargs.get('port', 6379)}"
        self._write_script = client.register_script(_WRITE_SCRIPT)
        self._unlock_script = client.register_script(_UNLOCK_SCRIPT)

    # -- plumbing ------------------------------------------------------------------------------

    def _call(self, operation: Callable[[redis_lib.Redis], _T]) -> _T:
        errors = self._errors
        for attempt in (1, 2):
            try:
                return operation(self._client)
            except errors.AuthenticationError as exc:
                raise StoreError(f"Redis at {self.endpoint} refused the credentials: {exc}") from None
            except errors.TimeoutError as exc:
                raise StoreUnavailable(
                    f"Redis at {self.endpoint} did not answer in time (connect_timeout="
                    f"{self.connect_timeout:g}s, socket_timeout={self.socket_timeout:g}s): {exc}"
                ) from None
            except errors.ConnectionError as exc:
                if attempt == 1:
                    continue  # a pooled connection died (server restart); one fresh connection
                raise StoreUnavailable(
                    f"Redis at {self.endpoint} is unreachable "
                    f"(connect_timeout={self.connect_timeout:g}s): {exc}"
                ) from None
            except errors.RedisError as exc:
                raise StoreError(f"Redis at {self.endpoint}: {exc}") from None
        raise AssertionError("unreachable")  # pragma: no cover

    def _full(self, key: str) -> bytes:
        return (self.key_prefix + key).encode("utf-8")

    def _unwrap(self, key: str, raw: bytes) -> JsonValue:
        try:
            doc = json.loads(raw.decode("utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError):
            raise StoreCorrupted(
                f"Redis at {self.endpoint}: key {self.key_prefix + key!r} does not hold JSON", key=key
            ) from None
        if _is_wrapper(doc):
            return doc.get("value")  # type: ignore[no-any-return]
        return doc  # type: ignore[no-any-return]  # JSON written without the wrapper (as TS reads it)

    def _scan(self, prefix: str) -> Iterator[list[tuple[str, bytes | None]]]:
        """Yield batches of (key, raw value) for keys under ``key_prefix + prefix``."""
        pattern = _glob_escape(self.key_prefix + prefix).encode("utf-8") + b"*"
        skip = len(self.key_prefix.encode("utf-8"))
        cursor: int = 0
        while True:
            cursor, names = self._call(partial(_scan_page, cursor=cursor, match=pattern))
            for start in range(0, len(names), _BATCH):
                chunk = names[start : start + _BATCH]
                values = self._call(partial(_mget, names=chunk))
                batch = []
                for name, raw in zip(chunk, values, strict=True):
                    try:
                        batch.append((name[skip:].decode("utf-8"), raw))
                    except UnicodeDecodeError:
                        continue  # not a key this store (or the TS store) could have written
                yield batch
            if cursor == 0:
                return

    @staticmethod
    def _created_at(raw: bytes | None) -> datetime | None:
        if raw is None:
            return None
        try:
            doc = json.loads(raw)
        except (UnicodeDecodeError, json.JSONDecodeError):
            return None
        if not _is_wrapper(doc) or not isinstance(doc.get("created_at"), str):
            return None
        return parse_timestamp(doc["created_at"])

    # -- backend hooks -------------------------------------------------------------------------

    def _read(self, key: str) -> JsonValue:
        full = self._full(key)
        raw = self._call(lambda c: _as_bytes(c.get(full)))
        return None if raw is None else self._unwrap(key, raw)

    def _write(self, key: str, value_json: str, ttl: float | None) -> None:
        full = self._full(key)
        now = iso_timestamp(utcnow())
        ttl_ms = "" if ttl is None else str(max(1, round(ttl * 1000)))
        self._call(lambda c: self._write_script(keys=[full], args=[value_json, now, ttl_ms], client=c))

    def _delete(self, key: str) -> bool:
        full = self._full(key)
        return bool(self._call(lambda c: c.delete(full)))

    def _exists(self, key: str) -> bool:
        full = self._full(key)
        return bool(self._call(lambda c: c.exists(full)))

    def _keys(self, prefix: str) -> list[str]:
        found: list[tuple[float, str]] = []
        for batch in self._scan(prefix):
            for key, raw in batch:
                if raw is None:
                    continue  # expired or deleted between SCAN and MGET
                created = self._created_at(raw)
                found.append((created.timestamp() if created else 0.0, key))
        found.sort()
        return [key for _, key in found]

    def _cleanup(self, older_than: float) -> int:
        cutoff = utcnow() - timedelta(seconds=older_than)
        deleted = 0
        for batch in self._scan(""):
            doomed = []
            for key, raw in batch:
                created = self._created_at(raw)
                # Only records in the wrapper format are aged; foreign values are left alone.
                if created is not None and created < cutoff:
                    doomed.append(self._full(key))
            if doomed:
                deleted += self._call(partial(_delete_many, names=doomed))
        return deleted

    def _stats(self) -> StoreStats:
        total = sum(sum(1 for _, raw in batch if raw is not None) for batch in self._scan(""))
        memory = self._call(lambda c: c.info("memory"))
        server = self._call(lambda c: c.info("server"))
        return {
            "backend": self.backend,
            "total_keys": total,
            "memory_usage": str(memory.get("used_memory_human", "")),
            "redis_info": f"Redis {server.get('redis_version', '?')}",
            "key_prefix": self.key_prefix,
        }

    def _take(self, key: str) -> JsonValue:
        full = self._full(key)
        raw = self._call(lambda c: _as_bytes(c.getdel(full)))  # GETDEL: Redis >= 6.2
        return None if raw is None else self._unwrap(key, raw)

    def _update(self, key: str, compute: Callable[[JsonValue], str], ttl: float | None) -> str:
        full = self._full(key)
        errors = self._errors

        def attempt(client: redis_lib.Redis) -> str | None:
            # Optimistic: WATCH the key, read, compute, then MULTI/EXEC the write; EXEC fails
            # (WatchError) if anyone changed the key in between, and we start over.
            with client.pipeline(transaction=True) as pipe:
                try:
                    pipe.watch(full)  # type: ignore[no-untyped-call]
                    raw = _as_bytes(pipe.get(full))
                    current = None if raw is None else self._unwrap(key, raw)
                    now = iso_timestamp(utcnow())
                    created = now
                    if raw is not None:
                        with contextlib.suppress(ValueError):
                            doc = json.loads(raw)
                            if _is_wrapper(doc) and isinstance(doc.get("created_at"), str):
                                created = doc["created_at"]
                    text = compute(current)
                    record = (
                        '{"value":'
                        + text
                        + ',"created_at":'
                        + json.dumps(created)
                        + ',"updated_at":"'
                        + now
                        + '"}'
                    )
                    pipe.multi()
                    if ttl is None:
                        pipe.set(full, record)
                    else:
                        pipe.set(full, record, px=max(1, round(ttl * 1000)))
                    pipe.execute()
                    return text
                except errors.WatchError:
                    return None

        for _ in range(_UPDATE_ATTEMPTS):
            result = self._call(attempt)
            if result is not None:
                return result
        raise StoreError(
            f"Redis at {self.endpoint}: key {self.key_prefix + key!r} kept changing; gave up after "
            f"{_UPDATE_ATTEMPTS} optimistic update attempts"
        )

    def _lock_key(self, name: str) -> bytes:
        # Outside key_prefix + "..." space used for values, so keys() and cleanup never see it.
        return ("__lock__:" + self.key_prefix + name).encode("utf-8")

    @contextlib.contextmanager
    def _lock_cm(self, name: str, timeout: float, lease: float) -> Iterator[None]:
        full = self._lock_key(name)
        token = secrets.token_hex(16)
        lease_ms = max(1, round(lease * 1000))

        def acquire() -> bool:
            return bool(self._call(lambda c: c.set(full, token, nx=True, px=lease_ms)))

        poll_for_lock(acquire, timeout, f"lock {name!r} on Redis at {self.endpoint}")
        try:
            yield
        finally:
            self._call(lambda c: self._unlock_script(keys=[full], args=[token], client=c))

    def _lock(self, name: str, timeout: float, lease: float) -> contextlib.AbstractContextManager[None]:
        return self._lock_cm(name, timeout, lease)

    def _close(self) -> None:
        if self._owns_client:
            self._client.close()


def create_redis_store(
    url: str | None = None,
    *,
    host: str = "localhost",
    port: int = 6379,
    username: str | None = None,
    password: str | None = None,
    db: int = 0,
    key_prefix: str = "mcp:",
    connect_timeout: float = 5.0,
    socket_timeout: float = 5.0,
    tls: bool = False,
    default_ttl: Duration | None = None,
    client: redis_lib.Redis | None = None,
    encryption_keys: Sequence[EncryptionKey] | None = None,
    allow_plaintext: bool = False,
) -> BaseStore:
    """Create a :class:`RedisStore` (TS ``createRedisStore``; TS ``ttl`` is ``default_ttl`` here).

    With ``encryption_keys`` the store is wrapped in an :class:`EncryptedStore`.
    """
    store = RedisStore(
        url,
        host=host,
        port=port,
        username=username,
        password=password,
        db=db,
        key_prefix=key_prefix,
        connect_timeout=connect_timeout,
        socket_timeout=socket_timeout,
        tls=tls,
        default_ttl=default_ttl,
        client=client,
    )
    return maybe_encrypt(store, encryption_keys, allow_plaintext=allow_plaintext)
