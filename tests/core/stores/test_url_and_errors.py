"""store_from_url, and the skip-or-fail rule for missing services."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from mcp_tools.stores import (
    EncryptedStore,
    FsStore,
    MemoryStore,
    PostgresStore,
    RedisStore,
    SqliteStore,
    generate_encryption_key,
    store_from_url,
)

from . import conftest


def test_memory_and_file(tmp_path: Path) -> None:
    assert isinstance(store_from_url("memory://"), MemoryStore)
    store = store_from_url(f"file://{tmp_path}/dir/store.json?durable=false")
    assert isinstance(store, FsStore)
    assert store.path == tmp_path / "dir" / "store.json"
    assert store.durable is False


def test_sqlite_absolute_and_relative(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    absolute = store_from_url(f"sqlite:///{tmp_path}/abs.db?table_name=tokens&timeout=2")
    assert isinstance(absolute, SqliteStore)
    assert absolute.path == tmp_path / "abs.db"
    assert absolute.table_name == "tokens"
    assert absolute.timeout == 2.0
    monkeypatch.chdir(tmp_path)
    relative = store_from_url("sqlite:///rel.db")
    assert isinstance(relative, SqliteStore)
    assert relative.path == tmp_path / "rel.db"
    absolute.close()
    relative.close()


def test_redis_and_postgres_do_not_connect_at_creation() -> None:
    redis_store = store_from_url("redis://:pw@127.0.0.1:1/3?key_prefix=app:&connect_timeout=0.5")
    assert isinstance(redis_store, RedisStore)
    assert redis_store.key_prefix == "app:"
    assert redis_store.connect_timeout == 0.5
    assert redis_store.endpoint == "127.0.0.1:1"
    assert isinstance(store_from_url("rediss://127.0.0.1:1/0"), RedisStore)
    for scheme in ("postgresql", "postgres"):
        pg = store_from_url(f"{scheme}://u:p@127.0.0.1:1/db?sslmode=disable&table_name=t1", connect_timeout=1)
        assert isinstance(pg, PostgresStore)
        assert pg.table_name == "t1"
        assert pg.endpoint == "127.0.0.1:1"
        assert "sslmode=disable" in pg.conninfo.replace("'", "")


def test_keyword_options_win_and_encryption(tmp_path: Path) -> None:
    store = store_from_url(
        f"sqlite:///{tmp_path}/s.db?table_name=a", table_name="b", encryption_keys=[generate_encryption_key()]
    )
    assert isinstance(store, EncryptedStore)
    assert isinstance(store.inner, SqliteStore)
    assert store.inner.table_name == "b"


@pytest.mark.parametrize(
    "url",
    ["mysql://x/y", "nonsense", "sqlite://host/x.db", "sqlite:///", "file://host/x", "file:///x?bogus=1"],
)
def test_bad_urls(url: str) -> None:
    with pytest.raises(ValueError):
        store_from_url(url)


def test_missing_service_skips_locally_and_fails_in_ci(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(conftest, "IN_CI", False)
    with pytest.raises(pytest.skip.Exception, match="down"):
        conftest.unavailable("server down")
    monkeypatch.setattr(conftest, "IN_CI", True)
    with pytest.raises(pytest.fail.Exception, match="CI=true"):
        conftest.unavailable("server down")


def test_ci_flag_reads_the_environment() -> None:
    expected = os.environ.get("CI", "").strip().lower() in {"1", "true", "yes"}
    assert conftest.IN_CI is expected
