"""No lost writes: 8 threads, and 4 processes, writing 200 distinct keys each into one store."""

from __future__ import annotations

import multiprocessing
import threading
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import pytest

from mcp_tools.stores import BaseStore, FsStore, SqliteStore

from ._workers import write_keys

THREADS = 8
PROCESSES = 4
KEYS_EACH = 200


def open_store(kind: str, path: Path) -> BaseStore:
    return FsStore(path) if kind == "fs" else SqliteStore(path)


def path_for(kind: str, tmp_path: Path) -> Path:
    return tmp_path / ("store.json" if kind == "fs" else "store.db")


@pytest.mark.parametrize("kind", ["fs", "sqlite"])
def test_threads_lose_no_key(kind: str, tmp_path: Path) -> None:
    path = path_for(kind, tmp_path)
    store = open_store(kind, path)
    store.write("existing", "must survive")
    errors: list[BaseException] = []
    barrier = threading.Barrier(THREADS)

    def work(worker: int) -> None:
        try:
            barrier.wait()
            for i in range(KEYS_EACH):
                store.write(f"t{worker}_k{i}", {"worker": worker, "i": i})
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(w,)) for w in range(THREADS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    expected = {f"t{w}_k{i}" for w in range(THREADS) for i in range(KEYS_EACH)} | {"existing"}
    assert set(store.keys()) == expected
    assert store.read("existing") == "must survive"
    assert store.read("t7_k199") == {"worker": 7, "i": 199}
    store.close()
    reopened = open_store(kind, path)  # and it is all on disk
    assert reopened.stats()["total_keys"] == len(expected)
    reopened.close()


@pytest.mark.parametrize("kind", ["fs", "sqlite"])
def test_processes_lose_no_key(kind: str, tmp_path: Path) -> None:
    path = path_for(kind, tmp_path)
    store = open_store(kind, path)
    store.write("existing", "must survive")
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(max_workers=PROCESSES, mp_context=context) as pool:
        futures = [pool.submit(write_keys, kind, str(path), w, KEYS_EACH) for w in range(PROCESSES)]
        assert [f.result(timeout=120) for f in futures] == [KEYS_EACH] * PROCESSES
    expected = {f"p{w}_k{i}" for w in range(PROCESSES) for i in range(KEYS_EACH)} | {"existing"}
    assert set(store.keys()) == expected
    assert store.read("existing") == "must survive"
    assert store.read("p3_k0") == {"worker": 3, "i": 0}
    store.close()
