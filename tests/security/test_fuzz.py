"""Property-based requests against every endpoint of every adapter (hypothesis, derandomized).

Arbitrary methods, paths, query strings, ``Authorization``/``Host``/``Origin``/``Accept``/
``Content-Type``/``MCP-Protocol-Version``/``Mcp-Session-Id`` headers and bodies (JSON-RPC,
arbitrary JSON, invalid JSON, binary, form bodies, one body beyond the 4 MiB limit) go through
the contract clients. Properties, for every request:

* never a 5xx (the only 503 allowed is "verifier unavailable", which cannot happen here: the
  contract verifier has its keys in memory);
* no record at ERROR or above, no exception info and no traceback in the logs;
* on the MCP and discovery paths, every non-2xx answer is a JSON object with an ``error``
  member (JSON-RPC errors from the SDK carry it inside ``error`` too), and a 401 always has a
  parseable ``WWW-Authenticate: Bearer`` challenge naming the resource metadata URL;
* a valid response never echoes a token that was sent.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mcp_tools.options import DEFAULT_MAX_BODY
from mcp_tools_flask.views import MCP_METHODS
from tests.contract.spec import BASE_SCOPE, ORIGIN, WRITE_SCOPE, mint
from tests.contract.suite import (
    AS_PATH,
    MCP_PATH,
    PRM_PATH,
    PRM_URL,
    ContractClient,
    HttpResult,
    forge,
    parse_challenge,
)

from .adapters import ADAPTERS, open_adapter
from .conftest import Collector

EXAMPLES = 300

VALID = mint(sub="fuzz", scope=f"{BASE_SCOPE} {WRITE_SCOPE}")
TOKENS = [VALID, mint(scope="profile"), forge("expired"), forge("wrong-key"), forge("alg-none")]
OUR_PATHS = (MCP_PATH, PRM_PATH, AS_PATH)
BIG_BODY = b"[" + b" " * DEFAULT_MAX_BODY + b"]"

# Header values are bytes on the wire; WSGI hands them over as latin-1 text, so latin-1 it is.
header_text = st.text(
    alphabet=st.characters(min_codepoint=0x20, max_codepoint=0xFF, blacklist_characters="\x7f"),
    max_size=120,
)
ascii_text = st.text(alphabet=st.characters(min_codepoint=0x21, max_codepoint=0x7E), max_size=60)

authorization = st.one_of(
    st.none(),
    st.sampled_from(TOKENS).map(lambda t: f"Bearer {t}"),
    st.sampled_from(TOKENS).map(lambda t: f"bearer  {t}"),
    st.sampled_from(["Bearer", "Bearer ", "Basic dXNlcjpwYXNz", "Bearer a.b.c", "Bearer ===", "Bearer a b"]),
    ascii_text.map(lambda t: f"Bearer {t}"),
    header_text,
    st.just("Bearer " + "A" * 9000),
)

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=12,
)

rpc_messages = st.fixed_dictionaries(
    {
        "jsonrpc": st.sampled_from(["2.0", "1.0", 2]),
        "method": st.sampled_from(
            ["tools/list", "tools/call", "initialize", "ping", "resources/list", "nope", ""]
        )
        | st.text(max_size=20),
    },
    optional={
        "id": st.integers() | st.text(max_size=10) | st.none(),
        "params": st.fixed_dictionaries(
            {},
            optional={
                "name": st.sampled_from(["whoami", "echo", "write_note", "missing"]) | st.text(max_size=10),
                "arguments": json_values,
                "protocolVersion": st.sampled_from(["2025-11-25", "2026-07-28", "1999-01-01"]),
            },
        )
        | json_values,
    },
)

bodies = st.one_of(
    st.none(),
    rpc_messages.map(lambda m: json.dumps(m).encode()),
    st.lists(rpc_messages, max_size=3).map(lambda m: json.dumps(m).encode()),
    json_values.map(lambda v: json.dumps(v).encode()),
    st.binary(max_size=300),
    st.text(max_size=200).map(lambda t: t.encode("utf-8")),
    st.sampled_from([b"{", b'{"jsonrpc": "2.0"', b"\xff\xfe\x00", b"null", b"[]", b"access_token=abc"]),
    st.just(BIG_BODY),
)

paths = st.one_of(
    st.sampled_from(OUR_PATHS),
    st.sampled_from(
        [
            "/mcp/",
            "//mcp",
            "/MCP",
            "/mcp/../mcp",
            "/mcp%2F",
            "/mcp%00",
            "/.well-known/oauth-protected-resource/mcp/",
            "/.well-known/oauth-protected-resource/other",
            "/.well-known/%2e%2e/mcp",
            "/",
        ]
    ),
    st.text(max_size=30).map(lambda t: "/" + quote(t, safe="/%")),
)

queries = st.one_of(
    st.just(""),
    st.sampled_from(["access_token=abc", "access_token=" + VALID, "a=%zz", "x=1&x=2", "=&&=", "%"]),
    st.dictionaries(st.text(max_size=10), st.text(max_size=20), max_size=3).map(
        lambda d: "&".join(f"{quote(k)}={quote(v)}" for k, v in d.items())
    ),
    ascii_text.map(lambda t: quote(t, safe="=&%")),
)

methods = st.one_of(
    st.sampled_from(["GET", "POST", "DELETE", "OPTIONS", "HEAD", "PUT", "PATCH"]),
    st.sampled_from(["TRACE", "PROPFIND", "CONNECTX", "get", "FOO"]),
)

hosts = st.one_of(
    st.none(),
    st.sampled_from(["api.example.com", "evil.example", "api.example.com:443", "api.example.com:8443"]),
    st.sampled_from(["127.0.0.1", "[::1]", "localhost", "api.example.com.", "API.EXAMPLE.COM", "a" * 300]),
    ascii_text,
)

origins = st.one_of(
    st.none(),
    st.sampled_from([ORIGIN, "https://evil.example", "null", "http://api.example.com", "file://", ""]),
    header_text,
)

content_types = st.one_of(
    st.none(),
    st.sampled_from(
        [
            "application/json",
            "application/json; charset=utf-8",
            "text/plain",
            "application/x-www-form-urlencoded",
            "multipart/form-data; boundary=x",
            "application/json; charset=latin-1",
            "application/jsonx",
            ";;;",
        ]
    ),
    ascii_text,
)

accepts = st.one_of(
    st.none(),
    st.sampled_from(["application/json, text/event-stream", "application/json", "text/event-stream", "*/*"]),
    ascii_text,
)


@dataclass
class Fuzzed:
    method: str
    path: str
    query: str
    headers: dict[str, str]
    body: bytes | None

    @property
    def target(self) -> str:
        return f"{self.path}?{self.query}" if self.query else self.path


@st.composite
def requests(draw: st.DrawFn) -> Fuzzed:
    headers: dict[str, str] = {}
    optional: list[tuple[str, Any]] = [
        ("Authorization", authorization),
        ("Host", hosts),
        ("Origin", origins),
        ("Content-Type", content_types),
        ("Accept", accepts),
        ("MCP-Protocol-Version", st.none() | st.sampled_from(["2025-11-25", "2026-07-28", "x"]) | ascii_text),
        ("Mcp-Session-Id", st.none() | st.sampled_from(["0123456789abcdef"]) | ascii_text),
        ("Mcp-Method", st.none() | st.sampled_from(["tools/call", "tools/list"]) | ascii_text),
        ("Mcp-Name", st.none() | st.sampled_from(["write_note", "whoami"]) | ascii_text),
        ("Cookie", st.none() | header_text),
    ]
    for name, strategy in optional:
        value = draw(strategy)
        if value is not None:
            headers[name] = value
    return Fuzzed(draw(methods), draw(paths), draw(queries), headers, draw(bodies))


def ours(request: Fuzzed) -> bool:
    return request.path in OUR_PATHS


def framework_refusal(kind: str, request: Fuzzed, result: HttpResult) -> bool:
    """An answer the web framework gives before any mcp-tools code runs (documented in
    docs/security.md): Django's DisallowedHost 400, werkzeug's 400 for a Host it cannot route
    and its 405 for extension methods outside the blueprint's method list."""
    html = result.headers.get("content-type", "").startswith("text/html")
    if kind.startswith("django"):
        return result.status == 400 and b"Bad Request (400)" in result.body and "Host" in request.headers
    if kind == "flask" and html:
        if result.status == 405:
            return request.method not in MCP_METHODS
        return result.status == 400 and "Host" in request.headers
    return False


def check(kind: str, request: Fuzzed, client: ContractClient, logs: Collector) -> None:
    logs.records.clear()
    result = client.request(request.method, request.target, headers=request.headers, body=request.body)
    context = f"{kind}: {request.method} {request.target[:200]} {request.headers!r:.400} -> {result.status}"
    assert result.status < 500, f"{context}: {result.body[:500]!r}"
    assert not logs.problems(), f"{context}: {logs.problems()}"
    if ours(request) and result.status >= 400 and request.method.upper() != "HEAD":
        if framework_refusal(kind, request, result):
            return
        assert result.headers.get("content-type", "").startswith("application/json"), context
        document = result.json()
        assert isinstance(document, dict), f"{context}: {document!r}"
        assert "error" in document, f"{context}: {document!r}"
    if result.status == 401 and ours(request):
        challenge = parse_challenge(result.headers["www-authenticate"])
        assert challenge["resource_metadata"] == PRM_URL
    for token in TOKENS:
        assert token.encode() not in result.body, context
        assert all(token not in value for value in result.headers.values()), context


@pytest.fixture(scope="module", params=ADAPTERS)
def adapter(request: pytest.FixtureRequest) -> Iterator[tuple[str, ContractClient]]:
    with open_adapter(request.param) as client:
        yield request.param, client


@settings(
    max_examples=EXAMPLES,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[
        HealthCheck.function_scoped_fixture,
        HealthCheck.too_slow,
        HealthCheck.data_too_large,
    ],
)
@given(request=requests())
def test_arbitrary_requests_never_crash(
    adapter: tuple[str, ContractClient], logs: Collector, request: Fuzzed
) -> None:
    kind, client = adapter
    check(kind, request, client, logs)


@settings(
    max_examples=EXAMPLES // 2,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    method=st.sampled_from(["POST", "GET", "DELETE"]),
    body=bodies,
    content_type=content_types,
    accept=accepts,
    version=st.sampled_from(["2025-11-25", "2026-07-28"]),
)
def test_authenticated_requests_reach_the_sdk_and_never_crash(
    adapter: tuple[str, ContractClient],
    logs: Collector,
    method: str,
    body: bytes | None,
    content_type: str | None,
    accept: str | None,
    version: str,
) -> None:
    """With a valid token every body reaches the SDK; its answers must be JSON errors too."""
    headers = {"Authorization": f"Bearer {VALID}", "MCP-Protocol-Version": version}
    if content_type is not None:
        headers["Content-Type"] = content_type
    if accept is not None:
        headers["Accept"] = accept
    kind, client = adapter
    check(kind, Fuzzed(method, MCP_PATH, "", headers, body), client, logs)
