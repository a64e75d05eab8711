"""One request, one description on the WSGI path, and the shared ASGI response state machine.

The scope is built once and the core request derived from it, the JSON-RPC body is parsed once
for the scope check and the inline decision, the bridge prepares a request once even when the
inline pool is exhausted, and every ASGI response collector follows one state machine.
"""

from __future__ import annotations

import asyncio
import io
import json
import time
from collections.abc import Callable, Iterator
from typing import Any
from wsgiref.util import setup_testing_defaults

import pytest
from mcp.server import MCPServer

from mcp_tools.asgi import ResponseCollector, collect_response
from mcp_tools.http import Headers, Request
from mcp_tools.server import rpc
from mcp_tools.server.resource_server import McpResourceServer
from mcp_tools.server.rpc import RpcPeek, peek_rpc
from mcp_tools.server.verifiers import JWTVerifier
from mcp_tools.server.wsgi import AsgiBridge, WsgiMcpEndpoint, inline

from .tokens import ISSUER, RESOURCE, claims, jwks, mint, rsa_key

KEY = rsa_key("request-1")
MODERN = "2026-07-28"


def environ_for(body: bytes, headers: dict[str, str]) -> dict[str, Any]:
    environ: dict[str, Any] = {
        "REQUEST_METHOD": "POST",
        "PATH_INFO": "/mcp",
        "wsgi.input": io.BytesIO(body),
        "CONTENT_LENGTH": str(len(body)),
        "wsgi.multithread": True,
    }
    for name, value in headers.items():
        key = name.upper().replace("-", "_")
        environ[key if key in ("CONTENT_TYPE", "CONTENT_LENGTH") else f"HTTP_{key}"] = value
    setup_testing_defaults(environ)
    return environ


def request(body: bytes, **headers: str) -> Request:
    return Request("POST", "https://api.example.test/mcp", Headers(list(headers.items())), body)


# -- the JSON-RPC peek ---------------------------------------------------------------------------


def test_peek_reads_method_and_tools_and_is_kept_on_the_request() -> None:
    call = request(b'{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"add"}}')
    peek = peek_rpc(call)
    assert peek == RpcPeek(method="tools/call", tool="add", tools=("add",))
    assert peek_rpc(call) is peek
    batch = b'[{"method":"tools/call","params":{"name":"a"}},{"method":"tools/call","params":{"name":"b"}}]'
    assert peek_rpc(request(batch)) == RpcPeek(tools=("a", "b"))
    for junk in (b"", b"{", b"[1, 2]", b'{"method": 3}', b"\xff"):
        assert peek_rpc(request(junk)) == RpcPeek()
    assert peek_rpc(request(b'{"method":"tools/list"}')) == RpcPeek(method="tools/list")


@pytest.fixture
def endpoint_for() -> Iterator[Callable[..., WsgiMcpEndpoint]]:
    made: list[WsgiMcpEndpoint] = []

    def make(server: MCPServer, **options: Any) -> WsgiMcpEndpoint:
        resource = McpResourceServer(
            server,
            verifier=JWTVerifier(issuer=ISSUER, audience=RESOURCE, keys=jwks(KEY)),
            resource_url=RESOURCE,
            authorization_servers=[ISSUER],
            **options,
        )
        endpoint = WsgiMcpEndpoint(resource.endpoint)
        made.append(endpoint)
        return endpoint

    yield make
    for endpoint in made:
        endpoint.shutdown()


def tool_call(name: str) -> tuple[bytes, dict[str, str]]:
    meta = {
        "io.modelcontextprotocol/protocolVersion": MODERN,
        "io.modelcontextprotocol/clientInfo": {"name": "t", "version": "1"},
        "io.modelcontextprotocol/clientCapabilities": {},
    }
    message = {"jsonrpc": "2.0", "id": 1, "method": "tools/call", "params": {"name": name, "arguments": {}}}
    message["params"]["_meta"] = meta  # type: ignore[index]
    token = mint(KEY, claims(scope="notes:write", iat=None, nbf=None, exp=int(time.time()) + 3600))
    headers = {
        "Host": "api.example.test",
        "Content-Type": "application/json",
        "Accept": "application/json, text/event-stream",
        "MCP-Protocol-Version": MODERN,
        "Mcp-Method": "tools/call",
        "Mcp-Name": name,
        "Authorization": f"Bearer {token}",
    }
    return json.dumps(message).encode(), headers


def test_the_body_is_parsed_once_for_scopes_and_the_inline_decision(
    endpoint_for: Callable[..., WsgiMcpEndpoint], monkeypatch: pytest.MonkeyPatch
) -> None:
    server = MCPServer("once", log_level="WARNING")

    @server.tool()
    def note() -> str:
        return "noted"

    endpoint = endpoint_for(server, tool_scopes={"note": ["notes:write"]})
    endpoint.start()
    parses: list[bytes] = []
    real_loads = json.loads

    class CountingJson:
        @staticmethod
        def loads(data: Any) -> Any:
            parses.append(data)
            return real_loads(data)

    monkeypatch.setattr(rpc, "json", CountingJson)
    paths: list[str] = []
    bridge = endpoint.bridge
    real_inline, real_hop = bridge.handle_inline, bridge.handle
    monkeypatch.setattr(bridge, "handle_inline", lambda *a, **k: paths.append("in") or real_inline(*a, **k))
    monkeypatch.setattr(bridge, "handle", lambda *a, **k: paths.append("hop") or real_hop(*a, **k))
    body, headers = tool_call("note")
    served = endpoint.serve(environ_for(body, headers))
    content = b"".join(served)  # type: ignore[union-attr]
    assert served.status == 200, content
    assert json.loads(content)["result"]["content"][0]["text"] == "noted"
    assert paths == ["in"]
    assert parses == [body]  # the scope check and loop_free shared one parse


# -- the bridge --------------------------------------------------------------------------------


def test_a_request_is_prepared_once_when_the_inline_pool_is_exhausted(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    async def app(scope: Any, receive: Any, send: Any) -> None:
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": (await receive())["body"]})

    bridge = AsgiBridge(app)
    try:
        prepared: list[object] = []
        real = bridge._prepare

        def counting(*args: Any) -> Any:
            prepared.append(args)
            return real(*args)

        monkeypatch.setattr(bridge, "_prepare", counting)
        monkeypatch.setattr(inline, "_MAX_INLINE_LOOPS", 0)
        response = bridge.handle_inline(environ_for(b"hi", {}))
        assert b"".join(response) == b"hi"
        response.close()
        assert len(prepared) == 1
    finally:
        bridge.shutdown()


def test_one_constructor_takes_an_app_or_a_factory() -> None:
    async def app(scope: Any, receive: Any, send: Any) -> None:
        return None

    with pytest.raises(TypeError):
        AsgiBridge()
    with pytest.raises(TypeError):
        AsgiBridge(app, factory=lambda: (app, None))
    with pytest.raises(TypeError):
        AsgiBridge(factory=lambda: (app, None), lifespan=lambda: None)  # type: ignore[arg-type,return-value]
    for bridge in (AsgiBridge(app), AsgiBridge(factory=lambda: (app, None))):
        assert bridge.max_body_size == 4 * 1024 * 1024  # the endpoint's default
        bridge.shutdown()


# -- the shared response state machine -----------------------------------------------------------


def test_the_collector_keeps_start_and_body_order() -> None:
    seen: list[tuple[bytes, bool]] = []
    started: list[int | None] = []

    async def keep(chunk: bytes, end: bool) -> None:
        seen.append((chunk, end))

    async def run() -> ResponseCollector:
        response = ResponseCollector(keep, lambda: started.append(response.status))
        with pytest.raises(RuntimeError, match=r"before http\.response\.start"):
            await response.send({"type": "http.response.body", "body": b"x"})
        await response.send({"type": "http.response.start", "status": 201, "headers": [(b"X-A", b"\xe9")]})
        with pytest.raises(RuntimeError, match="twice"):
            await response.send({"type": "http.response.start", "status": 200, "headers": []})
        await response.send({"type": "http.response.trailers"})  # ignored
        await response.send({"type": "http.response.body", "body": b"a", "more_body": True})
        await response.send({"type": "http.response.body", "body": b"b"})
        await response.send({"type": "http.response.body", "body": b"late"})  # after the end: ignored
        return response

    response = asyncio.run(run())
    assert (response.status, response.headers, response.complete) == (201, [("X-A", "\u00e9")], True)
    assert started == [201]
    assert seen == [(b"a", False), (b"b", True)]


def test_collect_response_buffers_and_reports_failures() -> None:
    async def echo(scope: Any, receive: Any, send: Any) -> None:
        body = (await receive())["body"]
        headers = [(b"content-type", b"text/plain")]
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        await send({"type": "http.response.body", "body": body[:1], "more_body": True})
        await send({"type": "http.response.body", "body": body[1:]})
        assert (await receive())["type"] == "http.disconnect"

    async def broken(scope: Any, receive: Any, send: Any) -> None:
        raise ValueError("nope")

    async def silent(scope: Any, receive: Any, send: Any) -> None:
        return None

    expected = (200, [("content-type", "text/plain")], b"hello")
    assert asyncio.run(collect_response(echo, {}, b"hello")) == expected
    assert isinstance(asyncio.run(collect_response(broken, {}, b"")), ValueError)
    assert asyncio.run(collect_response(silent, {}, b"")) is None
