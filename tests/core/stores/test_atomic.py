"""The atomic operations of the store contract: ``take``, ``update`` and ``lock``.

Run against every store, plain and encrypted (the ``case``/``store`` fixtures), with real
concurrency: several threads each holding its own store instance on the same storage, and, for
the persistent backends, several processes. These are what the OAuth client flow relies on for
single-use ``state``/PKCE entries, session records without lost writes, and one token refresh
at a time per session.
"""

from __future__ import annotations

import multiprocessing
import threading
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

import pytest

from mcp_tools.stores import AsyncStore, BaseStore, Store, StoreLockTimeout

from ._workers import increment_counter, increment_under_lock, take_once
from .conftest import POSTGRES_URL, REDIS_URL, Case

THREADS = 8
ROUNDS = 25


def run_threads(count: int, work: Any) -> list[Any]:
    """Start ``count`` threads at once on ``work(index)``; return results, re-raising errors."""
    barrier = threading.Barrier(count)
    results: list[Any] = [None] * count
    errors: list[BaseException] = []

    def runner(index: int) -> None:
        try:
            barrier.wait(timeout=10)
            results[index] = work(index)
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=runner, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
        assert not thread.is_alive(), "a worker thread hung"
    if errors:
        raise errors[0]
    return results


# -- take ----------------------------------------------------------------------------------------


def test_protocol_has_the_atomic_operations(store: BaseStore) -> None:
    assert isinstance(store, Store)
    for name in ("take", "update", "lock"):
        assert callable(getattr(store, name))


def test_take_returns_the_value_once(store: BaseStore) -> None:
    store.write("state_abc", "session-1")
    assert store.take("state_abc") == "session-1"
    assert store.take("state_abc") is None
    assert store.read("state_abc") is None
    assert not store.exists("state_abc")
    assert store.take("never-written") is None


def test_take_of_objects_and_falsy_values(store: BaseStore) -> None:
    store.write("obj", {"a": [1, 2], "b": None})
    store.write("zero", 0)
    store.write("empty", "")
    assert store.take("obj") == {"a": [1, 2], "b": None}
    assert store.take("zero") == 0
    assert store.take("empty") == ""
    assert store.keys() == []


def test_take_of_an_expired_entry_is_none(store: BaseStore) -> None:
    store.write("pkce_verifier_x", "v", ttl=0.2)
    time.sleep(0.45)
    assert store.take("pkce_verifier_x") is None


def test_concurrent_takes_hand_the_value_to_exactly_one(case: Case) -> None:
    stores = [case.make() for _ in range(THREADS)]
    for round_ in range(5):
        stores[0].write("state_race", f"value-{round_}")
        got = run_threads(THREADS, lambda i: stores[i].take("state_race"))
        assert sorted(g for g in got if g is not None) == [f"value-{round_}"]


# -- update --------------------------------------------------------------------------------------


def test_update_creates_then_modifies(store: BaseStore) -> None:
    seen: list[Any] = []

    def add_token(current: Any) -> Any:
        seen.append(current)
        return {**(current or {}), "accessToken": "at"}

    assert store.update("session_1", add_token) == {"accessToken": "at"}
    store.update("session_1", lambda v: {**v, "refreshToken": "rt"})
    assert store.read("session_1") == {"accessToken": "at", "refreshToken": "rt"}
    assert seen == [None]


def test_update_with_ttl_expires(store: BaseStore) -> None:
    store.update("short", lambda v: "x", ttl=0.2)
    assert store.read("short") == "x"
    time.sleep(0.45)
    assert store.read("short") is None
    assert store.update("short", lambda v: v) is None  # an expired entry reads as missing


def test_update_keeps_created_at_order(store: BaseStore) -> None:
    store.write("a", 1)
    time.sleep(0.01)
    store.write("b", 2)
    time.sleep(0.01)
    store.update("a", lambda v: v + 1)
    assert store.keys() == ["a", "b"]
    assert store.read("a") == 2


def test_update_that_raises_leaves_the_entry(store: BaseStore) -> None:
    store.write("session_2", {"n": 1})

    def boom(current: Any) -> Any:
        raise RuntimeError("refused")

    with pytest.raises(RuntimeError, match="refused"):
        store.update("session_2", boom)
    assert store.read("session_2") == {"n": 1}
    store.update("session_2", lambda v: {"n": v["n"] + 1})  # and the store still works (no stuck lock)
    assert store.read("session_2") == {"n": 2}


def test_update_rejects_non_json(store: BaseStore) -> None:
    with pytest.raises(TypeError):
        store.update("bad", lambda v: {1, 2})
    assert store.read("bad") is None


def test_concurrent_updates_lose_nothing(case: Case) -> None:
    stores = [case.make() for _ in range(THREADS)]

    def work(index: int) -> None:
        for _ in range(ROUNDS):
            stores[index].update("counter", lambda v: (v or 0) + 1)
            stores[index].update(
                "fields", lambda v, i=index: {**(v or {}), f"w{i}": (v or {}).get(f"w{i}", 0) + 1}
            )

    run_threads(THREADS, work)
    assert stores[0].read("counter") == THREADS * ROUNDS
    assert stores[0].read("fields") == {f"w{i}": ROUNDS for i in range(THREADS)}


# -- lock ----------------------------------------------------------------------------------------


def test_lock_excludes_other_holders(case: Case) -> None:
    stores = [case.make() for _ in range(THREADS)]
    stores[0].write("locked_counter", 0)

    def work(index: int) -> None:
        for _ in range(10):
            with stores[index].lock("refresh_session-1", timeout=30):
                value = stores[index].read("locked_counter")
                time.sleep(0.001)  # widen the window a lost update would need
                stores[index].write("locked_counter", value + 1)

    run_threads(THREADS, work)
    assert stores[0].read("locked_counter") == THREADS * 10


def test_lock_times_out_with_a_clear_error(case: Case) -> None:
    holder, waiter = case.make(), case.make()
    with holder.lock("refresh_s", timeout=5):
        started = time.monotonic()
        with pytest.raises(StoreLockTimeout, match="refresh_s"), waiter.lock("refresh_s", timeout=0.3):
            pytest.fail("acquired a held lock")
        assert 0.25 <= time.monotonic() - started < 3
        with waiter.lock("another-name", timeout=1):  # other names are independent
            pass
    with waiter.lock("refresh_s", timeout=2):  # released on exit
        pass


def test_lock_is_released_when_the_block_raises(store: BaseStore) -> None:
    with pytest.raises(ValueError), store.lock("x", timeout=1):
        raise ValueError("inside")
    with store.lock("x", timeout=1):
        pass


def test_lock_names_are_not_keys(store: BaseStore) -> None:
    store.write("k", "v")
    with store.lock("k", timeout=1):
        assert store.keys() == ["k"]
        assert store.read("k") == "v"
        assert store.stats()["total_keys"] == 1
    assert store.cleanup(0) == 1
    assert store.keys() == []


@pytest.mark.parametrize("bad", [0, -1, float("nan")])
def test_lock_rejects_bad_timeouts(store: BaseStore, bad: float) -> None:
    with pytest.raises(ValueError):
        store.lock("x", timeout=bad)


def test_lease_frees_a_lock_whose_holder_died(case: Case) -> None:
    if case.backend in {"memory", "fs", "postgres"}:
        pytest.skip("the OS or the server releases this backend's locks with their holder; no lease")
    crashed = case.make().lock("refresh_dead", timeout=1, lease=0.3)
    crashed.__enter__()  # never exited: a holder that died
    other = case.make()
    with pytest.raises(StoreLockTimeout), other.lock("refresh_dead", timeout=0.1):
        pass
    with other.lock("refresh_dead", timeout=3):  # the lease ran out
        pass


# -- async ---------------------------------------------------------------------------------------


@pytest.mark.anyio
async def test_async_store_take_update_lock(case: Case) -> None:
    import anyio

    astore = AsyncStore(case.make())
    await astore.write("state_a", "s")
    assert await astore.take("state_a") == "s"
    assert await astore.take("state_a") is None
    assert await astore.update("session", lambda v: {"n": 1}) == {"n": 1}
    order: list[str] = []

    async def hold(tag: str) -> None:
        async with astore.lock("refresh", timeout=10):
            order.append(f"{tag}-in")
            await anyio.sleep(0.05)
            order.append(f"{tag}-out")

    async with anyio.create_task_group() as group:
        group.start_soon(hold, "a")
        group.start_soon(hold, "b")
    assert order[0].endswith("-in")
    assert order[1] == order[0].replace("in", "out")
    assert order[2].endswith("-in")
    assert order[3].endswith("-out")


# -- processes -----------------------------------------------------------------------------------


def _location(case: Case, tmp_path: Path, request: pytest.FixtureRequest) -> tuple[str, str]:
    if case.backend == "fs":
        return str(tmp_path / "store.json"), ""
    if case.backend == "sqlite":
        return str(tmp_path / "store.db"), ""
    if case.backend == "redis":
        return REDIS_URL, request.getfixturevalue("redis_prefix")
    return POSTGRES_URL, request.getfixturevalue("pg_table")


def test_processes_update_lock_and_take(
    plain_case: Case, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    if plain_case.backend == "memory":
        pytest.skip("the memory store lives in one process")
    location, extra = _location(plain_case, tmp_path, request)
    store = plain_case.make()
    store.write("state_once", "the-session")
    processes, each = 4, 20
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(max_workers=processes, mp_context=context) as pool:
        kind = plain_case.backend
        updates = [pool.submit(increment_counter, kind, location, extra, each) for _ in range(processes)]
        locked = [pool.submit(increment_under_lock, kind, location, extra, each) for _ in range(processes)]
        takes = [pool.submit(take_once, kind, location, extra, "state_once") for _ in range(processes)]
        assert [f.result(timeout=90) for f in updates + locked] == [each] * (2 * processes)
        taken = [f.result(timeout=90) for f in takes]
    assert store.read("counter") == processes * each
    assert store.read("locked_counter") == processes * each
    assert [t for t in taken if t is not None] == ["the-session"]
