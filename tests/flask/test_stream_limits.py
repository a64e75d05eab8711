"""One token holder cannot take every worker thread of a stateful WSGI server with event streams.

The Flask example, stateful, under gunicorn gthread with 4 threads on 127.0.0.1. One user opens
four sessions and a standalone GET event stream on each: before the stream limits, the four
streams held the four threads and every other user's call timed out until they closed. Now the
user's streams beyond the limits get a 405 ``too_many_streams`` (OAuth-shaped, ``Retry-After``),
another user's ordinary calls through the SDK's own client complete, and a stream that ends
(its session deleted) frees its slot for the next one.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import anyio
import httpx2
import pytest
from mcp import Client
from mcp.client.streamable_http import streamable_http_client

from tests.contract.spec import mint
from tests.flask.test_servers import app_env, gunicorn_argv, subprocess_server
from tests.support.servers import free_port

LEGACY = "2025-11-25"
CALL_TIMEOUT = 20.0  # a call that waits for a free worker thread waits until the streams close


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


def _headers(
    token: str, session: str | None = None, accept: str = "application/json, text/event-stream"
) -> dict[str, str]:
    headers = {"Authorization": f"Bearer {token}", "Accept": accept, "MCP-Protocol-Version": LEGACY}
    if session:
        headers["Mcp-Session-Id"] = session
    return headers


async def _open_session(http: httpx2.AsyncClient, url: str, token: str) -> str:
    init = {
        "jsonrpc": "2.0",
        "id": 1,
        "method": "initialize",
        "params": {
            "protocolVersion": LEGACY,
            "capabilities": {},
            "clientInfo": {"name": "hog", "version": "1"},
        },
    }
    response = await http.post(url, json=init, headers=_headers(token))
    assert response.status_code == 200, response.text
    session = response.headers["mcp-session-id"]
    done = {"jsonrpc": "2.0", "method": "notifications/initialized"}
    response = await http.post(url, json=done, headers=_headers(token, session))
    assert response.status_code == 202, response.text
    return session


async def _ordinary_call(url: str, sub: str) -> Any:
    token = mint(sub=sub, aud=url, scope="notes:read notes:write")
    http = httpx2.AsyncClient(
        headers={"Authorization": f"Bearer {token}"}, timeout=httpx2.Timeout(CALL_TIMEOUT)
    )
    async with http, Client(streamable_http_client(url, http_client=http), mode="legacy") as client:  # type: ignore[arg-type]
        saved = await client.call_tool("add_note", {"text": "still served"})
        return getattr(saved.content[0], "text", "")


async def _open_streams(base: str) -> int | None:
    async with httpx2.AsyncClient(timeout=5) as http:
        report = (await http.get(f"{base}/_diag")).json()
    return report.get("open_streams")


async def _until(condition: Any, timeout: float = CALL_TIMEOUT) -> None:
    with anyio.fail_after(timeout):
        while not await condition():
            await anyio.sleep(0.1)


@pytest.mark.anyio
async def test_one_user_with_many_streams_cannot_starve_a_stateful_gunicorn(tmp_path: Path) -> None:
    port = free_port()
    env = app_env(port, MCP_STATEFUL="1")
    argv = gunicorn_argv(port, "-k", "gthread", "--threads", "4", "-w", "1", "--timeout", "120")
    with subprocess_server(argv, port, env, tmp_path) as (base, _proc, log):
        url = f"{base}/mcp"
        hog = mint(sub="stream-hog", aud=url, scope="notes:read")
        refusals: list[httpx2.Response] = []

        async def hold_stream(http: httpx2.AsyncClient, session: str) -> None:
            # gunicorn sends an admitted stream's headers with its first event (a ping after
            # 15 s); a refusal arrives at once.
            async with http.stream(
                "GET", url, headers=_headers(hog, session, "text/event-stream")
            ) as response:
                if response.status_code != 200:
                    await response.aread()
                    refusals.append(response)
                    return
                await anyio.sleep_forever()

        async with httpx2.AsyncClient(timeout=None) as http, anyio.create_task_group() as streams:
            sessions = [await _open_session(http, url, hog) for _ in range(4)]
            for session in sessions:
                streams.start_soon(hold_stream, http, session)
            # gunicorn --threads 4: at most 2 streams in the process, 2 per user by default.
            # Before the limits all four were held (no refusal came) and took the 4 threads.
            with anyio.move_on_after(10):
                while len(refusals) < 2:
                    await anyio.sleep(0.05)

            # Another user is served while the hog's streams are open (before: timed out).
            with anyio.fail_after(CALL_TIMEOUT * 2):
                text = await _ordinary_call(url, "bystander")
            assert text == "saved note 1 for bystander"

            assert len(refusals) == 2, log.read_text()[-2000:]
            for refused in refusals:
                assert refused.status_code == 405
                assert refused.json()["error"] == "too_many_streams"
                assert refused.json()["error_description"]
                assert int(refused.headers["retry-after"]) > 0
                assert refused.headers["content-type"].startswith("application/json")
            assert await _open_streams(base) == 2  # the bystander's own stream was refused

            # Ending the sessions ends their streams and frees their slots.
            for session in sessions:
                deleted = await http.delete(url, headers=_headers(hog, session))
                assert deleted.status_code in (200, 204), deleted.text

            async def released() -> bool:
                return await _open_streams(base) == 0

            await _until(released)
            streams.cancel_scope.cancel()
