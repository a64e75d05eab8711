"""The forged-token matrix, end to end through every adapter (not just the verifier).

Each forged or misplaced credential must be refused with the documented status and challenge;
none may reach a tool. The session tests run the endpoint in stateful mode (2025-era
``Mcp-Session-Id`` sessions): a session id never authenticates, and a session opened by one
user cannot be used with another user's (valid) token.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from joserfc import jwt

from tests.contract.spec import BASE_SCOPE, ISSUER, OTHER_KEY, RESOURCE, SIGNING_KEY, WRITE_SCOPE, mint
from tests.contract.suite import (
    LEGACY,
    MCP_PATH,
    PRM_URL,
    ContractClient,
    HttpResult,
    forge,
    mcp_headers,
    parse_challenge,
    rpc,
    tool_call_body,
)

from .adapters import ADAPTERS, open_adapter


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _claims(**overrides: Any) -> dict[str, Any]:
    now = int(time.time())
    claims = {
        "iss": ISSUER,
        "sub": "mallory",
        "aud": RESOURCE,
        "exp": now + 300,
        "iat": now,
        "scope": f"{BASE_SCOPE} {WRITE_SCOPE}",
        "client_id": "contract-client",
    }
    claims.update(overrides)
    return claims


def hmac_with_public_key() -> str:
    """HS256 "signed" with the RSA public key's PEM: the classic algorithm-confusion attack."""
    pem = SIGNING_KEY.as_pem(private=False)
    header = {"alg": "HS256", "typ": "at+jwt", "kid": SIGNING_KEY.kid}
    signing_input = f"{_b64(json.dumps(header).encode())}.{_b64(json.dumps(_claims()).encode())}"
    signature = hmac.new(pem, signing_input.encode(), hashlib.sha256).digest()
    return f"{signing_input}.{_b64(signature)}"


def embedded_jwk() -> str:
    """Signed by the attacker, who ships the public key in the header (``jwk``): ignored."""
    header = {
        "alg": "RS256",
        "typ": "at+jwt",
        "kid": "attacker",
        "jwk": OTHER_KEY.as_dict(private=False),
    }
    return jwt.encode(header, _claims(), OTHER_KEY)


def unsigned_empty_signature() -> str:
    header, payload, _signature = mint(sub="mallory").split(".")
    return f"{header}.{payload}."


#: name -> (token factory, expected status, expected ``error``)
FORGED: dict[str, tuple[Callable[[], str], int, str]] = {
    "unsigned-alg-none": (lambda: forge("alg-none"), 401, "invalid_token"),
    "signature-stripped": (unsigned_empty_signature, 401, "invalid_token"),
    "wrong-key": (lambda: forge("wrong-key"), 401, "invalid_token"),
    "hmac-with-public-key": (hmac_with_public_key, 401, "invalid_token"),
    "embedded-jwk": (embedded_jwk, 401, "invalid_token"),
    "payload-tampered": (lambda: forge("tampered"), 401, "invalid_token"),
    "wrong-issuer": (lambda: forge("wrong-issuer"), 401, "invalid_token"),
    "issuer-trailing-slash": (lambda: mint(iss=ISSUER + "/"), 401, "invalid_token"),
    "audience-of-another-resource": (lambda: mint(aud="https://other.example.com/mcp"), 401, "invalid_token"),
    "audience-missing": (lambda: mint(aud=[]), 401, "invalid_token"),
    "expired": (lambda: forge("expired"), 401, "invalid_token"),
    "expired-within-leeway-plus-one": (lambda: mint(exp_in=-31), 401, "invalid_token"),
    "not-yet-valid": (lambda: forge("not-yet-valid"), 401, "invalid_token"),
    "scope-missing": (lambda: mint(scope="profile"), 403, "insufficient_scope"),
    "scope-empty": (lambda: mint(scope=""), 403, "insufficient_scope"),
}


@pytest.fixture(scope="module", params=ADAPTERS)
def client(request: pytest.FixtureRequest) -> Iterator[ContractClient]:
    with open_adapter(request.param) as adapter:
        yield adapter


def assert_refused(result: HttpResult, status: int, error: str) -> None:
    assert result.status == status, result.body
    challenge = parse_challenge(result.headers["www-authenticate"])
    assert challenge["error"] == error
    assert challenge["resource_metadata"] == PRM_URL
    assert result.json()["error"] == error
    assert b"result" not in result.body  # no tool ran


@pytest.mark.parametrize("kind", list(FORGED))
def test_forged_token_is_refused(client: ContractClient, kind: str) -> None:
    factory, status, error = FORGED[kind]
    token = factory()
    for body in (rpc("tools/list"), tool_call_body("whoami")):
        result = client.request("POST", MCP_PATH, headers=mcp_headers(token), body=body)
        assert_refused(result, status, error)
        assert token.encode() not in result.body


def test_valid_token_is_accepted_control(client: ContractClient) -> None:
    result = client.request(
        "POST", MCP_PATH, headers=mcp_headers(mint(sub="alice")), body=tool_call_body("whoami")
    )
    assert result.status == 200, result.body
    assert result.json()["result"]["content"][0]["text"] == "alice"


@pytest.mark.parametrize("name", ["access_token", "token", "bearer"])
def test_token_in_query_string_is_refused(client: ContractClient, name: str) -> None:
    token = mint()
    result = client.request(
        "POST", f"{MCP_PATH}?{name}={token}", headers=mcp_headers(), body=rpc("tools/list")
    )
    assert result.status == 401
    if name == "access_token":
        assert parse_challenge(result.headers["www-authenticate"])["error"] == "invalid_request"
    assert token.encode() not in result.body


def test_token_in_query_string_is_refused_even_with_a_valid_header(client: ContractClient) -> None:
    token = mint()
    result = client.request(
        "POST", f"{MCP_PATH}?access_token={token}", headers=mcp_headers(token), body=rpc("tools/list")
    )
    assert result.status == 401
    assert parse_challenge(result.headers["www-authenticate"])["error"] == "invalid_request"


def test_token_in_form_body_is_refused(client: ContractClient) -> None:
    headers = mcp_headers()
    headers["Content-Type"] = "application/x-www-form-urlencoded"
    result = client.request("POST", MCP_PATH, headers=headers, body=f"access_token={mint()}".encode())
    assert result.status == 401
    assert parse_challenge(result.headers["www-authenticate"])["error"] == "invalid_request"


def test_two_authorization_schemes_in_one_header_are_refused(client: ContractClient) -> None:
    headers = mcp_headers()
    headers["Authorization"] = f"Bearer {mint()}, Basic dXNlcjpwYXNz"
    result = client.request("POST", MCP_PATH, headers=headers, body=rpc("tools/list"))
    assert result.status == 401


# -- sessions (stateful mode) ---------------------------------------------------------------


@pytest.fixture(scope="module", params=ADAPTERS)
def stateful(request: pytest.FixtureRequest) -> Iterator[ContractClient]:
    with open_adapter(request.param, stateless=False) as adapter:
        yield adapter


def open_session(client: ContractClient, token: str) -> str:
    init = rpc(
        "initialize",
        {
            "protocolVersion": LEGACY,
            "capabilities": {},
            "clientInfo": {"name": "security-tests", "version": "1"},
        },
    )
    result = client.request("POST", MCP_PATH, headers=mcp_headers(token), body=init)
    assert result.status == 200, result.body
    session = result.headers["mcp-session-id"]
    notified = client.request(
        "POST",
        MCP_PATH,
        headers=mcp_headers(token, **{"Mcp-Session-Id": session}),
        body=json.dumps({"jsonrpc": "2.0", "method": "notifications/initialized"}).encode(),
    )
    assert notified.status == 202, notified.body
    return session


def whoami(client: ContractClient, token: str | None, session: str) -> HttpResult:
    headers = mcp_headers(token, **{"Mcp-Session-Id": session})
    return client.request("POST", MCP_PATH, headers=headers, body=tool_call_body("whoami"))


def test_session_owner_can_use_the_session(stateful: ContractClient) -> None:
    alice = mint(sub="alice")
    session = open_session(stateful, alice)
    result = whoami(stateful, alice, session)
    assert result.status == 200, result.body
    assert result.json()["result"]["content"][0]["text"] == "alice"
    # a fresh token of the same principal (same iss, sub, client_id) keeps working
    assert whoami(stateful, mint(sub="alice", exp_in=600), session).status == 200


def test_session_id_without_a_token_is_refused(stateful: ContractClient) -> None:
    session = open_session(stateful, mint(sub="alice"))
    result = whoami(stateful, None, session)
    assert result.status == 401
    assert "error" not in parse_challenge(result.headers["www-authenticate"])
    assert b"alice" not in result.body


def test_session_id_with_a_forged_token_is_refused(stateful: ContractClient) -> None:
    session = open_session(stateful, mint(sub="alice"))
    for kind in ("alg-none", "wrong-key", "expired", "tampered"):
        result = whoami(stateful, forge(kind), session)
        assert result.status == 401
        assert b"alice" not in result.body


def test_session_of_one_user_is_refused_with_another_users_token(stateful: ContractClient) -> None:
    session = open_session(stateful, mint(sub="alice"))
    result = whoami(stateful, mint(sub="bob"), session)
    # The SDK answers exactly as if the session did not exist.
    assert result.status == 404, result.body
    assert b"alice" not in result.body
    assert "error" in result.json()
    # and the owner is not disturbed
    assert whoami(stateful, mint(sub="alice"), session).json()["result"]["content"][0]["text"] == "alice"


def test_session_of_one_client_is_refused_for_another_client_of_the_same_user(
    stateful: ContractClient,
) -> None:
    session = open_session(stateful, mint(sub="alice"))
    result = whoami(stateful, mint(sub="alice", client_id="other-client"), session)
    assert result.status == 404, result.body


def test_unknown_session_id_with_a_valid_token_is_404(stateful: ContractClient) -> None:
    result = whoami(stateful, mint(sub="alice"), "f" * 32)
    assert result.status == 404
    assert "error" in result.json()
