"""fs store specifics: atomic replace, permissions, corruption handling, TS file layout."""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path

import pytest

from mcp_tools.stores import FsStore, StoreCorrupted, create_fs_store

from .test_ts_compat import ts_vector


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_file_and_lock_are_private_and_dirs_created(tmp_path: Path) -> None:
    path = tmp_path / "nested" / "deeper" / "store.json"
    old_umask = os.umask(0)  # even with a permissive umask
    try:
        store = FsStore(path)
        store.write("k", "v")
    finally:
        os.umask(old_umask)
    assert mode(path) == 0o600
    assert mode(path.with_name("store.json.lock")) == 0o600
    assert store.stats()["file_path"] == str(path)


def test_existing_world_readable_file_becomes_private_on_write(tmp_path: Path) -> None:
    path = tmp_path / "store.json"
    path.write_text("{}")
    path.chmod(0o644)
    FsStore(path).write("k", 1)
    assert mode(path) == 0o600


def test_no_temporary_files_are_left_behind(tmp_path: Path) -> None:
    store = FsStore(tmp_path / "store.json")
    for i in range(20):
        store.write(f"k{i}", i)
    store.delete("k0")
    store.cleanup(0)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["store.json", "store.json.lock"]


def test_layout_is_the_ts_layout(tmp_path: Path) -> None:
    vector = ts_vector("stores/fs:createFsStore")
    path = tmp_path / "store.json"
    store = FsStore(path)
    for trip in vector["roundtrips"]:
        if "written" in trip and trip["key"] != "undef":
            store.write(trip["key"], trip["written"])
    text = path.read_text(encoding="utf-8")
    assert text.startswith(vector["file_format_first_lines"])
    data = json.loads(text)
    assert text == json.dumps(data, indent=2, ensure_ascii=False)  # JSON.stringify(data, null, 2)
    assert list(data["session_x"]) == vector["file_entry_shape_example"]
    created = data["session_x"]["created_at"]
    assert created.endswith("Z")
    assert len(created) == len("2026-11-26T05:53:35.074Z")


def test_ttl_adds_expires_at_only_when_set(tmp_path: Path) -> None:
    path = tmp_path / "store.json"
    store = FsStore(path)
    store.write("a", 1)
    store.write("b", 2, ttl=60)
    data = json.loads(path.read_text())
    assert "expires_at" not in data["a"]
    assert data["b"]["expires_at"].endswith("Z")


def test_truncated_file_is_reported_and_left_untouched(tmp_path: Path) -> None:
    path = tmp_path / "store.json"
    store = FsStore(path)
    for i in range(30):
        store.write(f"session_{i}", {"token": f"t{i}", "n": i})
    full = path.read_bytes()
    path.write_bytes(full[: len(full) // 2])  # a writer that died half-way (as the TS store could)
    damaged = path.read_bytes()
    for operation in (
        lambda: store.read("session_1"),
        lambda: store.write("new", 1),
        lambda: store.delete("session_1"),
        lambda: store.exists("session_1"),
        lambda: store.keys(),
        lambda: store.cleanup(0),
        lambda: store.stats(),
    ):
        with pytest.raises(StoreCorrupted) as info:
            operation()
        assert str(path) in str(info.value)
        assert info.value.path == str(path)
    assert path.read_bytes() == damaged  # never reset to {} or rewritten
    with pytest.raises(StoreCorrupted):
        FsStore(path).write("other", 1)  # nor by another instance
    assert path.read_bytes() == damaged


@pytest.mark.parametrize("content", [b"[1, 2]", b'"text"', b'{"k": 5}', b"\xff\xfe{}"])
def test_unusable_file_contents_are_reported(tmp_path: Path, content: bytes) -> None:
    path = tmp_path / "store.json"
    path.write_bytes(content)
    with pytest.raises(StoreCorrupted, match=r"store\.json"):
        FsStore(path).write("k", 1)
    assert path.read_bytes() == content


def test_empty_file_is_an_empty_store(tmp_path: Path) -> None:
    path = tmp_path / "store.json"
    path.touch()
    store = FsStore(path)
    assert store.read("k") is None
    store.write("k", 1)
    assert store.read("k") == 1


def test_compact_foreign_layout_is_read_and_rewritten_canonically(tmp_path: Path) -> None:
    path = tmp_path / "store.json"
    path.write_text(json.dumps({"a": {"value": "x", "created_at": "2026-01-01T00:00:00.000Z"}}))
    store = FsStore(path)
    assert store.read("a") == "x"
    store.write("b", "y")
    data = json.loads(path.read_text())
    assert data["a"] == {"value": "x", "created_at": "2026-01-01T00:00:00.000Z"}
    assert path.read_text() == json.dumps(data, indent=2)


def test_two_instances_share_one_file(tmp_path: Path) -> None:
    path = tmp_path / "store.json"
    first, second = FsStore(path), create_fs_store(path)
    first.write("a", 1)
    second.write("b", 2)
    first.write("c", 3)
    assert second.keys() == ["a", "b", "c"]
    assert first.read("b") == 2


def test_non_durable_mode_still_writes_atomically(tmp_path: Path) -> None:
    store = FsStore(tmp_path / "store.json", durable=False)
    store.write("k", {"v": 1})
    assert store.read("k") == {"v": 1}
