"""Counting open event streams and stateful sessions per principal (``mcp_tools.server.limits``).

Counts taken and given back: a stream is released when its response completes, when the client
disconnects, when the app fails and when it is cancelled; a reserved session is recorded only
when the SDK answered with an ``Mcp-Session-Id`` and forgotten once the SDK no longer holds it.
The last tests run the real SDK behind a stateful :class:`McpEndpoint` (ASGI) and the WSGI
endpoint's sizing of the overall limit from the server's threads.
"""

from __future__ import annotations

import json
from typing import Any

import anyio
import pytest
from mcp.server.auth.middleware.bearer_auth import AuthenticatedUser
from mcp.server.auth.provider import AccessToken

from mcp_tools.errors import ConfigurationError
from mcp_tools.options import McpOptions, TransportOptions
from mcp_tools.server.endpoint import McpEndpoint
from mcp_tools.server.limits import StreamLimits, principal_of
from mcp_tools.server.resource_server import McpResourceServer
from mcp_tools.server.wsgi import WsgiMcpEndpoint
from mcp_tools.server.wsgi.endpoint import DEFAULT_WSGI_MAX_STREAMS
from mcp_tools.server.wsgi.environ import server_threads
from tests.contract.spec import ISSUER, RESOURCE, ContractSettings, make_verifier, mint
from tests.contract.suite import LEGACY, mcp_headers, rpc

ALICE = (ISSUER, "sub", "alice")
BOB = (ISSUER, "sub", "bob")


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


def user(subject: str | None, client_id: str = "app", issuer: str = ISSUER) -> AuthenticatedUser:
    return AuthenticatedUser(
        AccessToken(token="t", client_id=client_id, scopes=[], subject=subject, claims={"iss": issuer})
    )


def scope(method: str, who: AuthenticatedUser | None, **headers: str) -> dict[str, Any]:
    raw = [(k.lower().replace("_", "-").encode(), v.encode()) for k, v in headers.items()]
    entries: dict[str, Any] = {"type": "http", "method": method, "path": "/mcp", "headers": raw}
    if who is not None:
        entries["user"] = who
    return entries


class Recorder:
    """``send`` that keeps the messages, ``receive`` that disconnects when told."""

    def __init__(self) -> None:
        self.messages: list[dict[str, Any]] = []
        self.gone = anyio.Event()

    async def send(self, message: Any) -> None:
        self.messages.append(dict(message))

    async def receive(self) -> dict[str, Any]:
        await self.gone.wait()
        return {"type": "http.disconnect"}

    @property
    def status(self) -> int:
        return int(self.messages[0]["status"])

    def json(self) -> Any:
        return json.loads(b"".join(m.get("body", b"") for m in self.messages[1:]))

    def header(self, name: str) -> str | None:
        wanted = name.lower().encode()
        found = [v.decode() for k, v in self.messages[0]["headers"] if k.lower() == wanted]
        return found[0] if found else None


async def stream_app(scope: Any, receive: Any, send: Any) -> None:
    """An SSE stream that lasts until the client disconnects."""
    await send(
        {"type": "http.response.start", "status": 200, "headers": [(b"content-type", b"text/event-stream")]}
    )
    await send({"type": "http.response.body", "body": b": open\n\n", "more_body": True})
    while (await receive())["type"] != "http.disconnect":
        pass


# -- the counts --------------------------------------------------------------------------------


def test_principals_are_the_verified_subject_per_issuer_or_the_client() -> None:
    assert principal_of(user("alice").access_token) == (ISSUER, "sub", "alice")
    assert principal_of(user("alice", client_id="other").access_token) == (ISSUER, "sub", "alice")
    assert principal_of(user("alice", issuer="https://other.example").access_token) != (
        ISSUER,
        "sub",
        "alice",
    )
    assert principal_of(user(None, client_id="svc").access_token) == (ISSUER, "client", "svc")


def test_streams_per_principal_and_overall() -> None:
    limits = StreamLimits(max_streams_per_principal=2, max_streams=3)
    assert limits.admit_stream(ALICE) is None
    assert limits.admit_stream(ALICE) is None
    refused = limits.admit_stream(ALICE)
    assert refused is not None
    assert refused.status == 405
    assert json.loads(refused.body)["error"] == "too_many_streams"
    assert ("Retry-After", "10") in refused.headers
    assert ("Allow", "POST, DELETE, OPTIONS") in refused.headers
    assert limits.admit_stream(BOB) is None  # another principal is not affected
    overall = limits.admit_stream(BOB)  # three open: the process is full
    assert overall is not None
    assert overall.status == 405
    assert json.loads(overall.body)["error"] == "too_many_streams"
    assert ("Retry-After", "10") in overall.headers
    assert (limits.streams_of(ALICE), limits.streams_of(BOB), limits.open_streams) == (2, 1, 3)
    limits.release_stream(ALICE)
    assert limits.admit_stream(BOB) is None
    for who in (ALICE, BOB, BOB):
        limits.release_stream(who)
    assert (limits.streams_of(ALICE), limits.streams_of(BOB), limits.open_streams) == (0, 0, 0)


def test_sessions_per_principal_count_reservations_and_forget_ended_sessions() -> None:
    limits = StreamLimits(max_sessions_per_principal=2)
    live: set[str] = set()
    assert limits.admit_session(ALICE, live.__contains__) is None
    assert limits.admit_session(ALICE, live.__contains__) is None
    # two requests that may each open one are in flight: a third waits for them
    refused = limits.admit_session(ALICE, live.__contains__)
    assert refused is not None
    assert refused.status == 429
    live.add("s1")
    limits.session_opened(ALICE, "s1", live.__contains__)
    limits.session_opened(ALICE, None, live.__contains__)  # that one opened nothing
    assert limits.sessions_of(ALICE, live.__contains__) == 1
    assert limits.admit_session(ALICE, live.__contains__) is None
    live.add("s2")
    limits.session_opened(ALICE, "s2", live.__contains__)
    assert limits.admit_session(ALICE, live.__contains__) is not None
    assert limits.admit_session(BOB, live.__contains__) is None
    limits.session_opened(BOB, None, live.__contains__)
    live.discard("s1")  # DELETE, idle expiry or a crash: the SDK forgot it
    assert limits.admit_session(ALICE, live.__contains__) is None
    limits.session_opened(ALICE, None, live.__contains__)
    assert limits.sessions_of(ALICE, live.__contains__) == 1


def test_option_values_are_checked() -> None:
    with pytest.raises(ConfigurationError, match="max_streams_per_principal"):
        TransportOptions(max_streams_per_principal=-1)
    with pytest.raises(ConfigurationError, match="max_sessions_per_principal"):
        TransportOptions(max_sessions_per_principal=0)
    assert TransportOptions(max_streams_per_principal=0).max_streams_per_principal == 0


# -- the ASGI wrapper: every way a stream ends gives its slot back ------------------------------


@pytest.mark.anyio
async def test_a_stream_is_held_until_the_client_disconnects() -> None:
    limits = StreamLimits(max_streams_per_principal=1)
    app = limits.wrap(stream_app, lambda _: True)
    first, second = Recorder(), Recorder()
    async with anyio.create_task_group() as tg:
        tg.start_soon(app, scope("GET", user("alice")), first.receive, first.send)
        with anyio.fail_after(5):
            while not first.messages:
                await anyio.sleep(0.01)
        assert limits.streams_of(ALICE) == 1
        await app(scope("GET", user("alice")), second.receive, second.send)
        assert second.status == 405
        assert second.json()["error"] == "too_many_streams"
        assert second.header("retry-after") == "10"
        first.gone.set()
    assert limits.open_streams == 0
    third = Recorder()
    third.gone.set()
    await app(scope("GET", user("alice")), third.receive, third.send)
    assert third.status == 200
    assert limits.open_streams == 0


@pytest.mark.anyio
async def test_a_stream_is_released_on_completion_failure_and_cancellation() -> None:
    limits = StreamLimits(max_streams_per_principal=1)

    async def completes(scope: Any, receive: Any, send: Any) -> None:
        await send({"type": "http.response.start", "status": 404, "headers": []})
        await send({"type": "http.response.body", "body": b"{}"})

    async def fails(scope: Any, receive: Any, send: Any) -> None:
        raise RuntimeError("boom")

    async def hangs(scope: Any, receive: Any, send: Any) -> None:
        await anyio.sleep_forever()

    await limits.wrap(completes, lambda _: True)(
        scope("GET", user("alice")), Recorder().receive, Recorder().send
    )
    assert limits.open_streams == 0
    with pytest.raises(RuntimeError, match="boom"):
        await limits.wrap(fails, lambda _: True)(
            scope("GET", user("alice")), Recorder().receive, Recorder().send
        )
    assert limits.open_streams == 0
    with anyio.move_on_after(0.1):
        await limits.wrap(hangs, lambda _: True)(
            scope("GET", user("alice")), Recorder().receive, Recorder().send
        )
    assert limits.open_streams == 0
    assert limits.streams_of(ALICE) == 0


@pytest.mark.anyio
async def test_only_authenticated_gets_and_session_opening_posts_are_counted() -> None:
    limits = StreamLimits(max_streams_per_principal=0, max_sessions_per_principal=1)
    seen: list[str] = []

    async def app(scope: Any, receive: Any, send: Any) -> None:
        seen.append(scope["method"])
        await send({"type": "http.response.start", "status": 202, "headers": []})
        await send({"type": "http.response.body", "body": b""})

    wrapped = limits.wrap(app, lambda _: True)
    for request in (
        scope("GET", None),  # no verified identity (never reached behind the endpoint)
        scope("POST", user("alice"), mcp_session_id="s1"),  # inside an existing session
        scope("POST", user("alice"), mcp_protocol_version="2026-07-28"),  # the stateless era
        scope("DELETE", user("alice"), mcp_session_id="s1"),
    ):
        await wrapped(request, Recorder().receive, Recorder().send)
    assert seen == ["GET", "POST", "POST", "DELETE"]
    refused = Recorder()
    await wrapped(scope("GET", user("alice")), refused.receive, refused.send)  # 0 streams allowed
    assert refused.status == 405
    assert seen == ["GET", "POST", "POST", "DELETE"]


@pytest.mark.anyio
async def test_a_session_is_recorded_from_the_sdks_session_id_only() -> None:
    limits = StreamLimits(max_sessions_per_principal=1)
    live: set[str] = set()
    answer: dict[str, Any] = {"status": 200, "headers": [(b"mcp-session-id", b"s1")]}

    async def app(scope: Any, receive: Any, send: Any) -> None:
        if answer["status"] < 400:
            live.add("s1")
        await send({"type": "http.response.start", **answer})
        await send({"type": "http.response.body", "body": b"{}"})

    wrapped = limits.wrap(app, live.__contains__)
    answer = {"status": 400, "headers": [(b"mcp-session-id", b"s1")]}  # refused: nothing opened
    await wrapped(scope("POST", user("alice")), Recorder().receive, Recorder().send)
    assert limits.sessions_of(ALICE, live.__contains__) == 0
    answer = {"status": 200, "headers": [(b"mcp-session-id", b"s1")]}
    await wrapped(
        scope("POST", user("alice"), mcp_protocol_version=LEGACY), Recorder().receive, Recorder().send
    )
    assert limits.sessions_of(ALICE, live.__contains__) == 1
    refused = Recorder()
    await wrapped(scope("POST", user("alice")), refused.receive, refused.send)
    assert refused.status == 429
    assert refused.json()["error"] == "too_many_requests"
    live.clear()
    await wrapped(scope("POST", user("alice")), Recorder().receive, Recorder().send)
    assert limits.sessions_of(ALICE, live.__contains__) == 1


# -- the real SDK behind the endpoint -----------------------------------------------------------


def stateful_endpoint(**overrides: Any) -> McpEndpoint:
    server = McpResourceServer(
        ContractSettings().server,
        verifier=make_verifier(),
        resource_url=RESOURCE,
        authorization_servers=[ISSUER],
        scopes=["mcp:read"],
        stateless=False,
        **overrides,
    )
    return server.endpoint


async def post(ep: McpEndpoint, token: str, body: bytes, **extra: str) -> Recorder:
    headers = {**mcp_headers(token), "Host": "api.example.com", **extra}
    raw = [(k.lower().encode(), v.encode()) for k, v in headers.items()]
    raw.append((b"content-length", str(len(body)).encode()))
    method = "DELETE" if not body else "POST"
    request = {
        "type": "http",
        "method": method,
        "scheme": "https",
        "path": "/mcp",
        "query_string": b"",
        "headers": raw,
    }
    recorder = Recorder()
    sent = False

    async def receive() -> dict[str, Any]:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await recorder.receive()

    await ep(request, receive, recorder.send)
    return recorder


INIT = rpc(
    "initialize",
    {"protocolVersion": LEGACY, "capabilities": {}, "clientInfo": {"name": "limits", "version": "1"}},
)


@pytest.mark.anyio
async def test_sessions_per_principal_with_the_sdk_session_table() -> None:
    ep = stateful_endpoint(max_sessions_per_principal=2)
    alice, bob = mint(sub="alice"), mint(sub="bob")
    async with ep.run():
        opened = [await post(ep, alice, INIT) for _ in range(2)]
        assert [r.status for r in opened] == [200, 200]
        third = await post(ep, alice, INIT)
        assert third.status == 429, third.messages
        assert third.json()["error"] == "too_many_requests"
        assert third.header("retry-after")
        assert (await post(ep, bob, INIT)).status == 200
        # a session id never authenticates and never counts for someone else
        session = opened[0].header("mcp-session-id")
        assert session
        assert (await post(ep, bob, b"", **{"Mcp-Session-Id": session})).status == 404
        assert (await post(ep, alice, INIT)).status == 429
        # the owner ends it: the SDK forgets it and a new one may open
        assert (await post(ep, alice, b"", **{"Mcp-Session-Id": session})).status == 200
        assert (await post(ep, alice, INIT)).status == 200


def test_the_wsgi_stream_limit_follows_the_servers_threads() -> None:
    class Config:
        threads = 6

    class GunicornResponse:  # what gunicorn binds start_response to
        cfg = Config()

        def start_response(self, status: str, headers: list[Any]) -> None: ...

    GunicornResponse.__module__ = "gunicorn.http.wsgi"
    threaded = {"wsgi.multithread": True}
    assert server_threads(threaded, GunicornResponse().start_response) == 6
    assert server_threads(threaded, lambda status, headers: None) is None
    assert server_threads({"wsgi.multithread": False}) == 1

    ep = stateful_endpoint()
    assert ep.limits.max_streams is None  # ASGI: streams hold no thread
    wsgi = WsgiMcpEndpoint(ep)
    assert wsgi.size_streams(threaded, GunicornResponse().start_response) == 3
    assert ep.limits.max_streams == 3
    assert wsgi.size_streams(threaded) == DEFAULT_WSGI_MAX_STREAMS
    assert wsgi.size_streams({"wsgi.multithread": False}) == 0
    explicit = stateful_endpoint()
    WsgiMcpEndpoint(explicit, max_streams=7)
    assert explicit.limits.max_streams == 7
    options = McpOptions(
        server=ContractSettings().server,
        resource_url=RESOURCE,
        authorization_servers=[ISSUER],
        verifier=make_verifier(),
    )
    assert options.transport.max_streams_per_principal == 2
    assert options.transport.max_sessions_per_principal == 100
    assert options.wsgi.max_streams is None
