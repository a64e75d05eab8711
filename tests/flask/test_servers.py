"""The SDK's own MCP client against the Flask example under real WSGI servers on 127.0.0.1.

gunicorn (gthread, ``--preload``: the master starts a bridge before forking), waitress and
the werkzeug development server; legacy (2025-11-25) and auto (2026-07-28) clients; real
RS256 JWTs from :func:`tests.contract.spec.mint`; progress notifications timed to show they
stream while the tool runs when SSE is on. Every subprocess is stopped in a ``finally``.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import gc
import json
import os
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import anyio
import httpx2
import pytest
from mcp import Client
from mcp.client.streamable_http import streamable_http_client
from werkzeug.serving import make_server

from examples.flask.app import create_app, mcp_tools
from tests.contract.spec import ISSUER, mint, public_jwks
from tests.flask.served_app import BRIDGE_THREAD
from tests.support.servers import free_port

REPO_ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
DELAY = 0.3  # seconds between the progress reports of review_notes


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


# -- what a client does -------------------------------------------------------------------------


@dataclass
class Exercise:
    version: str
    tools: set[str]
    saved: str
    notes: Any
    review: str
    progress_at: list[float]
    result_at: float
    api_notes: Any


async def exercise(url: str, mode: str, sub: str) -> Exercise:
    token = mint(sub=sub, aud=url, scope="notes:read notes:write")
    http = httpx2.AsyncClient(headers={"Authorization": f"Bearer {token}"}, timeout=httpx2.Timeout(20))
    async with http, Client(streamable_http_client(url, http_client=http), mode=mode) as client:  # type: ignore[arg-type]
        tools = {t.name for t in (await client.list_tools()).tools}
        saved = (await client.call_tool("add_note", {"text": f"hello {mode}"})).content[0]
        notes = (await client.call_tool("read_notes", {})).structured_content
        progress_at: list[float] = []
        start = time.monotonic()

        async def on_progress(progress: float, total: float | None, message: str | None) -> None:
            progress_at.append(time.monotonic() - start)

        review = await client.call_tool(
            "review_notes", {"steps": 3, "delay": DELAY}, progress_callback=on_progress
        )
        result_at = time.monotonic() - start
        api = await http.get(url.rsplit("/", 1)[0] + "/api/notes")
        assert api.status_code == 200, api.text
        return Exercise(
            version=str(client.protocol_version),
            tools=tools,
            saved=getattr(saved, "text", ""),
            notes=notes,
            review=getattr(review.content[0], "text", ""),
            progress_at=progress_at,
            result_at=result_at,
            api_notes=api.json(),
        )


def check(result: Exercise, mode: str, sub: str, *, streamed: bool, one_process: bool = True) -> None:
    assert result.version == ("2025-11-25" if mode == "legacy" else "2026-07-28")
    assert result.tools == {"read_notes", "add_note", "review_notes"}
    assert result.saved == f"saved note 1 for {sub}"
    assert result.api_notes["owner"] == sub
    if one_process:  # the example keeps notes in process memory
        assert result.notes == {"result": [f"hello {mode}"]}
        assert result.review == "reviewed 1 notes in 3 passes"
        assert result.api_notes["notes"] == [f"hello {mode}"]
    else:
        assert result.review.endswith("notes in 3 passes")
    if streamed:
        # Each report arrives while the tool is still running, DELAY apart, not in one burst.
        assert len(result.progress_at) == 3, result.progress_at
        assert result.progress_at[0] < result.result_at - 1.5 * DELAY, result
        assert result.progress_at[2] - result.progress_at[0] > 1.5 * DELAY, result
    else:
        assert result.progress_at == []  # JSON responses carry no notifications


async def run_both_eras(url: str, tag: str, *, streamed: bool, one_process: bool = True) -> None:
    for mode in ("legacy", "auto"):
        sub = f"{tag}-{mode}-{time.monotonic_ns()}"
        check(await exercise(url, mode, sub), mode, sub, streamed=streamed, one_process=one_process)


# -- subprocess servers -------------------------------------------------------------------------


def app_env(port: int, **extra: str) -> dict[str, str]:
    return {
        **os.environ,
        "PYTHONPATH": str(REPO_ROOT),
        "MCP_ISSUER": ISSUER,
        "MCP_RESOURCE_URL": f"http://127.0.0.1:{port}/mcp",
        "MCP_JWKS": json.dumps(public_jwks()),
        **extra,
    }


@contextlib.contextmanager
def subprocess_server(
    argv: list[str], port: int, env: dict[str, str], tmp_path: Path
) -> Iterator[tuple[str, subprocess.Popen[bytes], Path]]:
    log = tmp_path / f"server-{port}.log"
    with log.open("wb") as out:
        proc = subprocess.Popen(argv, cwd=REPO_ROOT, env=env, stdout=out, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 20
        while True:
            assert proc.poll() is None, log.read_text()
            with contextlib.suppress(httpx2.HTTPError):
                if httpx2.get(f"{base}/", timeout=1).status_code == 200:
                    break
            assert time.monotonic() < deadline, f"server did not come up:\n{log.read_text()}"
            time.sleep(0.1)
        yield base, proc, log
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(5)


def squeeze(text: str) -> str:
    """Log text without whitespace or box drawing (log handlers may wrap long lines)."""
    return "".join(ch for ch in text if not ch.isspace() and not "\u2500" <= ch <= "\u257f")


def gunicorn_argv(port: int, *args: str) -> list[str]:
    return [
        str(BIN / "gunicorn"),
        "-b",
        f"127.0.0.1:{port}",
        "--graceful-timeout",
        "2",
        *args,
        "tests.flask.served_app:create()",
    ]


@pytest.mark.anyio
async def test_gunicorn_gthread_preload_both_eras_streaming_and_fork_safety(tmp_path: Path) -> None:
    port = free_port()
    env = app_env(port, MCP_SSE="1", MCP_TEST_EAGER="1")
    argv = gunicorn_argv(port, "-k", "gthread", "--threads", "8", "-w", "2", "--preload")
    with subprocess_server(argv, port, env, tmp_path) as (base, proc, _log):
        await run_both_eras(f"{base}/mcp", "gunicorn", streamed=True, one_process=False)
        # The master started its bridge before forking; every worker that answers runs its
        # own loop thread, started in its own process, and none is the master.
        seen: dict[int, dict[str, Any]] = {}
        async with httpx2.AsyncClient(timeout=5) as http:
            for _ in range(30):
                report = (await http.get(f"{base}/_diag")).json()
                seen[report["pid"]] = report
                # MCP requests on fresh connections, so both workers serve some.
                async with httpx2.AsyncClient(timeout=5) as fresh:
                    token = mint(aud=f"{base}/mcp", scope="notes:read")
                    response = await fresh.post(
                        f"{base}/mcp",
                        headers={
                            "Authorization": f"Bearer {token}",
                            "Accept": "application/json, text/event-stream",
                            "MCP-Protocol-Version": "2025-11-25",
                        },
                        json={"jsonrpc": "2.0", "id": 1, "method": "tools/list", "params": {}},
                    )
                    assert response.status_code == 200, response.text
        assert proc.pid not in seen
        for report in seen.values():
            assert report["running"] is True
            assert report["loop_threads"] == [BRIDGE_THREAD]


def test_gunicorn_sync_worker_refuses_stateful_sessions(tmp_path: Path) -> None:
    port = free_port()
    env = app_env(port, MCP_SSE="1", MCP_STATEFUL="1")
    with subprocess_server(gunicorn_argv(port, "-k", "sync", "-w", "1"), port, env, tmp_path) as (
        base,
        _proc,
        log,
    ):
        token = mint(aud=f"{base}/mcp", scope="notes:read")
        response = httpx2.post(
            f"{base}/mcp",
            json={"jsonrpc": "2.0", "id": 1, "method": "tools/list", "params": {}},
            headers={"Authorization": f"Bearer {token}", "Accept": "application/json, text/event-stream"},
            timeout=5,
        )
        assert response.status_code == 500
        assert response.json()["error"] == "unsupported_server"
        expected = "statefulMCPsessionsneedamultithreadedWSGIserver"
        deadline = time.monotonic() + 5
        while expected not in (logged := squeeze(log.read_text())) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert expected in logged


@pytest.mark.anyio
async def test_waitress_stateful_sse_both_eras(tmp_path: Path) -> None:
    port = free_port()
    env = app_env(port, MCP_SSE="1", MCP_STATEFUL="1")
    argv = [
        str(BIN / "waitress-serve"),
        "--listen",
        f"127.0.0.1:{port}",
        "--threads",
        "8",
        "--call",
        "examples.flask.app:create_app_from_env",
    ]
    with subprocess_server(argv, port, env, tmp_path) as (base, _proc, _log):
        await run_both_eras(f"{base}/mcp", "waitress", streamed=True)


def test_flask_cli_runs_the_example_and_prints_discovery(tmp_path: Path) -> None:
    env = app_env(8000)
    completed = subprocess.run(
        [str(BIN / "flask"), "--app", "examples.flask.app", "mcp-tools", "discovery"],
        cwd=REPO_ROOT,
        env=env,
        capture_output=True,
        timeout=30,
        check=False,
    )
    assert completed.returncode == 0, completed.stderr.decode()
    documents = json.loads(completed.stdout)
    assert documents == {
        "http://127.0.0.1:8000/.well-known/oauth-protected-resource/mcp": {
            "resource": "http://127.0.0.1:8000/mcp",
            "authorization_servers": [ISSUER],
            "scopes_supported": ["notes:read", "notes:write"],
            "bearer_methods_supported": ["header"],
            "resource_name": "Notes",
        }
    }


# -- werkzeug, in process (also the leak check) ------------------------------------------------


@contextlib.contextmanager
def werkzeug_served(**options: Any) -> Iterator[str]:
    port = free_port()
    resource = f"http://127.0.0.1:{port}/mcp"
    app = create_app(issuer=ISSUER, resource_url=resource, keys=public_jwks(), **options)
    server = make_server("127.0.0.1", port, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, name="werkzeug-flask-test")
    thread.start()
    try:
        yield resource
    finally:
        mcp_tools.shutdown(app)  # ends open streams so the request threads can finish
        server.shutdown()
        server.server_close()
        thread.join(5)


@pytest.mark.anyio
@pytest.mark.parametrize(
    ("options", "streamed"),
    [({}, False), ({"sse": True, "stateful": True}, True)],
    ids=["stateless-json", "stateful-sse"],
)
async def test_werkzeug_dev_server_both_eras(options: dict[str, Any], streamed: bool) -> None:
    with werkzeug_served(**options) as url:
        await run_both_eras(url, "werkzeug", streamed=streamed)


def _live_loops() -> list[asyncio.AbstractEventLoop]:
    gc.collect()
    # type(), not isinstance(): isinstance() asks __class__, which makes Django's lazy
    # objects (staticfiles_storage, imported by override_settings) set themselves up.
    loops = (o for o in gc.get_objects() if issubclass(type(o), asyncio.AbstractEventLoop))
    return [loop for loop in loops if not loop.is_closed()]


def test_no_thread_or_event_loop_leaks_after_teardown() -> None:
    threads_before = set(threading.enumerate())
    loops_before = set(map(id, _live_loops()))
    with werkzeug_served(sse=True, stateful=True) as url:
        anyio.run(functools.partial(run_both_eras, url, "leak", streamed=True))
        assert any(t.name.startswith(BRIDGE_THREAD) for t in threading.enumerate())
    deadline = time.monotonic() + 5
    while set(threading.enumerate()) - threads_before and time.monotonic() < deadline:
        time.sleep(0.05)
    assert set(threading.enumerate()) - threads_before == set()
    assert [loop for loop in _live_loops() if id(loop) not in loops_before] == []
