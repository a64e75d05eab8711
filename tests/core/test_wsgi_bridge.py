"""The WSGI bridge: the SDK's ASGI MCP endpoint served from WSGI worker threads.

Unit tests drive :meth:`AsgiBridge.handle` with small ASGI apps; end-to-end tests serve a
real ``MCPServer`` + ``StreamableHTTPSessionManager`` through the bridge under werkzeug,
wsgiref (with ``wsgiref.validate``) and gunicorn, and talk to it with the SDK's own client
in both protocol eras. Every test checks that no thread outlives it.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import io
import json
import logging
import os
import socket
import socketserver
import subprocess
import sys
import threading
import time
import weakref
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer
from wsgiref.util import setup_testing_defaults
from wsgiref.validate import validator

import httpx2
import pytest
from mcp.client import Client
from mcp.client.streamable_http import streamable_http_client
from werkzeug.serving import make_server

from mcp_tools.server.wsgi import (
    HOP_BY_HOP_HEADERS,
    AsgiBridge,
    BridgeError,
    BridgeStartupError,
    UnsupportedServerError,
    build_scope,
    check_wsgi_server,
    hooks,
    strip_hop_by_hop,
)
from tests.core import wsgi_apps

REPO_ROOT = Path(__file__).resolve().parents[2]
GUNICORN = Path(sys.executable).with_name("gunicorn")


# ------------------------------------------------------------------------------------------
# Fixtures and helpers
# ------------------------------------------------------------------------------------------


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


def _wait_for_threads(baseline: set[threading.Thread], timeout: float = 5.0) -> list[str]:
    deadline = time.monotonic() + timeout
    while True:
        extra = [t.name for t in threading.enumerate() if t not in baseline and t.is_alive()]
        if not extra or time.monotonic() > deadline:
            return extra
        time.sleep(0.02)


@pytest.fixture(autouse=True)
def no_leaked_threads() -> Iterator[None]:
    """Every test must leave exactly the threads it found (bridges shut down, servers stopped)."""
    baseline = set(threading.enumerate())
    yield
    assert _wait_for_threads(baseline) == []


@pytest.fixture
def bridges() -> Iterator[Callable[..., AsgiBridge]]:
    """Make bridges that are shut down when the test ends."""
    made: list[AsgiBridge] = []

    def make(app: Any, **options: Any) -> AsgiBridge:
        bridge = AsgiBridge(app, **options)
        made.append(bridge)
        return bridge

    yield make
    for bridge in made:
        bridge.shutdown()


def make_environ(
    *,
    method: str = "POST",
    path: str = "/mcp",
    body: bytes = b"",
    headers: dict[str, str] | None = None,
    **extra: Any,
) -> dict[str, Any]:
    environ: dict[str, Any] = {
        "REQUEST_METHOD": method,
        "PATH_INFO": path,
        "wsgi.input": io.BytesIO(body),
        "CONTENT_LENGTH": str(len(body)) if body else "",
    }
    for name, value in (headers or {}).items():
        key = name.upper().replace("-", "_")
        environ[key if key in ("CONTENT_TYPE", "CONTENT_LENGTH") else f"HTTP_{key}"] = value
    environ.update(extra)
    setup_testing_defaults(environ)
    return environ


async def hello_app(scope: Any, receive: Any, send: Any) -> None:
    await receive()
    await send({"type": "http.response.start", "status": 200, "headers": [(b"content-type", b"text/plain")]})
    await send({"type": "http.response.body", "body": b"hello"})


def read_all(response: Any) -> bytes:
    try:
        return b"".join(response)
    finally:
        response.close()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


# ------------------------------------------------------------------------------------------
# Scope building and headers
# ------------------------------------------------------------------------------------------


def test_build_scope_translates_the_environ() -> None:
    environ = make_environ(
        path="/mcp/x y",
        body=b"{}",
        headers={"Content-Type": "application/json", "Mcp-Session-Id": "abc", "X-Dup": "1"},
        SCRIPT_NAME="/api",
        QUERY_STRING="a=1&b=%20",
        SERVER_NAME="127.0.0.1",
        SERVER_PORT="8080",
        REMOTE_ADDR="10.0.0.7",
        REMOTE_PORT="5555",
        SERVER_PROTOCOL="HTTP/1.0",
    )
    environ["wsgi.url_scheme"] = "https"
    scope = build_scope(environ, {"user": "u", "auth": "a"})

    assert scope["type"] == "http"
    assert scope["method"] == "POST"
    assert scope["scheme"] == "https"
    assert scope["http_version"] == "1.0"
    assert scope["path"] == "/api/mcp/x y"
    assert scope["root_path"] == "/api"
    assert scope["raw_path"] == b"/api/mcp/x%20y"
    assert scope["query_string"] == b"a=1&b=%20"
    assert scope["server"] == ("127.0.0.1", 8080)
    assert scope["client"] == ("10.0.0.7", 5555)
    headers = dict(scope["headers"])
    assert headers[b"content-type"] == b"application/json"
    assert headers[b"content-length"] == b"2"
    assert headers[b"mcp-session-id"] == b"abc"
    assert all(name == name.lower() and isinstance(name, bytes) for name, _ in scope["headers"])
    assert (scope["user"], scope["auth"]) == ("u", "a")


def test_build_scope_prefers_the_raw_uri_and_decodes_utf8_paths() -> None:
    environ = make_environ(path="/caf\u00c3\u00a9", REQUEST_URI="/caf%C3%A9?q=1")  # PEP 3333 latin-1 tunnel
    scope = build_scope(environ)
    assert scope["path"] == "/café"
    assert scope["raw_path"] == b"/caf%C3%A9"


def test_strip_hop_by_hop_keeps_order_and_other_headers() -> None:
    headers = [("Content-Type", "text/event-stream"), ("Connection", "keep-alive"), ("X-A", "1")]
    headers += [(name.title(), "x") for name in HOP_BY_HOP_HEADERS]
    assert strip_hop_by_hop(headers) == [("Content-Type", "text/event-stream"), ("X-A", "1")]


def test_response_headers_lose_hop_by_hop_entries(bridges: Callable[..., AsgiBridge]) -> None:
    async def app(scope: Any, receive: Any, send: Any) -> None:
        headers = [(b"content-type", b"text/event-stream"), (b"cache-control", b"no-cache")]
        headers += [(name.encode(), b"x") for name in HOP_BY_HOP_HEADERS]
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        await send({"type": "http.response.body", "body": b"data: 1\n\n"})

    response = bridges(app).handle(make_environ(method="GET"))
    assert response.headers == [("content-type", "text/event-stream"), ("cache-control", "no-cache")]
    assert response.status_line == "200 OK"
    assert read_all(response) == b"data: 1\n\n"


# ------------------------------------------------------------------------------------------
# Request bodies and error responses
# ------------------------------------------------------------------------------------------


def test_request_body_reaches_the_app_and_is_bounded(bridges: Callable[..., AsgiBridge]) -> None:
    seen: list[bytes] = []

    async def echo(scope: Any, receive: Any, send: Any) -> None:
        seen.append((await receive())["body"])
        await send({"type": "http.response.start", "status": 201, "headers": []})
        await send({"type": "http.response.body", "body": seen[-1]})

    bridge = bridges(echo, max_body_size=10)
    assert read_all(bridge.handle(make_environ(body=b"0123456789"))) == b"0123456789"
    # An already-read body (a framework consumed wsgi.input) is used as given.
    assert read_all(bridge.handle(make_environ(), body=b"given")) == b"given"
    # Chunked request without Content-Length: read to EOF when the server says the input ends.
    chunked = make_environ(body=b"abc")
    chunked.update({"CONTENT_LENGTH": "", "wsgi.input_terminated": True})
    assert read_all(bridge.handle(chunked)) == b"abc"
    assert seen == [b"0123456789", b"given", b"abc"]


def test_oversized_body_gets_413_without_touching_the_app(bridges: Callable[..., AsgiBridge]) -> None:
    calls: list[object] = []

    async def app(scope: Any, receive: Any, send: Any) -> None:
        calls.append(scope)

    bridge = bridges(app, max_body_size=1024)
    big = make_environ(body=b"x" * 5000)
    response = bridge.handle(big)
    assert response.status == 413
    assert dict(response.headers)["Content-Type"] == "application/json"
    assert json.loads(read_all(response))["error"]["message"] == "Request body too large"
    assert big["wsgi.input"].tell() == 0  # not even read
    unbounded = make_environ(body=b"y" * 5000)
    unbounded.update({"CONTENT_LENGTH": "", "wsgi.input_terminated": True})
    assert bridge.handle(unbounded).status == 413
    assert bridge.handle(make_environ(), body=b"z" * 2000).status == 413
    assert calls == []
    assert not bridge.running  # the loop thread was never needed


def test_invalid_content_length_is_400(bridges: Callable[..., AsgiBridge]) -> None:
    bridge = bridges(hello_app)
    for value in ("abc", "-1"):
        environ = make_environ()
        environ["CONTENT_LENGTH"] = value
        assert bridge.handle(environ).status == 400


def test_app_error_before_response_is_a_500_without_internals(
    bridges: Callable[..., AsgiBridge], caplog: pytest.LogCaptureFixture
) -> None:
    async def broken(scope: Any, receive: Any, send: Any) -> None:
        raise RuntimeError("secret-internal-detail")

    async def silent(scope: Any, receive: Any, send: Any) -> None:
        await receive()

    with caplog.at_level(logging.ERROR, logger="mcp_tools.server.wsgi"):
        response = bridges(broken).handle(make_environ(body=b"{}"))
        body = read_all(response)
    assert response.status == 500
    assert b"secret" not in body
    assert json.loads(body) == {
        "jsonrpc": "2.0",
        "id": None,
        "error": {"code": -32603, "message": "Internal server error"},
    }
    assert "failed before starting its response" in caplog.text

    assert bridges(silent).handle(make_environ()).status == 500


def test_error_after_response_start_aborts_the_stream(bridges: Callable[..., AsgiBridge]) -> None:
    async def app(scope: Any, receive: Any, send: Any) -> None:
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"part", "more_body": True})
        raise RuntimeError("boom")

    response = bridges(app).handle(make_environ())
    chunks = iter(response)
    assert next(chunks) == b"part"
    with pytest.raises(BridgeError):
        next(chunks)
    response.close()


def test_response_timeout_gives_504_and_cancels_the_app(bridges: Callable[..., AsgiBridge]) -> None:
    cancelled = threading.Event()

    async def stuck(scope: Any, receive: Any, send: Any) -> None:
        try:
            await asyncio.sleep(30)
        except asyncio.CancelledError:
            cancelled.set()
            raise

    start = time.monotonic()
    response = bridges(stuck, response_timeout=0.3).handle(make_environ())
    assert response.status == 504
    assert time.monotonic() - start < 2
    assert cancelled.wait(2)


# ------------------------------------------------------------------------------------------
# Streaming and disconnects
# ------------------------------------------------------------------------------------------


def test_body_chunks_stream_as_they_are_sent(bridges: Callable[..., AsgiBridge]) -> None:
    async def ticker(scope: Any, receive: Any, send: Any) -> None:
        await send(
            {"type": "http.response.start", "status": 200, "headers": [(b"content-type", b"text/plain")]}
        )
        for i in range(3):
            await send({"type": "http.response.body", "body": b"tick%d" % i, "more_body": True})
            await asyncio.sleep(0.2)
        await send({"type": "http.response.body", "body": b""})

    response = bridges(ticker).handle(make_environ(method="GET"))
    start = time.monotonic()  # headers are in; the first chunk follows them at once
    arrivals = []
    for chunk in response:
        arrivals.append((chunk, time.monotonic() - start))
    response.close()
    assert [c for c, _ in arrivals] == [b"tick0", b"tick1", b"tick2"]
    assert arrivals[0][1] < 0.1  # the first chunk did not wait for the rest
    assert arrivals[2][1] - arrivals[0][1] > 0.3


def test_closing_early_sends_http_disconnect(bridges: Callable[..., AsgiBridge]) -> None:
    events: list[str] = []
    finished = threading.Event()

    async def endless(scope: Any, receive: Any, send: Any) -> None:
        await receive()  # the (empty) request body
        await send({"type": "http.response.start", "status": 200, "headers": []})

        async def watch() -> None:
            events.append((await receive())["type"])

        watcher = asyncio.ensure_future(watch())
        try:
            while not watcher.done():
                await send({"type": "http.response.body", "body": b"x", "more_body": True})
                await asyncio.sleep(0.05)
        finally:
            finished.set()

    response = bridges(endless).handle(make_environ(method="GET"))
    assert next(iter(response)) == b"x"
    start = time.monotonic()
    response.close()
    assert finished.wait(2)
    assert events == ["http.disconnect"]
    assert time.monotonic() - start < 1.0  # the app reacted to the disconnect, no forced cancel


def test_closing_early_cancels_an_app_that_ignores_disconnect(bridges: Callable[..., AsgiBridge]) -> None:
    cancelled = threading.Event()

    async def deaf(scope: Any, receive: Any, send: Any) -> None:
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"x", "more_body": True})
        try:
            await asyncio.sleep(30)
        except asyncio.CancelledError:
            cancelled.set()
            raise

    response = bridges(deaf).handle(make_environ(method="GET"))
    assert next(iter(response)) == b"x"
    response.close()
    assert cancelled.wait(3)


def test_slow_consumer_applies_backpressure(bridges: Callable[..., AsgiBridge]) -> None:
    sent: list[int] = []
    chunk = b"b" * (256 * 1024)

    async def firehose(scope: Any, receive: Any, send: Any) -> None:
        await send({"type": "http.response.start", "status": 200, "headers": []})
        for i in range(40):  # 10 MiB in total
            await send({"type": "http.response.body", "body": chunk, "more_body": True})
            sent.append(i)
        await send({"type": "http.response.body", "body": b""})

    response = bridges(firehose).handle(make_environ(method="GET"))
    chunks = iter(response)
    next(chunks)
    time.sleep(0.3)
    assert len(sent) < 10  # the app waits instead of queueing the whole body in memory
    total = len(chunk) + sum(len(c) for c in chunks)
    response.close()
    assert total == 40 * len(chunk)


def test_the_app_does_not_see_the_worker_threads_contextvars(bridges: Callable[..., AsgiBridge]) -> None:
    var: contextvars.ContextVar[str] = contextvars.ContextVar("framework_request", default="unset")
    seen: list[str] = []

    async def app(scope: Any, receive: Any, send: Any) -> None:
        seen.append(var.get())
        await hello_app(scope, receive, send)

    bridge = bridges(app)
    var.set("flask-request-object")
    read_all(bridge.handle(make_environ()))
    assert seen == ["unset"]


# ------------------------------------------------------------------------------------------
# Lifecycle: lazy start, lifespan, shutdown, restart, fork
# ------------------------------------------------------------------------------------------


@dataclass
class Lifespans:
    """Counts lifespan entries/exits and app factory calls."""

    entered: int = 0
    exited: int = 0
    factory_pids: list[int] = field(default_factory=list)
    fail_first: int = 0

    @contextlib.asynccontextmanager
    async def lifespan(self) -> AsyncIterator[None]:
        self.entered += 1
        try:
            yield
        finally:
            self.exited += 1

    def factory(self) -> tuple[Any, Any]:
        self.factory_pids.append(os.getpid())
        if self.fail_first > 0:
            self.fail_first -= 1
            raise RuntimeError("factory failure")
        return hello_app, self.lifespan()


def test_lazy_start_single_lifespan_and_clean_shutdown() -> None:
    baseline = set(threading.enumerate())
    spans = Lifespans()
    bridge = AsgiBridge(hello_app, lifespan=spans.lifespan, name="bridge-under-test")
    assert bridge._loop_thread is None  # lazy: nothing started yet
    assert not [t for t in threading.enumerate() if t.name == "bridge-under-test"]

    results: list[bytes] = []

    def worker() -> None:
        results.append(read_all(bridge.handle(make_environ())))

    workers = [threading.Thread(target=worker) for _ in range(8)]
    for t in workers:
        t.start()
    for t in workers:
        t.join()
    assert results == [b"hello"] * 8
    assert bridge.running
    loop_threads = [t for t in threading.enumerate() if t.name == "bridge-under-test"]
    assert len(loop_threads) == 1
    assert loop_threads[0].daemon
    assert (spans.entered, spans.exited) == (1, 0)

    bridge.shutdown()
    assert (spans.entered, spans.exited) == (1, 1)
    assert bridge._loop_thread is None
    assert _wait_for_threads(baseline) == []
    # A shut-down bridge refuses work instead of silently starting again.
    assert bridge.handle(make_environ()).status == 503
    with pytest.raises(BridgeError):
        bridge.start()


def test_two_sequential_bridges_leave_no_threads() -> None:
    baseline = set(threading.enumerate())
    for _ in range(2):
        spans = Lifespans()
        bridge = AsgiBridge(factory=spans.factory)
        bridge.start()
        assert read_all(bridge.handle(make_environ())) == b"hello"
        bridge.shutdown()
        assert (spans.entered, spans.exited) == (1, 1)
        assert _wait_for_threads(baseline) == []


def test_startup_failure_is_503_then_retried(
    bridges: Callable[..., AsgiBridge], caplog: pytest.LogCaptureFixture
) -> None:
    spans = Lifespans(fail_first=1)
    bridge = AsgiBridge(factory=spans.factory)
    try:
        with caplog.at_level(logging.ERROR, logger="mcp_tools.server.wsgi"):
            response = bridge.handle(make_environ())
        assert response.status == 503
        assert b"factory" not in read_all(response)
        assert "could not start" in caplog.text
        assert read_all(bridge.handle(make_environ())) == b"hello"
        assert len(spans.factory_pids) == 2
    finally:
        bridge.shutdown()

    with pytest.raises(BridgeStartupError):
        AsgiBridge(factory=Lifespans(fail_first=1).factory).start()


def test_startup_timeout(caplog: pytest.LogCaptureFixture) -> None:
    release = threading.Event()

    @contextlib.asynccontextmanager
    async def slow_lifespan() -> AsyncIterator[None]:
        while not release.is_set():
            await asyncio.sleep(0.05)
        yield

    bridge = AsgiBridge(hello_app, lifespan=slow_lifespan, startup_timeout=0.3, name="stuck-bridge")
    try:
        begin = time.monotonic()
        with pytest.raises(BridgeStartupError, match="did not start within"):
            bridge.start()
        assert time.monotonic() - begin < 1.0
        # The stuck startup was abandoned: its thread is gone although the lifespan never returned.
        assert not [t for t in threading.enumerate() if t.name == "stuck-bridge"]
    finally:
        release.set()
        bridge.shutdown()


def test_a_dead_loop_thread_is_replaced_on_the_next_request(caplog: pytest.LogCaptureFixture) -> None:
    spans = Lifespans()
    bridge = AsgiBridge(factory=spans.factory)
    try:
        bridge.start()
        first = bridge._loop_thread
        assert first is not None
        first.loop.call_soon_threadsafe(first.loop.stop)  # kill the loop from inside
        first.thread.join(5)
        assert not first.thread.is_alive()
        assert spans.exited == 1  # the lifespan was still exited on the way out
        with caplog.at_level(logging.ERROR, logger="mcp_tools.server.wsgi"):
            assert read_all(bridge.handle(make_environ())) == b"hello"
        assert "starting a new one" in caplog.text
        assert len(spans.factory_pids) == 2
        assert bridge._loop_thread is not first
    finally:
        bridge.shutdown()


def test_shutdown_cancels_in_flight_requests() -> None:
    started = threading.Event()

    async def forever(scope: Any, receive: Any, send: Any) -> None:
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"open", "more_body": True})
        started.set()
        await asyncio.sleep(60)

    bridge = AsgiBridge(forever)
    response = bridge.handle(make_environ(method="GET"))
    chunks = iter(response)
    assert next(chunks) == b"open"
    begin = time.monotonic()
    bridge.shutdown(timeout=5)
    assert time.monotonic() - begin < 3
    with pytest.raises(BridgeError):  # the stream is aborted, not ended as if complete
        next(chunks)
    response.close()


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs fork")
def test_forked_child_starts_its_own_loop() -> None:
    spans = Lifespans()
    bridge = AsgiBridge(factory=spans.factory)
    try:
        bridge.start()
        parent_loop = bridge._loop_thread
        assert parent_loop is not None
        read_fd, write_fd = os.pipe()
        pid = os.fork()
        if pid == 0:  # child: never return into pytest
            code = 1
            try:
                os.close(read_fd)
                running_before = bridge.running
                body = read_all(bridge.handle(make_environ()))
                lt = bridge._loop_thread
                report = {
                    "running_before": running_before,
                    "body": body.decode(),
                    "factory_pids": spans.factory_pids,
                    "loop_pid": lt.pid if lt else None,
                    "same_loop_object": lt is parent_loop,
                    "child_pid": os.getpid(),
                }
                bridge.shutdown()
                report["threads_after_shutdown"] = [
                    t.name for t in threading.enumerate() if t.name == bridge.name and t.is_alive()
                ]
                os.write(write_fd, json.dumps(report).encode())
                code = 0
            finally:
                os._exit(code)
        os.close(write_fd)
        with os.fdopen(read_fd, "rb") as pipe:
            data = pipe.read()
        _, status = os.waitpid(pid, 0)
        assert status == 0
        report = json.loads(data)
        assert report["running_before"] is False  # the parent's loop is not considered usable
        assert report["body"] == "hello"
        assert report["same_loop_object"] is False
        assert report["loop_pid"] == report["child_pid"] == pid
        assert report["factory_pids"] == [os.getpid(), pid]  # a fresh app + lifespan in the child
        assert report["threads_after_shutdown"] == []
        # The parent's bridge is untouched by the fork.
        assert bridge._loop_thread is parent_loop
        assert bridge.running
        assert read_all(bridge.handle(make_environ())) == b"hello"
    finally:
        bridge.shutdown()


# ------------------------------------------------------------------------------------------
# Server capability checks
# ------------------------------------------------------------------------------------------


def test_check_wsgi_server_matrix(caplog: pytest.LogCaptureFixture) -> None:
    threaded = {"wsgi.multithread": True, "wsgi.multiprocess": False, "wsgi.run_once": False}
    sync_worker = {"wsgi.multithread": False, "wsgi.multiprocess": True, "wsgi.run_once": False}
    cgi = {"wsgi.multithread": False, "wsgi.multiprocess": True, "wsgi.run_once": True}

    for environ in (threaded, sync_worker, cgi):
        check_wsgi_server(environ, stateful=False, sse=False)  # stateless JSON works everywhere
    check_wsgi_server(threaded, stateful=True, sse=True)
    with pytest.raises(UnsupportedServerError, match="multithreaded"):
        check_wsgi_server(sync_worker, stateful=True, sse=False)
    with pytest.raises(UnsupportedServerError, match="run-once"):
        check_wsgi_server(cgi, stateful=True, sse=True)
    with caplog.at_level(logging.WARNING, logger="mcp_tools.server.wsgi"):
        check_wsgi_server(sync_worker, stateful=False, sse=True)
        check_wsgi_server({**threaded, "wsgi.multiprocess": True}, stateful=True, sse=True)
    assert "hold its only thread" in caplog.text
    assert "routed" in caplog.text or "route each session" in caplog.text


def test_a_stateful_bridge_refuses_a_single_threaded_server(bridges: Callable[..., AsgiBridge]) -> None:
    bridge = bridges(hello_app, stateful=True, sse=True)
    environ = make_environ()
    environ["wsgi.multithread"] = False
    with pytest.raises(UnsupportedServerError):
        bridge.handle(environ)
    assert not bridge.running
    environ["wsgi.multithread"] = True
    assert read_all(bridge.handle(environ)) == b"hello"


# ------------------------------------------------------------------------------------------
# End to end: the SDK's client against a real MCPServer behind the bridge
# ------------------------------------------------------------------------------------------


@dataclass
class Exercise:
    version: str
    tools: list[str]
    added: object
    whoami: str
    slow: str
    progress_at: list[float]
    result_at: float


async def exercise(url: str, mode: str, token: str = "alice-1") -> Exercise:
    """list_tools, call add / whoami / slow (with progress), through the SDK client."""
    timeout = httpx2.Timeout(30, read=60)
    http = httpx2.AsyncClient(headers={"Authorization": f"Bearer {token}"}, timeout=timeout)
    async with http, Client(streamable_http_client(url, http_client=http), mode=mode) as client:
        tools = sorted(t.name for t in (await client.list_tools()).tools)
        added = (await client.call_tool("add", {"a": 2, "b": 3})).structured_content
        who = (await client.call_tool("whoami", {})).content[0]
        progress_at: list[float] = []
        start = time.monotonic()

        async def on_progress(progress: float, total: float | None, message: str | None) -> None:
            progress_at.append(time.monotonic() - start)

        slow = (await client.call_tool("slow", {"steps": 3}, progress_callback=on_progress)).content[0]
        result_at = time.monotonic() - start
        return Exercise(
            version=str(client.session.protocol_version),
            tools=tools,
            added=added,
            whoami=getattr(who, "text", ""),
            slow=getattr(slow, "text", ""),
            progress_at=progress_at,
            result_at=result_at,
        )


def assert_exercise(result: Exercise, mode: str, *, streamed: bool) -> None:
    assert result.version == ("2025-11-25" if mode == "legacy" else "2026-07-28")
    assert result.tools == ["add", "slow", "whoami"]
    assert result.added == {"result": 5}
    assert result.whoami == "alice"
    assert result.slow == "done 3"
    if streamed:
        # Progress arrives while the tool runs, STEP_DELAY apart, not all at the end.
        assert len(result.progress_at) == 3
        assert result.progress_at[0] < result.result_at - 1.5 * wsgi_apps.STEP_DELAY
        assert result.progress_at[2] - result.progress_at[0] > 1.5 * wsgi_apps.STEP_DELAY
    else:
        assert result.progress_at == []  # JSON responses carry no notifications


@contextlib.contextmanager
def werkzeug_server(app: wsgi_apps.TestWsgiApp) -> Iterator[str]:
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, name="werkzeug-test-server")
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.port}/mcp"
    finally:
        app.bridge.shutdown()  # ends open streams so request threads can finish
        server.shutdown()
        server.server_close()
        thread.join(5)


class _QuietHandler(WSGIRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        pass


class _ThreadingWSGIServer(socketserver.ThreadingMixIn, WSGIServer):
    daemon_threads = True


@contextlib.contextmanager
def wsgiref_server(app: wsgi_apps.TestWsgiApp) -> Iterator[str]:
    """wsgiref, like waitress, asserts that no hop-by-hop header is set; validator checks PEP 3333."""
    checked = validator(app)

    def threaded_app(environ: Any, start_response: Any) -> Any:
        # wsgiref's handler always reports wsgi.multithread=False; this server does use threads.
        environ["wsgi.multithread"] = True
        return checked(environ, start_response)

    server = _ThreadingWSGIServer(("127.0.0.1", 0), _QuietHandler)
    server.set_app(threaded_app)
    thread = threading.Thread(target=server.serve_forever, name="wsgiref-test-server")
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}/mcp"
    finally:
        app.bridge.shutdown()
        server.shutdown()
        server.server_close()
        thread.join(5)


@pytest.mark.anyio
async def test_werkzeug_stateful_sse_both_eras() -> None:
    app = wsgi_apps.make_app(stateless=False, json_response=False)
    with werkzeug_server(app) as url:
        for mode in ("legacy", "auto"):
            assert_exercise(await exercise(url, mode), mode, streamed=True)


@pytest.mark.anyio
async def test_werkzeug_stateless_json_both_eras() -> None:
    app = wsgi_apps.make_app(stateless=True, json_response=True)
    with werkzeug_server(app) as url:
        for mode in ("legacy", "auto"):
            assert_exercise(await exercise(url, mode), mode, streamed=False)
        # No token: the SDK sees no identity.
        async with (
            httpx2.AsyncClient() as http,
            Client(streamable_http_client(url, http_client=http)) as client,
        ):
            who = (await client.call_tool("whoami", {})).content[0]
            assert getattr(who, "text", "") == "anonymous"


@pytest.mark.anyio
async def test_wsgiref_with_validator_stateful_sse_both_eras() -> None:
    app = wsgi_apps.make_app(stateless=False, json_response=False)
    with wsgiref_server(app) as url:
        for mode in ("legacy", "auto"):
            assert_exercise(await exercise(url, mode), mode, streamed=True)


@pytest.mark.anyio
async def test_sdk_sse_response_reaches_the_wire_without_hop_by_hop_headers() -> None:
    app = wsgi_apps.make_app(stateless=False, json_response=False)
    with werkzeug_server(app) as url:
        body = {
            "jsonrpc": "2.0",
            "id": 1,
            "method": "initialize",
            "params": {
                "protocolVersion": "2025-11-25",
                "capabilities": {},
                "clientInfo": {"name": "raw", "version": "0"},
            },
        }
        headers = {"Accept": "application/json, text/event-stream", "Authorization": "Bearer alice-1"}
        async with httpx2.AsyncClient() as http:
            response = await http.post(url, json=body, headers=headers)
            assert response.status_code == 200
            assert response.headers["content-type"].startswith("text/event-stream")
            assert "keep-alive" not in response.headers.get("connection", "").lower()
            assert "keep-alive" not in response.headers
            session = response.headers["mcp-session-id"]
            await http.delete(url, headers={**headers, "Mcp-Session-Id": session})


def test_oversized_body_over_http_is_413() -> None:
    app = wsgi_apps.make_app(stateless=True, json_response=True, max_body_size=64 * 1024)
    with werkzeug_server(app) as url:
        response = httpx2.post(
            url, content=b"{" + b" " * (128 * 1024) + b"}", headers={"Content-Type": "application/json"}
        )
        assert response.status_code == 413
        assert response.json()["error"]["message"] == "Request body too large"
        assert not app.bridge.running


# ------------------------------------------------------------------------------------------
# gunicorn (subprocess)
# ------------------------------------------------------------------------------------------


@contextlib.contextmanager
def gunicorn(*args: str, env: dict[str, str]) -> Iterator[tuple[str, subprocess.Popen[bytes], Path]]:
    port = free_port()
    log = REPO_ROOT / ".pytest_cache" / f"gunicorn-{port}.log"
    log.parent.mkdir(exist_ok=True)
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [
                str(GUNICORN),
                "-b",
                f"127.0.0.1:{port}",
                "--graceful-timeout",
                "3",
                *args,
                "tests.core.wsgi_apps:app",
            ],
            cwd=REPO_ROOT,
            env={**os.environ, "PYTHONPATH": str(REPO_ROOT), **env},
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 20
        while True:
            assert proc.poll() is None, log.read_text()
            with contextlib.suppress(httpx2.HTTPError):
                if httpx2.get(f"{base}/_bridge", timeout=1).status_code == 200:
                    break
            assert time.monotonic() < deadline, "gunicorn did not come up"
            time.sleep(0.1)
        yield base, proc, log
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(5)
        log.unlink(missing_ok=True)


@pytest.mark.slow
@pytest.mark.anyio
async def test_gunicorn_gthread_preload_fork_safety_and_streaming() -> None:
    env = {"MCP_BRIDGE_STATELESS": "1", "MCP_BRIDGE_JSON": "0", "MCP_BRIDGE_EAGER": "1"}
    args = ("-k", "gthread", "--threads", "4", "-w", "2", "--preload")
    with gunicorn(*args, env=env) as (base, proc, _log):
        for mode in ("legacy", "auto"):
            assert_exercise(await exercise(f"{base}/mcp", mode), mode, streamed=True)
        # Every worker that answered runs its own loop thread, started in its own process;
        # none reuses the loop the --preload master started before forking.
        seen: dict[int, dict[str, Any]] = {}
        async with httpx2.AsyncClient() as http:
            for _ in range(40):
                report = (await http.get(f"{base}/_bridge")).json()
                seen[report["pid"]] = report
        assert proc.pid not in seen
        assert any(report["running"] for report in seen.values())
        for pid, report in seen.items():
            if report["running"]:  # served MCP: a loop of its own, started in this process
                assert report["loop_pid"] == pid
                assert len(report["loop_threads"]) == 1
            else:  # not yet asked: nothing inherited from the master, no thread
                assert report["loop_pid"] is None
                assert report["loop_threads"] == []


@pytest.mark.slow
def test_gunicorn_sync_worker_refuses_stateful_sessions() -> None:
    env = {"MCP_BRIDGE_STATELESS": "0", "MCP_BRIDGE_JSON": "0"}
    with gunicorn("-k", "sync", "-w", "1", env=env) as (base, _proc, log):
        response = httpx2.post(
            f"{base}/mcp",
            json={"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {}},
            headers={"Accept": "application/json, text/event-stream"},
        )
        assert response.status_code == 500
        deadline = time.monotonic() + 5
        while "need a multithreaded WSGI server" not in log.read_text() and time.monotonic() < deadline:
            time.sleep(0.05)
        assert "stateful MCP sessions need a multithreaded WSGI server" in log.read_text()


def test_exit_hook_shuts_down_live_bridges(monkeypatch: pytest.MonkeyPatch) -> None:
    # Interpreter exit shuts down every live bridge (the atexit hook calls this function).
    # A registry of its own: the real one holds the bridges of other tests' apps (Django's
    # hand-wired /ts/mcp view, say), which must keep working for the rest of the session.
    monkeypatch.setattr(hooks, "_bridges", weakref.WeakSet())
    bridge = AsgiBridge(hello_app)
    assert bridge in hooks._bridges
    bridge.start()
    hooks._shutdown_bridges_at_exit()
    assert not bridge.running


_EXIT_SCRIPT = """
import io, json, sys
from tests.core.wsgi_apps import make_app

app = make_app(stateless=True, json_response=True)
MODERN = "2026-07-28"

def environ(version):
    params = {"name": "add", "arguments": {"a": 1, "b": 2}}
    headers = {"HTTP_MCP_PROTOCOL_VERSION": version}
    if version == MODERN:
        params["_meta"] = {"io.modelcontextprotocol/protocolVersion": MODERN,
                           "io.modelcontextprotocol/clientInfo": {"name": "t", "version": "1"},
                           "io.modelcontextprotocol/clientCapabilities": {}}
        headers.update(HTTP_MCP_METHOD="tools/call", HTTP_MCP_NAME="add")
    body = json.dumps({"jsonrpc": "2.0", "id": 1, "method": "tools/call", "params": params}).encode()
    return {"REQUEST_METHOD": "POST", "PATH_INFO": "/mcp", "SERVER_NAME": "127.0.0.1",
            "SERVER_PORT": "8000", "HTTP_HOST": "127.0.0.1:8000", "wsgi.url_scheme": "http",
            "wsgi.input": io.BytesIO(body), "CONTENT_LENGTH": str(len(body)),
            "CONTENT_TYPE": "application/json", "HTTP_ACCEPT": "application/json, text/event-stream",
            "wsgi.multithread": True, **headers}

def text(raw):
    return json.loads(raw)["result"]["content"][0]["text"]

# A synchronous tool on the loop thread (the hop) and on a pooled inline loop: each path
# leaves an anyio worker thread (not a daemon) behind, bound to its loop.
hop = b"".join(app.bridge.handle(environ("2025-11-25")))
inline = b"".join(app.bridge.handle_inline(environ(MODERN)))
print(text(hop), text(inline))
sys.stdout.flush()
# No shutdown(): the interpreter's exit must stop the bridge and its worker threads.
"""


@pytest.mark.slow
def test_process_exits_promptly_without_an_explicit_shutdown(tmp_path: Path) -> None:
    # anyio's worker threads are not daemons: unless the bridge stops their loops before Python
    # joins non-daemon threads, the process never exits (a gunicorn worker hangs until killed).
    script = tmp_path / "exit_script.py"
    script.write_text(_EXIT_SCRIPT)
    root = Path(__file__).resolve().parents[2]
    try:
        # Start-up (imports) takes a few seconds on a loaded machine; a hang never ends.
        result = subprocess.run(
            [sys.executable, str(script)],
            cwd=root,
            env={**os.environ, "PYTHONPATH": str(root)},
            capture_output=True,
            text=True,
            timeout=45,
        )
    except subprocess.TimeoutExpired as exc:
        pytest.fail(f"the process did not exit within 45 s after its last request: {exc.stderr!r}")
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["3", "3"]
