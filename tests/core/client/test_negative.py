"""Refusals: each unsafe or broken input stops the flow with its own error and writes nothing.

Discovery failures run against a scripted stub server (so the documents can be wrong on
purpose); callback failures run a real authorization against oidc-provider first.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import anyio
import pytest

from mcp_tools.client import (
    BrowserMismatch,
    InvalidMetadata,
    InvalidState,
    IssuerMismatch,
    McpClientError,
    MetadataIssuerMismatch,
    NetworkError,
    PkceNotSupported,
    ResourceMismatch,
    ResponseTooLarge,
    UnsafeUrl,
    UrlGuard,
    acreate_dynamically_registered_mcp_client,
    complete_auth_with_code,
    create_dynamically_registered_mcp_client,
)
from mcp_tools.stores import BaseStore
from tests.support.servers import free_port, uvicorn_thread

from .conftest import GUARD, REDIRECT, AuthServer, consent


@dataclass
class Stub:
    """An HTTP server answering from a table: path -> (status, headers, body[, delay])."""

    base: str = ""
    routes: dict[str, tuple[Any, ...]] = field(default_factory=dict)
    seen: list[tuple[str, str]] = field(default_factory=list)

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        host = dict(scope["headers"]).get(b"host", b"").decode()
        self.seen.append((host, scope["path"]))
        status, headers, body, *delay = self.routes.get(scope["path"], (404, {}, b"not found"))
        if delay:
            await anyio.sleep(delay[0])
        if not isinstance(body, bytes):
            body = json.dumps(body).encode()
        raw = [(k.lower().encode(), v.encode()) for k, v in headers.items()]
        await send({"type": "http.response.start", "status": status, "headers": raw})
        await send({"type": "http.response.body", "body": body})

    def healthy(self) -> None:
        """The routes of a well-behaved MCP server whose authorization server has a path."""
        base = self.base
        self.routes = {
            "/mcp": (401, {"WWW-Authenticate": f'Bearer resource_metadata="{base}/prm"'}, b""),
            "/prm": (
                200,
                {"Content-Type": "application/json"},
                {"resource": f"{base}/mcp", "authorization_servers": [f"{base}/as"]},
            ),
            "/.well-known/oauth-authorization-server/as": (200, {}, self.as_metadata()),
            "/as/register": (201, {}, {"client_id": "stub-client"}),
        }

    def as_metadata(self, **changes: Any) -> dict[str, Any]:
        metadata = {
            "issuer": f"{self.base}/as",
            "authorization_endpoint": f"{self.base}/as/authorize",
            "token_endpoint": f"{self.base}/as/token",
            "registration_endpoint": f"{self.base}/as/register",
            "code_challenge_methods_supported": ["S256"],
        }
        metadata.update(changes)
        return {k: v for k, v in metadata.items() if v is not None}


@pytest.fixture(scope="module")
def stub_server() -> Iterator[Stub]:
    stub = Stub()
    port = free_port()
    with uvicorn_thread(stub, port) as base:
        stub.base = base
        yield stub


@pytest.fixture
def stub(stub_server: Stub) -> Stub:
    stub_server.healthy()
    stub_server.seen.clear()
    return stub_server


def start(stub: Stub, store: BaseStore, guard: UrlGuard = GUARD) -> Any:
    return create_dynamically_registered_mcp_client(
        mcp_endpoint=f"{stub.base}/mcp",
        oauth_redirect_url=REDIRECT,
        mcp_client_name="neg",
        mcp_client_version="1",
        store=store,
        url_guard=guard,
    )


def refused(
    stub: Stub, store: BaseStore, error: type[McpClientError], match: str, guard: UrlGuard = GUARD
) -> McpClientError:
    with pytest.raises(error, match=match) as info:
        start(stub, store, guard)
    assert store.keys() == []  # nothing written: no orphan state_, session_ or registration
    return info.value


def test_the_healthy_stub_works(stub: Stub, memory_store: BaseStore) -> None:
    client = start(stub, memory_store)
    assert client.authorization_url.startswith(f"{stub.base}/as/authorize?")


def test_issuer_mismatch_in_metadata(stub: Stub, memory_store: BaseStore) -> None:
    stub.routes["/.well-known/oauth-authorization-server/as"] = (
        200,
        {},
        stub.as_metadata(issuer=f"{stub.base}/evil"),
    )
    refused(stub, memory_store, MetadataIssuerMismatch, "must be identical")


def test_trailing_slash_is_an_issuer_mismatch_too(stub: Stub, memory_store: BaseStore) -> None:
    stub.routes["/.well-known/oauth-authorization-server/as"] = (
        200,
        {},
        stub.as_metadata(issuer=f"{stub.base}/as/"),
    )
    refused(stub, memory_store, MetadataIssuerMismatch, "issuer")


@pytest.mark.parametrize("methods", [None, ["plain"], []])
def test_no_s256_is_refused(stub: Stub, memory_store: BaseStore, methods: Any) -> None:
    metadata = stub.as_metadata(code_challenge_methods_supported=methods)
    stub.routes["/.well-known/oauth-authorization-server/as"] = (200, {}, metadata)
    refused(stub, memory_store, PkceNotSupported, "S256")


@pytest.mark.parametrize(
    "url",
    [
        "http://10.0.0.7/prm",
        "http://169.254.169.254/latest/meta-data/",
        "https://192.168.1.5/prm",
        "https://[fd00::1]/prm",
        "http://[::ffff:10.1.1.1]/prm",
        "file:///etc/passwd",
        "https://user:pw@example.com/x",
    ],
)
def test_private_or_odd_metadata_urls_are_refused(stub: Stub, memory_store: BaseStore, url: str) -> None:
    stub.routes["/mcp"] = (401, {"WWW-Authenticate": f'Bearer resource_metadata="{url}"'}, b"")
    refused(stub, memory_store, UnsafeUrl, "refused|https|credentials")


def test_private_authorization_server_is_refused(stub: Stub, memory_store: BaseStore) -> None:
    stub.routes["/prm"] = (
        200,
        {},
        {"resource": f"{stub.base}/mcp", "authorization_servers": ["https://172.16.0.9"]},
    )
    error = refused(stub, memory_store, UnsafeUrl, "private")
    assert "172.16.0.9" in str(error)


def test_loopback_needs_the_development_opt_in(stub: Stub, memory_store: BaseStore) -> None:
    refused(stub, memory_store, UnsafeUrl, "allowed only to loopback", guard=UrlGuard())


def test_oversized_metadata(stub: Stub, memory_store: BaseStore) -> None:
    big = {"resource": f"{stub.base}/mcp", "authorization_servers": [f"{stub.base}/as"], "pad": "x" * 5000}
    stub.routes["/prm"] = (200, {}, big)
    refused(
        stub,
        memory_store,
        ResponseTooLarge,
        "larger than 2000 bytes",
        guard=UrlGuard(allow_loopback=True, max_response_bytes=2000),
    )


@pytest.mark.parametrize("path", ["/prm", "/.well-known/oauth-authorization-server/as"])
@pytest.mark.parametrize("body", [b"<html>hello</html>", b"[1, 2]", b"\xff\xfe"])
def test_non_json_metadata(stub: Stub, memory_store: BaseStore, path: str, body: bytes) -> None:
    stub.routes[path] = (200, {"Content-Type": "text/html"}, body)
    refused(stub, memory_store, InvalidMetadata, "not JSON|not a JSON object")


def test_resource_mismatch(stub: Stub, memory_store: BaseStore) -> None:
    stub.routes["/prm"] = (
        200,
        {},
        {"resource": "https://other.example/mcp", "authorization_servers": [f"{stub.base}/as"]},
    )
    refused(stub, memory_store, ResourceMismatch, "RFC 9728")


def test_cross_origin_redirect_is_not_followed(stub: Stub, memory_store: BaseStore) -> None:
    other = stub.base.replace("127.0.0.1", "localhost")
    stub.routes["/prm"] = (302, {"Location": f"{other}/prm-elsewhere"}, b"")
    stub.routes["/.well-known/oauth-protected-resource/mcp"] = (
        302,
        {"Location": f"{other}/prm-elsewhere"},
        b"",
    )
    stub.routes["/.well-known/oauth-protected-resource"] = (302, {"Location": f"{other}/prm-elsewhere"}, b"")
    with pytest.raises(McpClientError):
        start(stub, memory_store)
    assert all(path != "/prm-elsewhere" for _host, path in stub.seen)
    assert memory_store.keys() == []


def test_same_origin_redirect_is_followed(stub: Stub, memory_store: BaseStore) -> None:
    stub.routes["/prm-moved"] = stub.routes["/prm"]
    stub.routes["/prm"] = (302, {"Location": "/prm-moved"}, b"")
    assert start(stub, memory_store).authorization_url is not None


def test_slow_server_times_out(stub: Stub, memory_store: BaseStore) -> None:
    stub.routes["/prm"] = (200, {}, b"{}", 3.0)
    started = time.monotonic()
    refused(stub, memory_store, NetworkError, "failed", guard=UrlGuard(allow_loopback=True, timeout=0.5))
    assert time.monotonic() - started < 2.5


@pytest.mark.anyio
async def test_async_form_refuses_the_same_way(stub: Stub, memory_store: BaseStore) -> None:
    stub.routes["/.well-known/oauth-authorization-server/as"] = (
        200,
        {},
        stub.as_metadata(issuer="https://x.example"),
    )
    with pytest.raises(MetadataIssuerMismatch):
        await acreate_dynamically_registered_mcp_client(
            mcp_endpoint=f"{stub.base}/mcp",
            oauth_redirect_url=REDIRECT,
            mcp_client_name="neg",
            mcp_client_version="1",
            store=memory_store,
            url_guard=GUARD,
        )
    assert memory_store.keys() == []


# -- the callback ---------------------------------------------------------------------------------


@pytest.fixture
def pending(memory_store: BaseStore, auth_server: AuthServer, mcp_server: str) -> tuple[Any, dict[str, str]]:
    """A started flow and the (unused) callback parameters the authorization server sent."""
    client = create_dynamically_registered_mcp_client(
        mcp_endpoint=mcp_server,
        oauth_redirect_url=REDIRECT,
        mcp_client_name="cb",
        mcp_client_version="1",
        store=memory_store,
        url_guard=GUARD,
    )
    return client, consent(client.authorization_url)


def assert_no_tokens(store: BaseStore, client: Any) -> None:
    record = store.read(f"session_{client.session_id}")
    assert "accessToken" not in record
    assert not record.get("authComplete")


def test_replayed_state(
    memory_store: BaseStore, pending: tuple[Any, dict[str, str]], auth_server: AuthServer
) -> None:
    client, callback = pending
    complete_auth_with_code(
        store=memory_store, browser_binding=client.browser_binding, url_guard=GUARD, **callback
    )
    grants = auth_server.stats()["authorization_code"]
    with pytest.raises(InvalidState, match="already used"):
        complete_auth_with_code(
            store=memory_store, browser_binding=client.browser_binding, url_guard=GUARD, **callback
        )
    assert auth_server.stats()["authorization_code"] == grants  # the token endpoint was not asked again


@pytest.mark.parametrize("binding", [None, "some-other-browser"])
def test_state_from_another_browser(
    memory_store: BaseStore, pending: tuple[Any, dict[str, str]], auth_server: AuthServer, binding: str | None
) -> None:
    client, callback = pending
    grants = auth_server.stats()["authorization_code"]
    with pytest.raises(BrowserMismatch, match=r"other than"):
        complete_auth_with_code(store=memory_store, browser_binding=binding, url_guard=GUARD, **callback)
    assert auth_server.stats()["authorization_code"] == grants
    assert_no_tokens(memory_store, client)
    assert callback["code"] not in repr(memory_store._data)  # the code was never stored either


@pytest.mark.parametrize("iss", ["https://evil.example", None])
def test_wrong_or_missing_iss(
    memory_store: BaseStore, pending: tuple[Any, dict[str, str]], auth_server: AuthServer, iss: str | None
) -> None:
    client, callback = pending
    grants = auth_server.stats()["authorization_code"]
    with pytest.raises(IssuerMismatch, match="RFC 9207"):
        complete_auth_with_code(
            store=memory_store,
            browser_binding=client.browser_binding,
            url_guard=GUARD,
            state=callback["state"],
            code=callback["code"],
            iss=iss,
        )
    assert auth_server.stats()["authorization_code"] == grants
    assert_no_tokens(memory_store, client)


def test_expired_state(memory_store: BaseStore, auth_server: AuthServer, mcp_server: str) -> None:
    client = create_dynamically_registered_mcp_client(
        mcp_endpoint=mcp_server,
        oauth_redirect_url=REDIRECT,
        mcp_client_name="cb",
        mcp_client_version="1",
        store=memory_store,
        url_guard=GUARD,
        state_ttl=0.3,
    )
    callback = consent(client.authorization_url)
    time.sleep(0.5)
    with pytest.raises(InvalidState, match="expired"):
        complete_auth_with_code(
            store=memory_store, browser_binding=client.browser_binding, url_guard=GUARD, **callback
        )
    assert memory_store.keys("state_") == []
    assert memory_store.keys("pkce_verifier_") == []


# -- the authorization endpoint (issue 22, item 5) ------------------------------------------------
# The browser is sent there, so it gets the guard's scheme rules (https; http only to loopback
# under UrlGuard.for_development()); it is never fetched by the server, so no address check.

UNSAFE_AUTHORIZATION_ENDPOINTS = [
    ("javascript:alert(document.cookie)", "absolute https URL"),
    ("JavaScript://as.example/%0Aalert(1)", "absolute https URL"),
    ("data:text/html,<script>alert(1)</script>", "absolute https URL"),
    ("http://as.example.test/authorize", "must use https"),
    ("http://10.0.0.8/authorize", "must use https"),
    ("//as.example.test/authorize", "absolute https URL"),
    ("https://user:pw@as.example.test/authorize", "credentials"),
]


def _with_authorization_endpoint(stub: Stub, endpoint: str) -> None:
    metadata = stub.as_metadata(authorization_endpoint=endpoint)
    stub.routes["/.well-known/oauth-authorization-server/as"] = (200, {}, metadata)


@pytest.mark.parametrize(("endpoint", "match"), UNSAFE_AUTHORIZATION_ENDPOINTS)
def test_unsafe_authorization_endpoint_is_refused(
    stub: Stub, memory_store: BaseStore, endpoint: str, match: str
) -> None:
    _with_authorization_endpoint(stub, endpoint)
    error = refused(stub, memory_store, UnsafeUrl, match)
    assert "authorization_endpoint" in str(error)
    assert isinstance(error, UnsafeUrl)
    assert error.url == endpoint


@pytest.mark.parametrize(("endpoint", "match"), UNSAFE_AUTHORIZATION_ENDPOINTS[:3])
@pytest.mark.anyio
async def test_unsafe_authorization_endpoint_is_refused_async(
    stub: Stub, memory_store: BaseStore, endpoint: str, match: str
) -> None:
    _with_authorization_endpoint(stub, endpoint)
    with pytest.raises(UnsafeUrl, match=match):
        await acreate_dynamically_registered_mcp_client(
            mcp_endpoint=f"{stub.base}/mcp",
            oauth_redirect_url=REDIRECT,
            mcp_client_name="neg",
            mcp_client_version="1",
            store=memory_store,
            url_guard=GUARD,
        )
    assert memory_store.keys() == []


@pytest.mark.parametrize(
    "endpoint",
    ["https://as.example.test/authorize", "https://as.example.test/authorize?tenant=a"],
)
def test_https_authorization_endpoint_is_accepted(stub: Stub, memory_store: BaseStore, endpoint: str) -> None:
    _with_authorization_endpoint(stub, endpoint)
    client = start(stub, memory_store)
    assert client.authorization_url.startswith(f"{endpoint}{'&' if '?' in endpoint else '?'}")


def test_loopback_http_authorization_endpoint_only_under_the_development_guard(
    stub: Stub, memory_store: BaseStore
) -> None:
    # The healthy stub's authorization endpoint is http://127.0.0.1:<port>/as/authorize.
    client = start(stub, memory_store, UrlGuard.for_development())
    assert client.authorization_url.startswith(f"{stub.base}/as/authorize?")
    # A guard without allow_loopback refuses it (the stub's own URLs are refused first, so the
    # decision is checked on the guard's form rule that the flow applies to the endpoint).
    with pytest.raises(UnsafeUrl, match="must use https"):
        UrlGuard().parse(f"{stub.base}/as/authorize", "the authorization_endpoint")
