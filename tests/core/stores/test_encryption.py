"""Encryption at rest: rotation, unknown keys, plaintext and tampering are all loud."""

from __future__ import annotations

import pytest

from mcp_tools.stores import (
    EncryptedStore,
    MemoryStore,
    StoreDecryptionError,
    create_sqlite_store,
    generate_encryption_key,
)

from .conftest import Case


def test_rotation_on_every_backend(plain_case: Case) -> None:
    case = plain_case
    old, new, stranger = (generate_encryption_key() for _ in range(3))
    case.make(encryption_keys=[old]).write("session_a", {"accessToken": "old-secret"})
    rotated = case.make(encryption_keys=[new, old])
    assert rotated.read("session_a") == {"accessToken": "old-secret"}  # old key still decrypts
    rotated.write("session_b", {"accessToken": "new-secret"})  # new writes use the new key
    only_new = case.make(encryption_keys=[new])
    assert only_new.read("session_b") == {"accessToken": "new-secret"}
    with pytest.raises(StoreDecryptionError, match="session_a"):
        only_new.read("session_a")
    wrong = case.make(encryption_keys=[stranger])
    for key in ("session_a", "session_b"):
        with pytest.raises(StoreDecryptionError, match="none of the 1 configured"):
            wrong.read(key)  # never a silent None
    assert wrong.exists("session_a") is True
    assert sorted(wrong.keys()) == ["session_a", "session_b"]


def test_plaintext_entries_are_refused_unless_migrating(plain_case: Case) -> None:
    case = plain_case
    key = generate_encryption_key()
    case.make(encryption_keys=[]).write("legacy", "written before encryption")
    strict = case.make(encryption_keys=[key])
    with pytest.raises(StoreDecryptionError, match="not encrypted"):
        strict.read("legacy")
    migrating = case.make(encryption_keys=[key], allow_plaintext=True)
    assert migrating.read("legacy") == "written before encryption"
    migrating.write("legacy", "now encrypted")
    assert strict.read("legacy") == "now encrypted"


def test_ciphertext_moved_to_another_key_is_refused() -> None:
    inner = MemoryStore()
    store = EncryptedStore(inner, [generate_encryption_key()])
    store.write("session_victim", {"accessToken": "victim"})
    inner.write("session_attacker", inner.read("session_victim"))  # copy the envelope verbatim
    with pytest.raises(StoreDecryptionError, match="different key"):
        store.read("session_attacker")


def test_tampered_ciphertext_is_refused() -> None:
    inner = MemoryStore()
    store = EncryptedStore(inner, [generate_encryption_key()])
    store.write("k", "secret")
    envelope = inner.read("k")
    assert isinstance(envelope, dict)
    token = str(envelope["ciphertext"])
    envelope["ciphertext"] = token[:-6] + ("A" if token[-6] != "A" else "B") + token[-5:]
    inner.write("k", envelope)
    with pytest.raises(StoreDecryptionError):
        store.read("k")


def test_envelope_layout_and_null() -> None:
    inner = MemoryStore()
    store = EncryptedStore(inner, [generate_encryption_key()])
    store.write("k", None)
    envelope = inner.read("k")
    assert isinstance(envelope, dict)
    assert sorted(envelope) == ["__mcp_tools_encrypted__", "alg", "ciphertext"]
    assert envelope["alg"] == "fernet"
    assert store.read("k") is None
    assert store.exists("k") is True


def test_bad_keys_are_rejected() -> None:
    with pytest.raises(ValueError, match="at least one key"):
        EncryptedStore(MemoryStore(), [])
    with pytest.raises(ValueError, match="not a Fernet key"):
        EncryptedStore(MemoryStore(), ["too-short"])
    with pytest.raises(TypeError, match="list of Fernet keys"):
        EncryptedStore(MemoryStore(), generate_encryption_key())


def test_factory_option_wraps_the_store(tmp_path: object) -> None:
    from pathlib import Path

    assert isinstance(tmp_path, Path)
    key = generate_encryption_key()
    store = create_sqlite_store(tmp_path / "s.db", encryption_keys=[key])
    assert isinstance(store, EncryptedStore)
    store.write("k", "v")
    assert b'"v"' not in (tmp_path / "s.db").read_bytes()
    stats = store.stats()
    assert stats["encrypted"] is True
    assert stats["backend"] == "sqlite"
