"""ClerkTokenVerifier against a local server speaking Clerk's Backend API wire format."""

from __future__ import annotations

import base64
import json
import logging
from collections.abc import Callable, Iterator
from typing import Any

import anyio
import pytest
from mcp.server.auth.provider import AccessToken

from mcp_tools.http import Headers, Request
from mcp_tools.server.bearer import BearerGuard
from mcp_tools.server.verifiers import (
    ClerkTokenVerifier,
    McpTokenVerifier,
    TokenVerificationUnavailable,
    clerk_auth_info,
)
from mcp_tools.server.verifiers.clerk import clerk_issuer_from_publishable_key

from .tokens import NOW, RESOURCE, FakeClock, LocalServer, Recorded, claims, forge_none, mint, rsa_key

SECRET = "sk_test_local_secret"
FAPI = "clerk.example.test"
PUBLISHABLE = "pk_test_" + base64.b64encode(f"{FAPI}$".encode()).decode()
CLERK_ISSUER = f"https://{FAPI}"
VERIFY_PATH = "/oauth_applications/access_tokens/verify"
KEY = rsa_key("ins_1")


def oat(**overrides: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "object": "clerk_idp_oauth_access_token",
        "id": "oat_id_1",
        "client_id": "client_XYZ",
        "type": "oauth:access_token",
        "subject": "user_123",
        "scopes": ["profile", "email"],
        "revoked": False,
        "revocation_reason": None,
        "expired": False,
        "expiration": NOW + 3600,
        "created_at": NOW - 60,
        "updated_at": NOW - 60,
    }
    data.update(overrides)
    return data


class BAPI:
    """Clerk's Backend API, as far as token verification goes."""

    def __init__(self) -> None:
        self.tokens: dict[str, dict[str, Any]] = {"oat_valid": oat()}
        self.server = LocalServer()
        self.server.routes[f"POST {VERIFY_PATH}"] = self.verify
        self.server.routes["GET /v1/jwks"] = self.jwks
        self.jwks_doc = {"keys": [KEY.as_dict(private=False)]}

    def _authorized(self, rec: Recorded) -> bool:
        return rec.headers.get("authorization") == f"Bearer {SECRET}"

    def verify(self, rec: Recorded) -> tuple[int, Any]:
        if not self._authorized(rec):
            return 401, {"errors": [{"code": "authentication_invalid"}]}
        if rec.headers.get("content-type") != "application/json":
            return 415, {"errors": []}
        body = json.loads(rec.body)
        found = self.tokens.get(body.get("access_token"))
        return (200, found) if found is not None else (404, {"errors": [{"code": "resource_not_found"}]})

    def jwks(self, rec: Recorded) -> tuple[int, Any]:
        if not self._authorized(rec):
            return 401, {"errors": []}
        return 200, self.jwks_doc

    @property
    def url(self) -> str:
        return self.server.url("")


@pytest.fixture
def bapi() -> Iterator[BAPI]:
    b = BAPI()
    yield b
    b.server.stop()


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


Make = Callable[..., ClerkTokenVerifier]


@pytest.fixture
def make(bapi: BAPI, clock: FakeClock) -> Make:
    def _make(**kw: Any) -> ClerkTokenVerifier:
        args: dict[str, Any] = {
            "secret_key": SECRET,
            "publishable_key": PUBLISHABLE,
            "api_url": bapi.url,
            "clock": clock,
        }
        args.update(kw)
        return ClerkTokenVerifier(**args)

    return _make


Verify = Callable[[McpTokenVerifier, str], "AccessToken | None"]


@pytest.fixture(params=["sync", "async"])
def verify(request: pytest.FixtureRequest) -> Verify:
    if request.param == "sync":
        return lambda v, token: v.verify_token_sync(token)
    return lambda v, token: anyio.run(v.verify_token, token)


def test_opaque_token_wire_format_and_mapping(make: Make, verify: Verify, bapi: BAPI) -> None:
    access = verify(make(), "oat_valid")
    assert access is not None
    assert access.token == "oat_valid"
    assert access.client_id == "client_XYZ"
    assert access.scopes == ["profile", "email"]
    assert access.subject == "user_123"
    assert access.expires_at == NOW + 3600
    assert access.resource is None
    assert access.claims is not None
    assert access.claims["iss"] == CLERK_ISSUER
    assert access.claims["sub"] == "user_123"
    (rec,) = bapi.server.requests
    assert rec.method == "POST"
    assert rec.path == VERIFY_PATH  # no /v1 on this endpoint
    assert rec.headers["authorization"] == f"Bearer {SECRET}"
    assert rec.headers["clerk-api-version"] == "2026-05-12"
    assert rec.headers["content-type"] == "application/json"
    assert json.loads(rec.body) == {"access_token": "oat_valid"}
    assert clerk_auth_info(access) == {
        "token": "oat_valid",
        "scopes": ["profile", "email"],
        "client_id": "client_XYZ",
        "extra": {"user_id": "user_123"},
    }


@pytest.mark.parametrize(
    "record",
    [
        oat(revoked=True, revocation_reason="user"),
        oat(expired=True),
        oat(expiration=NOW - 1),
        oat(expiration="never"),
        oat(object="machine_token"),
        oat(subject=None),
        oat(client_id=""),
        oat(scopes=None),
        oat(scopes="profile"),
    ],
    ids=[
        "revoked",
        "expired-flag",
        "expiration-past",
        "expiration-garbage",
        "wrong-object",
        "no-subject",
        "no-client",
        "no-scopes",
        "scopes-string",
    ],
)
def test_unacceptable_records(make: Make, verify: Verify, bapi: BAPI, record: dict[str, Any]) -> None:
    bapi.tokens["oat_x"] = record
    assert verify(make(), "oat_x") is None


def test_unknown_token_404_is_none(make: Make, verify: Verify, bapi: BAPI) -> None:
    assert verify(make(), "oat_invalid") is None
    assert bapi.server.count("POST", VERIFY_PATH) == 1


def test_expiration_null_and_milliseconds(make: Make, verify: Verify, bapi: BAPI) -> None:
    bapi.tokens["oat_forever"] = oat(expiration=None)
    access = verify(make(), "oat_forever")
    assert access is not None
    assert access.expires_at is None
    bapi.tokens["oat_ms"] = oat(expiration=(NOW + 600) * 1000)
    access = verify(make(), "oat_ms")
    assert access is not None
    assert access.expires_at == NOW + 600
    bapi.tokens["oat_ms_past"] = oat(expiration=(NOW - 600) * 1000)
    assert verify(make(), "oat_ms_past") is None


def test_audience_binding(make: Make, verify: Verify, bapi: BAPI) -> None:
    bapi.tokens["oat_aud"] = oat(aud=[RESOURCE])
    bapi.tokens["oat_other"] = oat(aud=["https://other.example/mcp"])
    bapi.tokens["oat_str"] = oat(aud=RESOURCE)
    v = make(audience=RESOURCE)
    access = verify(v, "oat_aud")
    assert access is not None
    assert access.resource == RESOURCE
    assert verify(v, "oat_str") is not None
    assert verify(v, "oat_other") is None
    assert verify(v, "oat_valid") is None  # no aud at all: not bound to this resource
    assert verify(make(), "oat_other") is not None  # no audience configured: not checked


def test_bad_secret_is_unavailable_and_logged(
    make: Make, verify: Verify, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.ERROR, logger="mcp_tools.clerk")
    with pytest.raises(TokenVerificationUnavailable, match="401"):
        verify(make(secret_key="sk_test_wrong"), "oat_valid")
    assert "CLERK_SECRET_KEY" in caplog.text
    assert "sk_test_wrong" not in caplog.text
    assert "oat_valid" not in caplog.text


def test_server_error_and_outage_are_unavailable(make: Make, verify: Verify, bapi: BAPI) -> None:
    bapi.server.routes[f"POST {VERIFY_PATH}"] = lambda r: (502, {"errors": []})
    with pytest.raises(TokenVerificationUnavailable):
        verify(make(), "oat_valid")
    bapi.server.stop()
    with pytest.raises(TokenVerificationUnavailable):
        verify(make(), "oat_valid")


def test_cache_optional(make: Make, verify: Verify, bapi: BAPI) -> None:
    v = make()
    verify(v, "oat_valid")
    verify(v, "oat_valid")
    assert bapi.server.count("POST", VERIFY_PATH) == 2  # default: every request asks Clerk
    cached = make(cache_ttl=30)
    verify(cached, "oat_valid")
    verify(cached, "oat_valid")
    assert bapi.server.count("POST", VERIFY_PATH) == 3


def test_jwt_access_token_via_bapi_jwks(make: Make, verify: Verify, bapi: BAPI) -> None:
    v = make()
    token = mint(KEY, claims(iss=CLERK_ISSUER, aud=None, scope=None, scp=["profile"]), typ="at+jwt")
    access = verify(v, token)
    assert access is not None
    assert access.subject == "user_123"
    assert access.client_id == "client_abc"
    assert access.scopes == ["profile"]
    assert access.claims is not None
    assert access.claims["iss"] == CLERK_ISSUER
    (rec,) = bapi.server.requests
    assert (rec.method, rec.path) == ("GET", "/v1/jwks")
    assert rec.headers["authorization"] == f"Bearer {SECRET}"
    assert verify(v, mint(KEY, claims(iss=CLERK_ISSUER, aud=None), typ="application/at+jwt")) is not None
    # Refused: a session-style JWT (typ JWT), another issuer, forgeries, other keys.
    assert verify(v, mint(KEY, claims(iss=CLERK_ISSUER, aud=None), typ="JWT")) is None
    assert verify(v, mint(KEY, claims(iss="https://evil.example", aud=None))) is None
    assert verify(v, forge_none(claims(iss=CLERK_ISSUER, aud=None), kid="ins_1")) is None
    assert verify(v, mint(rsa_key("ins_1"), claims(iss=CLERK_ISSUER, aud=None))) is None
    assert verify(v, mint(KEY, claims(iss=CLERK_ISSUER, aud=None, exp=NOW - 100))) is None


def test_jwt_audience_checked_when_configured(make: Make, verify: Verify) -> None:
    v = make(audience=RESOURCE)
    access = verify(v, mint(KEY, claims(iss=CLERK_ISSUER, aud=RESOURCE)))
    assert access is not None
    assert access.resource == RESOURCE
    assert verify(v, mint(KEY, claims(iss=CLERK_ISSUER, aud="https://other.example"))) is None


def test_jwt_with_configured_key_needs_no_network(make: Make, verify: Verify, bapi: BAPI) -> None:
    v = make(jwt_key=KEY.as_pem(private=False).decode())
    assert verify(v, mint(KEY, claims(iss=CLERK_ISSUER, aud=None))) is not None
    assert bapi.server.requests == []


@pytest.mark.parametrize("token", ["", "abc", "not-a-clerk-token", "a.b", "ünï", "x" * 10_240])
def test_garbage_never_reaches_clerk(make: Make, verify: Verify, bapi: BAPI, token: str) -> None:
    assert verify(make(), token) is None
    assert bapi.server.requests == []


def test_environment_configuration(monkeypatch: pytest.MonkeyPatch, bapi: BAPI, clock: FakeClock) -> None:
    monkeypatch.setenv("CLERK_SECRET_KEY", SECRET)
    monkeypatch.setenv("CLERK_API_URL", bapi.url)
    monkeypatch.setenv("CLERK_PUBLISHABLE_KEY", PUBLISHABLE)
    v = ClerkTokenVerifier(clock=clock)
    assert v.issuer == CLERK_ISSUER
    assert v.verify_token_sync("oat_valid") is not None
    monkeypatch.delenv("CLERK_SECRET_KEY")
    with pytest.raises(ValueError, match="CLERK_SECRET_KEY"):
        ClerkTokenVerifier()


@pytest.mark.parametrize(
    "bad", ["sk_test_x", "pk_test_%%%", "pk_test_" + base64.b64encode(b"no-dollar").decode()]
)
def test_bad_publishable_key(bad: str) -> None:
    with pytest.raises(ValueError, match="publishable key"):
        clerk_issuer_from_publishable_key(bad)


def test_issuer_from_publishable_key() -> None:
    assert clerk_issuer_from_publishable_key(PUBLISHABLE) == CLERK_ISSUER
    live = "pk_live_" + base64.b64encode(b"clerk.acme.com$").decode().rstrip("=")
    assert clerk_issuer_from_publishable_key(live) == "https://clerk.acme.com"


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.mark.anyio
async def test_through_the_guard(make: Make) -> None:
    guard = BearerGuard(make(), resource_url=RESOURCE, required_scopes=["profile"])

    def req(auth: str) -> Request:
        return Request("POST", RESOURCE, Headers({"Authorization": auth}))

    ok = await guard.authenticate(req("Bearer oat_valid"))
    assert ok.ok
    assert ok.token is not None
    assert ok.token.subject == "user_123"
    denied = await guard.authenticate(req("Bearer oat_invalid"))
    assert denied.response is not None
    assert denied.response.status == 401
    step_up = await guard.authenticate(req("Bearer oat_valid"), required_scopes=["admin"])
    assert step_up.response is not None
    assert step_up.response.status == 403
