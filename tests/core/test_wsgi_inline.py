"""Requests served on the WSGI worker thread's own event loop (no hop to the bridge's loop thread).

``AsgiBridge.handle_inline`` runs an ASGI app on a pooled loop in the calling thread;
``McpEndpoint.loop_free`` decides which MCP requests may take that path and
``WsgiMcpEndpoint`` wires the two together.
"""

from __future__ import annotations

import contextlib
import contextvars
import io
import json
import threading
import time
from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any
from wsgiref.util import setup_testing_defaults

import anyio
import pytest
from mcp.server import MCPServer
from mcp.server.auth.middleware.auth_context import get_access_token

from mcp_tools.http import Headers, Request
from mcp_tools.server.resource_server import McpResourceServer
from mcp_tools.server.verifiers import JWTVerifier
from mcp_tools.server.wsgi import AsgiBridge, WsgiMcpEndpoint

from .tokens import ISSUER, RESOURCE, claims, jwks, mint, rsa_key

KEY = rsa_key("inline-1")
VAR: contextvars.ContextVar[str] = contextvars.ContextVar("inline_test_var", default="unset")


def _wait_for_threads(baseline: set[threading.Thread], timeout: float = 5.0) -> list[str]:
    deadline = time.monotonic() + timeout
    while True:
        extra = [t.name for t in threading.enumerate() if t not in baseline and t.is_alive()]
        if not extra or time.monotonic() > deadline:
            return extra
        time.sleep(0.02)


@pytest.fixture(autouse=True)
def no_leaked_threads() -> Iterator[None]:
    baseline = set(threading.enumerate())
    yield
    assert _wait_for_threads(baseline) == []


def environ_for(body: bytes = b"", headers: dict[str, str] | None = None) -> dict[str, Any]:
    environ: dict[str, Any] = {
        "REQUEST_METHOD": "POST",
        "PATH_INFO": "/mcp",
        "wsgi.input": io.BytesIO(body),
        "CONTENT_LENGTH": str(len(body)) if body else "",
    }
    for name, value in (headers or {}).items():
        key = name.upper().replace("-", "_")
        environ[key if key in ("CONTENT_TYPE", "CONTENT_LENGTH") else f"HTTP_{key}"] = value
    setup_testing_defaults(environ)
    return environ


def read_all(response: Any) -> bytes:
    try:
        return b"".join(response)
    finally:
        response.close()


# -- the bridge ---------------------------------------------------------------------------------


@pytest.fixture
def bridge_for() -> Iterator[Callable[..., AsgiBridge]]:
    made: list[AsgiBridge] = []

    def make(app: Any, **options: Any) -> AsgiBridge:
        bridge = AsgiBridge(app, **options)
        made.append(bridge)
        return bridge

    yield make
    for bridge in made:
        bridge.shutdown()


def test_runs_in_the_calling_thread_and_returns_the_whole_response(
    bridge_for: Callable[..., AsgiBridge],
) -> None:
    seen: dict[str, Any] = {}

    async def app(scope: Any, receive: Any, send: Any) -> None:
        message = await receive()
        seen["thread"] = threading.current_thread()
        seen["user"] = scope.get("user")
        await send(
            {
                "type": "http.response.start",
                "status": 201,
                "headers": [(b"x-a", b"1"), (b"connection", b"close")],
            }
        )
        await send({"type": "http.response.body", "body": message["body"][:2], "more_body": True})
        await send({"type": "http.response.body", "body": message["body"][2:]})

    bridge = bridge_for(app)
    response = bridge.handle_inline(environ_for(b"hello"), extra_scope={"user": "alice"})
    assert response.status == 201
    assert response.headers == [("x-a", "1")]  # hop-by-hop stripped, as on the normal path
    assert read_all(response) == b"hello"
    assert seen == {"thread": threading.current_thread(), "user": "alice"}


def test_each_request_starts_from_an_empty_context(bridge_for: Callable[..., AsgiBridge]) -> None:
    seen: list[str] = []

    async def app(scope: Any, receive: Any, send: Any) -> None:
        seen.append(VAR.get())
        VAR.set("set by a request")  # never reset: must not reach the next request
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b""})

    bridge = bridge_for(app)
    token = VAR.set("worker thread value")
    try:
        for _ in range(3):
            assert bridge.handle_inline(environ_for()).status == 200
    finally:
        VAR.reset(token)
    assert seen == ["unset", "unset", "unset"]


@pytest.mark.parametrize("response_timeout", [None, 60.0])  # 60 s: the WsgiOptions default
def test_loops_and_anyio_worker_threads_are_reused(
    bridge_for: Callable[..., AsgiBridge], response_timeout: float | None
) -> None:
    loops: list[int] = []
    workers: list[int] = []

    async def app(scope: Any, receive: Any, send: Any) -> None:
        loops.append(id(asyncio_loop()))
        workers.append(await anyio.to_thread.run_sync(threading.get_ident))
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"ok"})

    bridge = bridge_for(app, response_timeout=response_timeout)
    for _ in range(5):
        assert read_all(bridge.handle_inline(environ_for())) == b"ok"
    assert len(set(loops)) == 1
    assert len(set(workers)) == 1  # not a new thread per request


def asyncio_loop() -> Any:
    import asyncio

    return asyncio.get_running_loop()


def test_concurrent_threads_get_their_own_loops(bridge_for: Callable[..., AsgiBridge]) -> None:
    gate = threading.Barrier(4, timeout=10)
    loops: set[int] = set()

    async def app(scope: Any, receive: Any, send: Any) -> None:
        loops.add(id(asyncio_loop()))
        await anyio.to_thread.run_sync(gate.wait)  # all four requests in flight at once
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"ok"})

    bridge = bridge_for(app)
    results: list[bytes] = []
    threads = [
        threading.Thread(target=lambda: results.append(read_all(bridge.handle_inline(environ_for()))))
        for _ in range(4)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=10)
    assert results == [b"ok"] * 4
    assert len(loops) == 4


def test_failures_map_to_the_bridge_statuses(
    bridge_for: Callable[..., AsgiBridge], caplog: pytest.LogCaptureFixture
) -> None:
    async def broken(scope: Any, receive: Any, send: Any) -> None:
        raise ValueError("secret internals")

    async def silent(scope: Any, receive: Any, send: Any) -> None:
        return None

    async def stuck(scope: Any, receive: Any, send: Any) -> None:
        await anyio.sleep(30)

    response = bridge_for(broken).handle_inline(environ_for())
    assert response.status == 500
    assert b"secret" not in read_all(response)
    assert bridge_for(silent).handle_inline(environ_for()).status == 500
    began = time.monotonic()
    assert bridge_for(stuck, response_timeout=0.2).handle_inline(environ_for()).status == 504
    assert time.monotonic() - began < 5


def test_pool_exhausted_falls_back_to_the_loop_thread(
    bridge_for: Callable[..., AsgiBridge], monkeypatch: pytest.MonkeyPatch
) -> None:
    from mcp_tools.server.wsgi import inline

    threads: list[threading.Thread] = []

    async def app(scope: Any, receive: Any, send: Any) -> None:
        threads.append(threading.current_thread())
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"ok"})

    monkeypatch.setattr(inline, "_MAX_INLINE_LOOPS", 0)
    assert read_all(bridge_for(app).handle_inline(environ_for())) == b"ok"
    assert threads[0] is not threading.current_thread()


def test_shutdown_closes_the_pooled_loops(bridge_for: Callable[..., AsgiBridge]) -> None:
    async def app(scope: Any, receive: Any, send: Any) -> None:
        await anyio.to_thread.run_sync(lambda: None)
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b""})

    bridge = bridge_for(app)
    bridge.handle_inline(environ_for())
    pooled = list(bridge._inline._idle)
    assert len(pooled) == 1
    bridge.shutdown()
    assert pooled[0].loop.is_closed()
    assert bridge.handle_inline(environ_for()).status == 503


# -- the MCP endpoint ---------------------------------------------------------------------------


def build_server(**options: Any) -> MCPServer:
    server = MCPServer("inline-test", version="0.1", log_level="WARNING", **options)

    @server.tool()
    def whoami() -> str:
        token = get_access_token()
        return f"{token.subject if token else None} {threading.current_thread().name}"

    @server.tool()
    async def whoami_async() -> str:
        token = get_access_token()
        return f"{token.subject if token else None} {threading.current_thread().name}"

    return server


@pytest.fixture
def wsgi_endpoint() -> Iterator[Callable[..., WsgiMcpEndpoint]]:
    made: list[WsgiMcpEndpoint] = []

    def make(
        server: MCPServer | None = None, *, json_response: bool = True, **options: Any
    ) -> WsgiMcpEndpoint:
        resource = McpResourceServer(
            server or build_server(),
            verifier=JWTVerifier(issuer=ISSUER, audience=RESOURCE, keys=jwks(KEY)),
            resource_url=RESOURCE,
            authorization_servers=[ISSUER],
            json_response=json_response,
        )
        endpoint = WsgiMcpEndpoint(resource.endpoint, **options)
        made.append(endpoint)
        return endpoint

    yield make
    for endpoint in made:
        endpoint.shutdown()


def call(
    endpoint: WsgiMcpEndpoint,
    method: str,
    params: dict[str, Any],
    *,
    era: str = "2026-07-28",
    subject: str = "alice",
) -> tuple[int, Any]:
    message: dict[str, Any] = {"jsonrpc": "2.0", "id": 1, "method": method, "params": dict(params)}
    token = mint(KEY, claims(sub=subject, iat=None, nbf=None, exp=int(time.time()) + 3600))
    headers = {
        "Host": "api.example.test",
        "Content-Type": "application/json",
        "Accept": "application/json, text/event-stream",
        "MCP-Protocol-Version": era,
        "Authorization": f"Bearer {token}",
    }
    if era == "2026-07-28":
        message["params"]["_meta"] = {
            "io.modelcontextprotocol/protocolVersion": era,
            "io.modelcontextprotocol/clientInfo": {"name": "t", "version": "1"},
            "io.modelcontextprotocol/clientCapabilities": {},
        }
        headers["Mcp-Method"] = method
        if "name" in params:
            headers["Mcp-Name"] = params["name"]
    body = json.dumps(message).encode()
    request = Request(
        method="POST", url="https://api.example.test/mcp", headers=Headers(list(headers.items())), body=body
    )
    response = endpoint.handle(environ_for(body, headers), request)
    content = read_all(response) if not hasattr(response, "body") else response.body
    return response.status, json.loads(content)


@contextlib.contextmanager
def spy(endpoint: WsgiMcpEndpoint) -> Iterator[list[str]]:
    paths: list[str] = []
    bridge = endpoint.bridge
    original_inline, original_handle = bridge.handle_inline, bridge.handle

    def inline(*args: Any, **kwargs: Any) -> Any:
        paths.append("inline")
        return original_inline(*args, **kwargs)

    def hop(*args: Any, **kwargs: Any) -> Any:
        paths.append("bridge")
        return original_handle(*args, **kwargs)

    bridge.handle_inline = inline  # type: ignore[method-assign]
    bridge.handle = hop  # type: ignore[method-assign]
    try:
        yield paths
    finally:
        del bridge.handle_inline, bridge.handle


def tool_text(result: Any) -> str:
    return str(result["result"]["content"][0]["text"])


def test_sync_tools_and_listing_run_inline_with_the_callers_identity(
    wsgi_endpoint: Callable[..., WsgiMcpEndpoint],
) -> None:
    endpoint = wsgi_endpoint()
    with spy(endpoint) as paths:
        status, first = call(endpoint, "tools/call", {"name": "whoami", "arguments": {}})  # starts the bridge
        assert status == 200
        assert tool_text(first).startswith("alice ")
        status, second = call(endpoint, "tools/call", {"name": "whoami", "arguments": {}}, subject="bob")
        assert status == 200
        assert tool_text(second).startswith("bob ")
        status, listing = call(endpoint, "tools/list", {})
        assert status == 200
        assert {t["name"] for t in listing["result"]["tools"]} == {"whoami", "whoami_async"}
    assert paths == ["bridge", "inline", "inline"]


def test_async_tools_legacy_era_and_unknown_tools_keep_the_shared_loop(
    wsgi_endpoint: Callable[..., WsgiMcpEndpoint],
) -> None:
    endpoint = wsgi_endpoint()
    endpoint.start()
    with spy(endpoint) as paths:
        status, result = call(endpoint, "tools/call", {"name": "whoami_async", "arguments": {}})
        assert status == 200
        assert tool_text(result).startswith("alice mcp-tools-wsgi-bridge")  # the bridge's loop thread
        status, result = call(endpoint, "tools/call", {"name": "whoami", "arguments": {}}, era="2025-11-25")
        assert status == 200
        assert tool_text(result).startswith("alice ")
        call(endpoint, "tools/call", {"name": "nope", "arguments": {}})
    assert paths == ["bridge", "bridge", "bridge"]


def test_refusals_never_reach_either_path(wsgi_endpoint: Callable[..., WsgiMcpEndpoint]) -> None:
    endpoint = wsgi_endpoint()
    endpoint.start()
    body = b'{"jsonrpc":"2.0","id":1,"method":"tools/list","params":{}}'
    headers = {
        "Host": "api.example.test",
        "MCP-Protocol-Version": "2026-07-28",
        "Authorization": "Bearer nope",
    }
    request = Request(
        method="POST", url="https://api.example.test/mcp", headers=Headers(list(headers.items())), body=body
    )
    with spy(endpoint) as paths:
        assert endpoint.handle(environ_for(body, headers), request).status == 401
    assert paths == []


def test_inline_can_be_disabled_and_needs_json_and_the_default_lifespan(
    wsgi_endpoint: Callable[..., WsgiMcpEndpoint],
) -> None:
    @contextlib.asynccontextmanager
    async def lifespan(_server: Any) -> AsyncIterator[dict[str, Any]]:
        yield {"pool": object()}  # could be bound to the bridge's loop

    for endpoint in (
        wsgi_endpoint(inline=False),
        wsgi_endpoint(build_server(lifespan=lifespan)),
    ):
        endpoint.start()
        with spy(endpoint) as paths:
            status, result = call(endpoint, "tools/call", {"name": "whoami", "arguments": {}})
        assert status == 200
        assert tool_text(result).startswith("alice ")
        assert paths == ["bridge"]
    sse = wsgi_endpoint(json_response=False)
    sse.start()
    body = b'{"jsonrpc":"2.0","id":1,"method":"tools/list","params":{}}'
    request = Request(
        method="POST",
        url="https://api.example.test/mcp",
        headers=Headers([("MCP-Protocol-Version", "2026-07-28")]),
        body=body,
    )
    assert not sse.endpoint.loop_free(request)
