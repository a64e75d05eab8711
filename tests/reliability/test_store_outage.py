"""Redis and PostgreSQL stopped and restarted in the middle of an OAuth flow.

No MCP endpoint of the adapters reads a store (tokens are verified, not looked up), so the
requests that depend on one are the client side's: the FastAPI ``/connect`` and callback views.
With the store's server down they answer ``503`` (JSON, ``Retry-After``) within the store's
timeout instead of a 500 or a hang, nothing is consumed, and once the server is back the very
same callback completes and the stored grant calls a tool. Own servers on free ports
(``tests/core/stores/_servers.py``); the machine's shared Redis and PostgreSQL are never touched.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import pytest

from mcp_tools.client import aget_client_by_session_id
from mcp_tools.devserver import RunningServer
from mcp_tools.stores import BaseStore, create_postgres_store, create_redis_store
from tests.core.stores._servers import OwnPostgres, OwnRedis
from tests.core.stores.conftest import require_postgres, require_redis
from tests.security.flow import GUARD, browsers, mcp_stack

TIMEOUT = 1.0


@pytest.fixture(scope="module")
def stack() -> Iterator[tuple[RunningServer, str]]:
    with mcp_stack() as running:
        yield running


class Backend:
    def __init__(self, kind: str) -> None:
        self.kind = kind
        self.server: Any = OwnRedis() if kind == "redis" else OwnPostgres()

    def store(self) -> BaseStore:
        if self.kind == "redis":
            url = f"redis://127.0.0.1:{self.server.port}/0"
            return create_redis_store(url, connect_timeout=TIMEOUT, socket_timeout=TIMEOUT)
        return create_postgres_store(self.server.url, connect_timeout=TIMEOUT)


@pytest.fixture(params=["redis", "postgres"])
def backend(request: pytest.FixtureRequest) -> Iterator[Backend]:
    (require_redis if request.param == "redis" else require_postgres)()
    backend = Backend(request.param)
    try:
        backend.server.start()
        yield backend
    finally:
        backend.server.remove()  # stops the process whatever happened


def timed(call: Any) -> tuple[Any, float]:
    started = time.monotonic()
    result = call()
    return result, time.monotonic() - started


@pytest.mark.anyio
async def test_flow_survives_a_store_restart(stack: tuple[RunningServer, str], backend: Backend) -> None:
    _auth, mcp_url = stack
    store = backend.store()
    try:
        with browsers(store, 1) as (browser,):
            target = browser.start(mcp_url)  # state and verifier are in the store now
            backend.server.stop()

            down, elapsed = timed(lambda: browser.callback(target))
            assert down.status_code == 503, down.text
            assert elapsed < TIMEOUT + 2
            assert down.json()["code"] == "store_unavailable"
            assert down.headers["retry-after"] == "5"
            assert "127.0.0.1" not in down.text  # infrastructure details stay in the log

            backend.server.start()
            # the binding cookie was cleared with the 503: restore it as the browser had it
            up = None
            for _ in range(20):  # the pool may need a moment to notice the server is back
                browser.web.cookies.clear()
                browser.web.cookies.update(browser.saved_cookies)
                up = browser.callback(target)
                if up.status_code != 503:
                    break
                time.sleep(0.25)
            assert up is not None
            assert up.status_code == 200, up.text
            session_id = up.json()["session_id"]

        client = await aget_client_by_session_id(session_id=session_id, store=store, url_guard=GUARD)
        async with client.connect() as mcp:
            result = await mcp.call_tool("echo", {"text": "after the restart"})
        assert result.content[0].text == "after the restart"
    finally:
        store.close()


def test_connect_with_the_store_down_is_503(stack: tuple[RunningServer, str], backend: Backend) -> None:
    store = backend.store()
    try:
        with browsers(store, 1) as (browser,):
            backend.server.stop()
            connect, elapsed = timed(lambda: browser.connect(stack[1]))
            assert connect.status_code == 503, connect.text
            assert connect.json()["code"] == "store_unavailable"
            assert elapsed < TIMEOUT + 2
    finally:
        store.close()
