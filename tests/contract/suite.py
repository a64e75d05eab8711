"""The adapter contract: the same requests give the same statuses, JSON and headers everywhere.

A framework's test module subclasses :class:`AdapterContract` and provides the ``client``
fixture: an object with ``request(method, path, headers=None, body=None) -> HttpResult``
talking to an app built from :class:`~tests.contract.spec.ContractSettings`.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, ClassVar, Protocol

import pytest

from tests.contract.spec import (
    BASE_SCOPE,
    ISSUER,
    ORIGIN,
    OTHER_KEY,
    RESOURCE,
    SIGNING_KEY,
    WRITE_SCOPE,
    mint,
)

MCP_PATH = "/mcp"
PRM_PATH = "/.well-known/oauth-protected-resource/mcp"
AS_PATH = "/.well-known/oauth-authorization-server"
PRM_URL = f"{ORIGIN}{PRM_PATH}"
LEGACY = "2025-11-25"
MODERN = "2026-07-28"


@dataclass
class HttpResult:
    status: int
    headers: dict[str, str]  # lower-case names
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


class ContractClient(Protocol):
    def request(
        self, method: str, path: str, *, headers: dict[str, str] | None = None, body: bytes | None = None
    ) -> HttpResult: ...


def rpc(method: str, params: dict[str, Any] | None = None, *, ident: int = 1) -> bytes:
    message: dict[str, Any] = {"jsonrpc": "2.0", "id": ident, "method": method}
    if params is not None:
        message["params"] = params
    return json.dumps(message).encode()


def mcp_headers(token: str | None = None, *, version: str = LEGACY, **extra: str) -> dict[str, str]:
    headers = {
        "Content-Type": "application/json",
        "Accept": "application/json, text/event-stream",
        "MCP-Protocol-Version": version,
        **extra,
    }
    if token is not None:
        headers["Authorization"] = f"Bearer {token}"
    return headers


def tool_call_body(name: str, arguments: dict[str, Any] | None = None) -> bytes:
    return rpc("tools/call", {"name": name, "arguments": arguments or {}})


def parse_challenge(value: str) -> dict[str, str]:
    """Parse ``Bearer k="v", k2="v2"`` strictly (every value quoted)."""
    assert value.startswith("Bearer "), value
    out: dict[str, str] = {}
    rest = value[len("Bearer ") :]
    while rest:
        key, _, rest = rest.partition("=")
        assert rest.startswith('"'), f"unquoted value for {key}: {value}"
        end = 1
        buf = []
        while rest[end] != '"':
            if rest[end] == "\\":
                end += 1
            buf.append(rest[end])
            end += 1
        out[key.strip()] = "".join(buf)
        rest = rest[end + 1 :].lstrip(", ")
    return out


def _refusal(
    method: str, headers: dict[str, str], body: bytes | None, status: int, expected: dict[str, Any]
) -> tuple[str, dict[str, str], bytes | None, int, dict[str, Any]]:
    return method, headers, body, status, expected


def _oauth(error: str, description: str) -> dict[str, Any]:
    return {"error": error, "error_description": description}


#: The error vocabulary of docs/errors.md, request by request (built lazily: tokens expire).
REFUSALS: dict[str, Any] = {
    "no-token-401": lambda: _refusal(
        "POST", mcp_headers(), rpc("tools/list"), 401, _oauth("unauthorized", "Authentication required")
    ),
    "forged-token-401": lambda: _refusal(
        "POST",
        mcp_headers("abc.def.ghi"),
        rpc("tools/list"),
        401,
        _oauth("invalid_token", "Invalid or expired access token"),
    ),
    "scope-403": lambda: _refusal(
        "POST",
        mcp_headers(mint(scope="profile")),
        rpc("tools/list"),
        403,
        _oauth("insufficient_scope", f"Required scope: {BASE_SCOPE}"),
    ),
    "origin-403": lambda: _refusal(
        "POST",
        mcp_headers(mint(), Origin="https://evil.example"),
        rpc("tools/list"),
        403,
        _oauth("forbidden", "Origin not allowed"),
    ),
    "host-421": lambda: _refusal(
        "POST",
        mcp_headers(mint(), Host="evil.example"),
        rpc("tools/list"),
        421,
        _oauth("misdirected_request", "Host not allowed"),
    ),
    "method-405": lambda: _refusal(
        "PUT", mcp_headers(mint()), b"{}", 405, _oauth("method_not_allowed", "PUT is not supported")
    ),
    "stateless-get-405": lambda: _refusal(
        "GET",
        mcp_headers(mint()),
        None,
        405,
        _oauth("method_not_allowed", "this endpoint is stateless: it offers no GET event stream"),
    ),
    "too-large-413": lambda: _refusal(
        "POST",
        mcp_headers(mint()),
        b" " * (4 * 1024 * 1024 + 1),
        413,
        _oauth("payload_too_large", "request body exceeds 4194304 bytes"),
    ),
    "sdk-unknown-method": lambda: _refusal(
        "POST",
        mcp_headers(mint()),
        rpc("nope/nope"),
        200,
        {
            "jsonrpc": "2.0",
            "id": 1,
            "error": {"code": -32601, "message": "Method not found", "data": "nope/nope"},
        },
    ),
}


class AdapterContract:
    """Subclass and provide the ``client`` fixture."""

    #: Refusals (keys of ``REFUSALS``) that the framework itself answers before the adapter runs,
    #: with the reason; the subclass then tests that answer on its own.
    framework_refusals: ClassVar[dict[str, str]] = {}

    @pytest.fixture
    def client(self) -> ContractClient:  # pragma: no cover - overridden
        raise NotImplementedError

    # -- the MCP endpoint ------------------------------------------------------------------

    def call(self, client: ContractClient, token: str | None, body: bytes, **headers: str) -> HttpResult:
        return client.request("POST", MCP_PATH, headers=mcp_headers(token, **headers), body=body)

    def test_no_token_is_401_with_challenge_without_error(self, client: ContractClient) -> None:
        result = self.call(client, None, rpc("tools/list"))
        assert result.status == 401
        challenge = parse_challenge(result.headers["www-authenticate"])
        assert challenge == {"scope": BASE_SCOPE, "resource_metadata": PRM_URL}
        assert result.headers["content-type"].startswith("application/json")
        assert "error" in result.json()

    @pytest.mark.parametrize(
        "header",
        [
            "",
            "Bearer",
            "Bearer ",
            "Bearer  abc",
            "Basic dXNlcjpwYXNz",
            "Bearer a b",
            "Token abc",
            "Bearer \u00e9t\u00e9",
            "Bearer " + "a" * 10_240,
        ],
        ids=[
            "empty",
            "scheme-only",
            "scheme-space",
            "two-spaces",
            "basic",
            "two-parts",
            "other",
            "non-ascii",
            "10kb",
        ],
    )
    def test_malformed_authorization_is_401_never_500(self, client: ContractClient, header: str) -> None:
        headers = mcp_headers()
        headers["Authorization"] = header
        result = client.request("POST", MCP_PATH, headers=headers, body=rpc("tools/list"))
        assert result.status == 401
        assert result.headers["www-authenticate"].startswith("Bearer ")
        assert parse_challenge(result.headers["www-authenticate"])["resource_metadata"] == PRM_URL
        assert isinstance(result.json(), dict)

    @pytest.mark.parametrize(
        "token_kind",
        ["wrong-key", "alg-none", "wrong-issuer", "expired", "not-yet-valid", "tampered", "garbage"],
    )
    def test_forged_tokens_are_401_invalid_token(self, client: ContractClient, token_kind: str) -> None:
        token = forge(token_kind)
        result = self.call(client, token, rpc("tools/list"))
        assert result.status == 401
        challenge = parse_challenge(result.headers["www-authenticate"])
        assert challenge["error"] == "invalid_token"
        assert challenge["resource_metadata"] == PRM_URL
        assert result.json()["error"] == "invalid_token"

    def test_token_for_another_resource_is_401(self, client: ContractClient) -> None:
        result = self.call(client, mint(aud="https://other.example.com/mcp"), rpc("tools/list"))
        assert result.status == 401
        assert parse_challenge(result.headers["www-authenticate"])["error"] == "invalid_token"

    def test_token_without_endpoint_scope_is_403(self, client: ContractClient) -> None:
        result = self.call(client, mint(scope="profile"), rpc("tools/list"))
        assert result.status == 403
        challenge = parse_challenge(result.headers["www-authenticate"])
        assert challenge["error"] == "insufficient_scope"
        assert challenge["scope"] == BASE_SCOPE

    def test_tool_scope_missing_is_403_with_all_needed_scopes(self, client: ContractClient) -> None:
        result = self.call(client, mint(), tool_call_body("write_note", {"text": "hi"}))
        assert result.status == 403
        challenge = parse_challenge(result.headers["www-authenticate"])
        assert challenge["error"] == "insufficient_scope"
        assert challenge["scope"].split() == [BASE_SCOPE, WRITE_SCOPE]
        assert challenge["resource_metadata"] == PRM_URL

    def test_tool_scope_present_calls_the_tool(self, client: ContractClient) -> None:
        token = mint(scope=f"{BASE_SCOPE} {WRITE_SCOPE}")
        result = self.call(client, token, tool_call_body("write_note", {"text": "hi"}))
        assert result.status == 200, result.body
        assert result.json()["result"]["content"][0]["text"] == "saved: hi"

    def test_hostile_origin_is_403_before_bearer(self, client: ContractClient) -> None:
        for token in (None, mint()):
            result = self.call(client, token, rpc("tools/list"), Origin="https://evil.example")
            assert result.status == 403
            assert "www-authenticate" not in result.headers
            assert result.json()["error"] == "forbidden"

    def test_own_origin_is_allowed_and_gets_cors(self, client: ContractClient) -> None:
        result = self.call(client, mint(), rpc("tools/list"), Origin=ORIGIN)
        assert result.status == 200
        assert result.headers["access-control-allow-origin"] == ORIGIN
        assert "Mcp-Session-Id" in result.headers["access-control-expose-headers"]

    def test_token_in_query_string_is_refused(self, client: ContractClient) -> None:
        result = client.request(
            "POST", f"{MCP_PATH}?access_token={mint()}", headers=mcp_headers(), body=rpc("tools/list")
        )
        assert result.status == 401

    def test_valid_token_lists_tools_legacy_era(self, client: ContractClient) -> None:
        result = self.call(client, mint(), rpc("tools/list"))
        assert result.status == 200, result.body
        names = {tool["name"] for tool in result.json()["result"]["tools"]}
        assert names == {"whoami", "echo", "write_note"}

    def test_whoami_sees_the_callers_subject(self, client: ContractClient) -> None:
        result = self.call(client, mint(sub="bob"), tool_call_body("whoami"))
        assert result.status == 200, result.body
        assert result.json()["result"]["content"][0]["text"] == "bob"

    def test_session_id_alone_never_authenticates(self, client: ContractClient) -> None:
        headers = mcp_headers(**{"Mcp-Session-Id": "0123456789abcdef"})
        result = client.request("POST", MCP_PATH, headers=headers, body=rpc("tools/list"))
        assert result.status == 401

    @pytest.mark.parametrize("case", sorted(REFUSALS), ids=sorted(REFUSALS))
    def test_refusal_bodies_are_the_documented_vocabulary(self, client: ContractClient, case: str) -> None:
        """docs/errors.md: every refusal before the SDK is OAuth-shaped JSON, byte-identical
        (as JSON) from every adapter; from the SDK onward, JSON-RPC errors."""
        if case in self.framework_refusals:
            pytest.skip(f"refused by the framework before the adapter: {self.framework_refusals[case]}")
        method, headers, body, status, expected = REFUSALS[case]()
        result = client.request(method, MCP_PATH, headers=headers, body=body)
        assert result.status == status, result.body
        assert result.headers["content-type"].startswith("application/json")
        assert result.json() == expected

    def test_unsupported_method_is_json_405(self, client: ContractClient) -> None:
        result = client.request("PUT", MCP_PATH, headers=mcp_headers(mint()), body=b"{}")
        assert result.status == 405
        assert result.json()["error"] == "method_not_allowed"

    # -- discovery documents ---------------------------------------------------------------

    def test_protected_resource_metadata(self, client: ContractClient) -> None:
        result = client.request("GET", PRM_PATH)
        assert result.status == 200
        assert result.json() == {
            "resource": RESOURCE,
            "authorization_servers": [ISSUER],
            "scopes_supported": [BASE_SCOPE, WRITE_SCOPE],
            "bearer_methods_supported": ["header"],
        }
        assert result.headers["access-control-allow-origin"] == "*"
        assert result.headers["cache-control"] == "public, max-age=3600"
        assert result.headers["content-type"].startswith("application/json")

    def test_metadata_preflight(self, client: ContractClient) -> None:
        result = client.request(
            "OPTIONS",
            PRM_PATH,
            headers={"Origin": "https://inspector.example", "Access-Control-Request-Method": "GET"},
        )
        assert result.status == 200
        assert result.headers["access-control-allow-origin"] == "*"
        assert result.headers["access-control-allow-methods"] == "GET, OPTIONS"
        assert result.headers["access-control-max-age"] == "86400"

    def test_authorization_server_metadata(self, client: ContractClient) -> None:
        result = client.request("GET", AS_PATH)
        assert result.status == 200
        document = result.json()
        assert document["issuer"] == ISSUER
        assert document["code_challenge_methods_supported"] == ["S256"]
        assert document["token_endpoint"] == f"{ISSUER}/token"
        assert result.headers["access-control-allow-origin"] == "*"


def forge(kind: str) -> str:
    """Tokens that must all be refused."""
    import base64

    def b64(data: dict[str, Any]) -> str:
        return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()

    if kind == "wrong-key":
        return mint(key=OTHER_KEY)
    if kind == "alg-none":
        good = mint()
        payload = good.split(".")[1]
        return f"{b64({'alg': 'none', 'typ': 'at+jwt'})}.{payload}."
    if kind == "wrong-issuer":
        return mint(iss="https://evil.example.com")
    if kind == "expired":
        return mint(exp_in=-3600)
    if kind == "not-yet-valid":
        return mint(nbf_in=3600)
    if kind == "tampered":
        header, _payload, signature = mint().split(".")
        forged_claims = {
            "iss": ISSUER,
            "sub": "admin",
            "aud": RESOURCE,
            "exp": 9999999999,
            "scope": BASE_SCOPE,
        }
        return f"{header}.{b64(forged_claims)}.{signature}"
    if kind == "garbage":
        return "not.a.jwt"
    raise AssertionError(kind)


__all__ = ["SIGNING_KEY", "AdapterContract", "ContractClient", "HttpResult"]
