"""Safe defaults for stored secrets (issue 22, item 8): keys derived from the app's secret, a
warning for a persistent store that would keep tokens in clear."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from mcp_tools.stores import (
    StoreDecryptionError,
    create_fs_store,
    create_memory_store,
    derive_encryption_keys,
    store_from_url,
)

SECRETS = {"accessToken": "at-SECRET-1", "refreshToken": "rt-SECRET-2", "clientSecret": "cs-SECRET-3"}


def raw_bytes(directory: Path) -> bytes:
    """Everything the store left on disk, read without the store."""
    return b"".join(path.read_bytes() for path in sorted(directory.rglob("*")) if path.is_file())


def test_derived_keys_are_stable_distinct_and_skip_empty_secrets() -> None:
    keys = derive_encryption_keys("new-secret", ["", "old-secret"])
    assert len(keys) == 2
    assert keys == derive_encryption_keys("new-secret", ["old-secret"])
    assert keys[0] != keys[1]
    assert "new-secret" not in keys[0]
    assert derive_encryption_keys(None) == []
    assert derive_encryption_keys("") == []


def test_a_secret_encrypts_the_store_and_rotation_keeps_it_readable(tmp_path: Path) -> None:
    url = f"file://{tmp_path}/store.json"
    store_from_url(url, secret="old-secret").write("session_a", SECRETS)
    on_disk = raw_bytes(tmp_path)
    assert on_disk  # the store wrote something
    for value in SECRETS.values():
        assert value.encode() not in on_disk
    rotated = store_from_url(url, secret="new-secret", secret_fallbacks=["old-secret"])
    assert rotated.read("session_a") == SECRETS
    with pytest.raises(StoreDecryptionError):
        store_from_url(url, secret="new-secret").read("session_a")


def test_entries_written_in_clear_still_read_and_are_encrypted_on_their_next_write(tmp_path: Path) -> None:
    url = f"file://{tmp_path}/store.json"
    store_from_url(url, encryption_keys=[]).write("session_old", SECRETS)
    assert b"at-SECRET-1" in raw_bytes(tmp_path)  # the legacy layout
    store = store_from_url(url, secret="app-secret")
    assert store.read("session_old") == SECRETS
    store.write("session_old", SECRETS)
    assert b"at-SECRET-1" not in raw_bytes(tmp_path)


def test_a_persistent_store_without_keys_warns(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING, logger="mcp_tools.stores"):
        create_fs_store(str(tmp_path / "a.json"))
    assert any("in clear" in record.getMessage() for record in caplog.records)
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="mcp_tools.stores"):
        create_fs_store(str(tmp_path / "b.json"), encryption_keys=[])  # in clear on purpose
        create_memory_store()  # nothing persisted
        store_from_url(f"file://{tmp_path}/c.json", secret="app-secret")
    assert not [record for record in caplog.records if "in clear" in record.getMessage()]
