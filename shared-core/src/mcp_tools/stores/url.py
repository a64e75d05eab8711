"""Create a store from one URL string, so framework settings can name a store in one line.

=====================================  ==================================================
``memory://``                          :class:`MemoryStore`
``file:///abs/path/store.json``        :class:`FsStore` (absolute path)
``sqlite:///relative.db``              :class:`SqliteStore`, path relative to the cwd
``sqlite:////abs/path/store.db``       :class:`SqliteStore`, absolute path
``redis://[user:pw@]host:port/db``     :class:`RedisStore` (``rediss://`` TLS, ``unix://`` socket)
``postgresql://user:pw@host/db``       :class:`PostgresStore` (``postgres://`` too)
=====================================  ==================================================

Store options may be given as query parameters (``?table_name=tokens``, ``?key_prefix=app:``,
``?default_ttl=3600``, ``?connect_timeout=2``) or as keyword arguments, which win. Other query
parameters are left in the URL for the driver (``sslmode=require`` for libpq, for example).
Encryption keys are secrets and are never read from the URL: pass ``encryption_keys=[...]``, or
``secret=`` (and ``secret_fallbacks=``) to derive them from the application's secret (see
:func:`~mcp_tools.stores.encryption.derive_encryption_keys`; the adapters do it with the framework's).
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import Any
from urllib.parse import parse_qsl, unquote, urlencode, urlsplit, urlunsplit

from .base import BaseStore
from .encryption import derive_encryption_keys
from .fs import create_fs_store
from .memory import create_memory_store
from .postgres import create_postgres_store
from .redis import create_redis_store
from .sqlite import create_sqlite_store

__all__ = ["store_from_url"]

_FLOAT_OPTIONS = {"default_ttl", "connect_timeout", "socket_timeout", "timeout"}
_INT_OPTIONS = {"min_size", "max_size"}
_BOOL_OPTIONS = {"durable", "enable_wal", "allow_plaintext"}
_STORE_OPTIONS = {
    "memory": {"default_ttl", "allow_plaintext"},
    "file": {"default_ttl", "durable", "allow_plaintext"},
    "sqlite": {"default_ttl", "table_name", "timeout", "enable_wal", "durable", "allow_plaintext"},
    "redis": {"default_ttl", "key_prefix", "connect_timeout", "socket_timeout", "allow_plaintext"},
    "postgres": {
        "default_ttl",
        "table_name",
        "connect_timeout",
        "min_size",
        "max_size",
        "allow_plaintext",
    },
}
_KIND = {
    "memory": "memory",
    "file": "file",
    "sqlite": "sqlite",
    "redis": "redis",
    "rediss": "redis",
    "unix": "redis",
    "postgresql": "postgres",
    "postgres": "postgres",
}


def _convert(name: str, text: str) -> Any:
    if name in _FLOAT_OPTIONS:
        return float(text)
    if name in _INT_OPTIONS:
        return int(text)
    if name in _BOOL_OPTIONS:
        lowered = text.lower()
        if lowered not in {"1", "0", "true", "false", "yes", "no", "on", "off"}:
            raise ValueError(f"store URL option {name}={text!r} is not a boolean")
        return lowered in {"1", "true", "yes", "on"}
    return text


def _split_options(url: str, kind: str) -> tuple[str, dict[str, Any]]:
    """Remove this library's options from the query string; return the cleaned URL and them."""
    parts = urlsplit(url)
    mine: dict[str, Any] = {}
    kept = []
    for name, text in parse_qsl(parts.query, keep_blank_values=True):
        if name in _STORE_OPTIONS[kind]:
            mine[name] = _convert(name, text)
        else:
            kept.append((name, text))
    if kind in {"memory", "file", "sqlite"} and kept:
        raise ValueError(f"unknown option(s) in store URL: {', '.join(sorted(n for n, _ in kept))}")
    cleaned = urlunsplit((parts.scheme, parts.netloc, parts.path, urlencode(kept), parts.fragment))
    return cleaned, mine


def store_from_url(
    url: str,
    *,
    secret: str | bytes | None = None,
    secret_fallbacks: Sequence[str | bytes] = (),
    **options: Any,
) -> BaseStore:
    """Create a store from ``url`` (see the module docstring for the schemes).

    ``options`` are passed to the matching ``create_*_store`` factory (``encryption_keys``,
    ``table_name``, ``key_prefix``, timeouts, ...) and override query parameters of the URL.
    With ``secret`` and no ``encryption_keys``, the keys are derived from ``secret`` and
    ``secret_fallbacks`` (rotation), and entries written in clear before still read
    (``allow_plaintext`` defaults to true then; they are encrypted on their next write).
    """
    if secret and "encryption_keys" not in options:
        options["encryption_keys"] = derive_encryption_keys(secret, secret_fallbacks)
        options.setdefault("allow_plaintext", True)
    scheme = url.split(":", 1)[0].lower() if ":" in url else ""
    kind = _KIND.get(scheme)
    if kind is None:
        raise ValueError(
            "unsupported store URL scheme "
            f"{scheme!r}: use memory://, file:///path, sqlite:///path, redis://, rediss:// or postgresql://"
        )
    cleaned, from_query = _split_options(url, kind)
    merged = {**from_query, **options}
    parts = urlsplit(url)  # not `cleaned`: urlunsplit drops the empty authority of sqlite:////abs
    if kind == "memory":
        return create_memory_store(**merged)
    if kind == "file":
        if parts.netloc not in ("", "localhost") or not parts.path:
            raise ValueError("file store URLs look like file:///absolute/path/store.json")
        return create_fs_store(unquote(parts.path), **merged)
    if kind == "sqlite":
        if parts.netloc or not parts.path.startswith("/") or parts.path == "/":
            raise ValueError(
                "SQLite store URLs look like sqlite:///relative.db or sqlite:////absolute/path.db"
            )
        path = unquote(parts.path[1:])  # sqlite:///x.db -> "x.db"; sqlite:////tmp/x.db -> "/tmp/x.db"
        return create_sqlite_store(os.path.expanduser(path), **merged)
    if kind == "redis":
        return create_redis_store(cleaned, **merged)
    return create_postgres_store(cleaned, **merged)
