"""The store contract: every store, plain and encrypted, behaves the same way.

The ``case``/``store`` fixtures (conftest.py) run each test against memory, fs, SQLite, Redis and
PostgreSQL, each with and without encryption at rest.
"""

from __future__ import annotations

import math
import time
from datetime import timedelta
from typing import Any

import pytest

from mcp_tools.stores import AsyncStore, BaseStore, Store, StoreClosed

from .conftest import Case

# Every JSON type, and the strings the TypeScript PostgreSQL store could not round-trip.
VALUES: dict[str, Any] = {
    "empty_string": "",
    "plain_string": "hello",
    "uuid_state": "6f1c2f9e-3c1b-4f0e-9a51-2b7f0c1d9e11",
    "pkce_verifier": "Id4J-rsMh3zPMYOQhzR_-AbzmuUWgVF2JJHZmJ5.-9a",
    "numeric_string": "123",
    "negative_float_string": "-1.5",
    "json_object_string": '{"a":1}',
    "json_array_string": "[1,2]",
    "null_string": "null",
    "true_string": "true",
    "quoted_string": '"quoted"',
    "whitespace_string": "  spaced  ",
    "control_chars": "line\nbreak\ttab\r\x01",
    "backslashes": "back\\slash \\u0041",
    "unicode": "unicode ü ß 日本 😀 \u2028",
    "large_string": "x" * 100_000,
    "zero": 0,
    "int": 42,
    "negative_int": -7,
    "big_int": 2**53 + 1,
    "huge_int": 10**30,
    "float": 3.14,
    "negative_float": -0.5,
    "small_float": 1e-7,
    "integral_float": 1.0,
    "true": True,
    "false": False,
    "null": None,
    "empty_list": [],
    "empty_object": {},
    "mixed_list": [1, "two", {"three": 3}, None, False, 2.5],
    "nested": {"a": {"b": [{"c": [None, True, 1.5, "d"]}]}, "e": []},
    "unicode_keys": {"ünï": "çødé", "日本": ["語"]},
    "session": {
        "mcpEndpoint": "https://mcp.example.com/mcp",
        "oauthRedirectUrl": "https://app.example.com/cb",
        "mcpClientName": "app",
        "mcpClientVersion": "1.0.0",
        "clientId": "c",
        "clientSecret": "s3cret",
        "accessToken": "at",
        "refreshToken": "rt",
        "authComplete": True,
    },
}


def typed(value: Any) -> Any:
    """A representation that tells 1 from 1.0 from True and "1" from 1."""
    if isinstance(value, dict):
        return {k: typed(v) for k, v in value.items()}
    if isinstance(value, list):
        return [typed(v) for v in value]
    return (type(value).__name__, value)


def test_store_satisfies_protocol(store: BaseStore) -> None:
    assert isinstance(store, Store)


def test_round_trip_of_every_json_type(store: BaseStore) -> None:
    for name, value in VALUES.items():
        store.write(name, value)
    got = {name: store.read(name) for name in VALUES}
    assert typed(got) == typed(VALUES)


def test_round_trip_survives_a_new_store_instance(case: Case) -> None:
    first = case.make()
    for name, value in VALUES.items():
        first.write(name, value)
    if case.backend != "memory":  # memory storage ends with close(); the others persist
        first.close()
    second = case.make()
    assert typed({name: second.read(name) for name in VALUES}) == typed(VALUES)


def test_tuple_and_mapping_inputs_come_back_as_json(store: BaseStore) -> None:
    store.write("t", (1, 2, ("x",)))
    assert store.read("t") == [1, 2, ["x"]]


def test_missing_key(store: BaseStore) -> None:
    assert store.read("missing") is None
    assert store.exists("missing") is False
    assert store.delete("missing") is False
    assert store.keys() == []


def test_null_is_stored_and_reads_as_none(store: BaseStore) -> None:
    store.write("nil", None)
    assert store.read("nil") is None
    assert store.exists("nil") is True
    assert store.keys() == ["nil"]


def test_overwrite_replaces_value_and_keeps_created_at_order(store: BaseStore) -> None:
    store.write("a", "first")
    time.sleep(0.01)
    store.write("b", "second")
    time.sleep(0.01)
    store.write("a", "changed")  # created_at of "a" must survive, so "a" stays first
    assert store.read("a") == "changed"
    assert store.keys() == ["a", "b"]


def test_delete_and_exists(store: BaseStore) -> None:
    store.write("k", {"x": 1})
    assert store.exists("k") is True
    assert store.delete("k") is True
    assert store.exists("k") is False
    assert store.read("k") is None
    assert store.delete("k") is False


def test_keys_with_prefix_filter(store: BaseStore) -> None:
    names = ["state_a", "session_x", "pkce_verifier_a", "state_b", "a*b", "a%b", "a_b", "a[b]", "ab"]
    for name in names:
        store.write(name, 1)
        time.sleep(0.002)
    assert store.keys() == names
    assert store.keys("state_") == ["state_a", "state_b"]
    assert store.keys("session_") == ["session_x"]
    assert store.keys("nothing") == []
    # Glob (Redis) and LIKE (SQL) metacharacters in a prefix are literal.
    assert store.keys("a*") == ["a*b"]
    assert store.keys("a%") == ["a%b"]
    assert store.keys("a_") == ["a_b"]
    assert store.keys("a[") == ["a[b]"]


def test_ttl_expiry(store: BaseStore) -> None:
    store.write("short", "gone soon", ttl=0.3)
    store.write("short_td", {"v": 1}, ttl=timedelta(milliseconds=300))
    store.write("kept", "stays")
    store.write("renewed", "x", ttl=0.3)
    store.write("renewed", "y")  # a write without TTL makes the entry permanent again
    assert store.read("short") == "gone soon"
    assert store.exists("short_td") is True
    assert store.stats()["total_keys"] == 4
    time.sleep(0.45)
    assert store.read("short") is None
    assert store.read("short_td") is None
    assert store.exists("short") is False
    assert store.delete("short") is False
    assert store.read("renewed") == "y"
    assert sorted(store.keys()) == ["kept", "renewed"]
    assert store.stats()["total_keys"] == 2
    store.cleanup()  # purges expired entries (Redis has already dropped them)
    assert sorted(store.keys()) == ["kept", "renewed"]
    store.write("short", "again")  # an expired key can be written afresh
    assert store.read("short") == "again"


def test_default_ttl(case: Case) -> None:
    store = case.make(default_ttl=0.3)
    store.write("a", 1)
    store.write("b", 2, ttl=60)
    time.sleep(0.45)
    assert store.read("a") is None
    assert store.read("b") == 2


@pytest.mark.parametrize("bad", [0, -1, math.nan, math.inf, timedelta(0)])
def test_invalid_ttl_is_rejected(store: BaseStore, bad: Any) -> None:
    with pytest.raises(ValueError, match="ttl"):
        store.write("k", 1, ttl=bad)
    assert store.exists("k") is False


def test_cleanup_by_age(store: BaseStore) -> None:
    store.write("old", 1)
    time.sleep(0.3)
    store.write("new", 2)
    assert store.cleanup() == 0  # default: 30 days
    assert store.cleanup(30) == 0  # a number is days, as in TS
    assert store.cleanup(timedelta(seconds=0.15)) == 1
    assert store.keys() == ["new"]
    assert store.cleanup(0) == 1
    assert store.keys() == []
    assert store.stats()["total_keys"] == 0
    with pytest.raises(ValueError, match="older_than"):
        store.cleanup(-1)


def test_cleanup_counts_expired_entries(store: BaseStore) -> None:
    store.write("expiring", 1, ttl=0.2)
    store.write("fresh", 2)
    time.sleep(0.3)
    removed = store.cleanup()
    assert removed in (0, 1)  # Redis expires natively, so nothing is left for cleanup there
    assert store.keys() == ["fresh"]


def test_stats(case: Case, store: BaseStore) -> None:
    assert store.stats()["total_keys"] == 0
    store.write("a", 1)
    store.write("b", "two")
    stats = store.stats()
    assert stats["total_keys"] == 2
    assert stats["backend"] == case.backend
    assert stats.get("encrypted", False) is case.encrypted


def test_invalid_keys_and_values(store: BaseStore) -> None:
    with pytest.raises(TypeError):
        store.write(123, 1)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="empty"):
        store.read("")
    with pytest.raises(ValueError, match="not JSON-serialisable"):
        store.write("nan", math.nan)
    with pytest.raises(TypeError, match="not JSON-serialisable"):
        store.write("obj", object())  # type: ignore[arg-type]
    assert store.keys() == []


def test_close(case: Case, store: BaseStore) -> None:
    store.write("k", 1)
    store.close()
    store.close()  # idempotent
    assert store.closed
    with pytest.raises(StoreClosed):
        store.read("k")
    with pytest.raises(StoreClosed):
        store.write("k", 2)
    with pytest.raises(StoreClosed):
        store.keys()


def test_context_manager_closes(case: Case) -> None:
    with case.make() as store:
        store.write("k", 1)
    assert store.closed


def test_raw_storage_never_holds_plaintext_when_encrypted(case: Case, store: BaseStore) -> None:
    secret = "sk_live_TOPSECRET_4242"
    store.write("session_abc", {"clientSecret": secret, "accessToken": secret + "_at"})
    store.write("pkce_verifier_xyz", secret + "_verifier")
    raw = case.raw()
    assert b"session_abc" in raw  # key names stay readable
    assert b"pkce_verifier_xyz" in raw
    if case.encrypted:
        assert secret.encode() not in raw
        assert b"clientSecret" not in raw
    else:
        assert secret.encode() in raw  # the raw reader really sees the stored bytes
    assert store.read("pkce_verifier_xyz") == secret + "_verifier"


@pytest.mark.anyio
async def test_async_wrapper(store: BaseStore) -> None:
    async with AsyncStore(store) as astore:
        await astore.write("state_s", "session-1", ttl=60)
        await astore.write("session_x", VALUES["session"])
        assert await astore.read("state_s") == "session-1"
        assert await astore.read("session_x") == VALUES["session"]
        assert await astore.exists("state_s") is True
        assert await astore.keys("state_") == ["state_s"]
        assert (await astore.stats())["total_keys"] == 2
        assert await astore.delete("state_s") is True
        assert await astore.cleanup(0) == 1
        assert await astore.read("missing") is None
    assert store.closed
