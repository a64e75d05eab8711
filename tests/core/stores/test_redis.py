"""Redis store specifics against real servers: failures, restarts, options, SCAN."""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator

import pytest

from mcp_tools.stores import RedisStore, StoreUnavailable, create_redis_store

from ._servers import OwnRedis
from .conftest import REDIS_URL, free_port, require_redis

pytestmark = pytest.mark.redis


def test_unreachable_server_fails_fast_with_a_clear_error() -> None:
    port = free_port()  # nothing listens there
    started = time.monotonic()
    store = create_redis_store(host="127.0.0.1", port=port, connect_timeout=1)
    assert time.monotonic() - started < 0.5  # construction does not connect
    for operation in (lambda: store.read("k"), lambda: store.write("k", 1), lambda: store.keys()):
        started = time.monotonic()
        with pytest.raises(StoreUnavailable) as info:
            operation()
        assert time.monotonic() - started < 1 + 1
        assert f"127.0.0.1:{port}" in str(info.value)
        assert "connect_timeout=1s" in str(info.value)
    store.close()


@pytest.fixture
def silent_server() -> Iterator[int]:
    """A socket that accepts TCP connections (kernel backlog) but never answers."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen(16)
        yield int(sock.getsockname()[1])


def test_server_that_never_answers_times_out(silent_server: int) -> None:
    store = create_redis_store(host="127.0.0.1", port=silent_server, connect_timeout=0.5, socket_timeout=0.5)
    started = time.monotonic()
    with pytest.raises(StoreUnavailable) as info:
        store.read("k")
    assert time.monotonic() - started < 0.5 + 1
    assert f"127.0.0.1:{silent_server}" in str(info.value)
    assert "socket_timeout=0.5s" in str(info.value)
    store.close()


def test_server_restart_mid_use_reconnects() -> None:
    require_redis()
    server = OwnRedis()
    try:
        server.start()
        store = create_redis_store(f"redis://127.0.0.1:{server.port}/0", connect_timeout=2)
        store.write("session_x", {"token": "t"})
        assert store.read("session_x") == {"token": "t"}
        server.stop()
        with pytest.raises(StoreUnavailable):
            store.read("session_x")
        server.start()
        assert store.read("session_x") == {"token": "t"}  # pooled connection was dead: reconnected
        store.write("after", 1)
        assert store.keys() == ["session_x", "after"]
        store.close()
    finally:
        server.remove()


def test_keyword_options_and_url_are_equivalent(redis_prefix: str) -> None:
    from urllib.parse import urlsplit

    parts = urlsplit(REDIS_URL)
    db = int(parts.path.strip("/") or 0)
    by_url = create_redis_store(REDIS_URL, key_prefix=redis_prefix)
    by_keywords = RedisStore(
        host=parts.hostname or "127.0.0.1", port=parts.port or 6379, db=db, key_prefix=redis_prefix
    )
    by_url.write("k", "v")
    assert by_keywords.read("k") == "v"
    assert by_keywords.endpoint == f"{parts.hostname}:{parts.port or 6379}"
    by_url.close()
    by_keywords.close()


def test_existing_client_is_used_and_left_open(redis_prefix: str) -> None:
    import redis

    client = redis.Redis.from_url(REDIS_URL, decode_responses=True)
    store = RedisStore(client=client, key_prefix=redis_prefix)
    store.write("k", {"x": "ü"})
    assert store.read("k") == {"x": "ü"}
    assert store.keys() == ["k"]
    store.close()
    assert client.ping() is True
    client.close()


def test_many_keys_are_scanned_not_listed(redis_prefix: str) -> None:
    store = create_redis_store(REDIS_URL, key_prefix=redis_prefix)
    import redis

    client = redis.Redis.from_url(REDIS_URL)
    pipe = client.pipeline()
    for i in range(1500):  # more than one SCAN page and one MGET batch
        pipe.set(
            f"{redis_prefix}bulk_{i:04d}",
            '{"value":1,"created_at":"2026-01-01T00:00:00.000Z","updated_at":"x"}',
        )
    pipe.execute()
    client.close()
    keys = store.keys("bulk_")
    assert len(keys) == 1500
    assert keys == sorted(keys)  # equal created_at: ordered by key
    assert store.stats()["total_keys"] == 1500
    assert store.cleanup(1) == 1500  # created long ago
    store.close()


def test_default_ttl_is_native(redis_prefix: str) -> None:
    import redis

    store = create_redis_store(REDIS_URL, key_prefix=redis_prefix, default_ttl=60)
    store.write("k", 1)
    client = redis.Redis.from_url(REDIS_URL)
    assert 0 < client.pttl(redis_prefix + "k") <= 60_000
    client.close()
    store.close()
