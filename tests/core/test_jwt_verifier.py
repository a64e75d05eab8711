"""JWTVerifier with real signed tokens and a real JWKS server on 127.0.0.1, sync and async."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Callable, Iterator
from typing import Any

import anyio
import pytest
from joserfc.jwk import KeySet, RSAKey
from mcp.server.auth.provider import AccessToken, TokenVerifier

from mcp_tools.server.verifiers import JWTVerifier, McpTokenVerifier, TokenVerificationUnavailable

from .tokens import (
    ISSUER,
    NOW,
    RESOURCE,
    FakeClock,
    LocalServer,
    claims,
    ec_key,
    ed_key,
    forge_hs256_with_public_pem,
    forge_none,
    forge_none_with_signature,
    jwks,
    mint,
    rsa_key,
    tamper,
)

RSA = rsa_key("rsa-1")
EC = ec_key("ec-1")
ED = ed_key("ed-1")
ROTATED = rsa_key("rsa-2")
STRANGER = rsa_key("rsa-1")  # same kid, different key material


class JWKSState:
    def __init__(self) -> None:
        self.keys: list[Any] = [RSA, EC, ED]
        self.server = LocalServer()
        self.server.routes["GET /jwks"] = lambda r: (200, jwks(*self.keys))

    @property
    def uri(self) -> str:
        return self.server.url("/jwks")

    @property
    def fetches(self) -> int:
        return self.server.count("GET", "/jwks")


@pytest.fixture
def jwks_state() -> Iterator[JWKSState]:
    state = JWKSState()
    yield state
    state.server.stop()


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def verifier(jwks_state: JWKSState, clock: FakeClock) -> JWTVerifier:
    return JWTVerifier(issuer=ISSUER, audience=RESOURCE, jwks_uri=jwks_state.uri, clock=clock)


Verify = Callable[[McpTokenVerifier, str], "AccessToken | None"]


@pytest.fixture(params=["sync", "async"])
def verify(request: pytest.FixtureRequest) -> Verify:
    if request.param == "sync":
        return lambda v, token: v.verify_token_sync(token)
    return lambda v, token: anyio.run(v.verify_token, token)


def test_is_an_sdk_token_verifier(verifier: JWTVerifier) -> None:
    sdk_verifier: TokenVerifier = verifier
    assert callable(sdk_verifier.verify_token)


@pytest.mark.parametrize("key", [RSA, EC, ED], ids=["RS256", "ES256", "EdDSA"])
def test_valid_token_gives_full_access_token(verifier: JWTVerifier, verify: Verify, key: Any) -> None:
    token = mint(key)
    access = verify(verifier, token)
    assert access is not None
    assert access.token == token
    assert access.client_id == "client_abc"
    assert access.scopes == ["mcp:read", "mcp:write"]
    assert access.expires_at == NOW + 3600
    assert access.resource == RESOURCE
    assert access.subject == "user_123"
    assert access.claims is not None
    assert access.claims["iss"] == ISSUER
    assert access.claims["jti"] == "jti-1"


def test_keys_cached_across_calls(verifier: JWTVerifier, verify: Verify, jwks_state: JWKSState) -> None:
    for _ in range(5):
        assert verify(verifier, mint(RSA)) is not None
    assert jwks_state.fetches == 1
    assert verifier.jwks_fetch_count == 1


def _forged() -> dict[str, str]:
    good = mint(RSA)
    return {
        "alg_none": forge_none(),
        "alg_none_with_signature": forge_none_with_signature(),
        "hs256_with_public_pem": forge_hs256_with_public_pem(RSA),
        "wrong_issuer": mint(RSA, claims(iss="https://evil.example.test")),
        "issuer_trailing_slash": mint(RSA, claims(iss=ISSUER + "/")),
        "no_issuer": mint(RSA, {k: v for k, v in claims().items() if k != "iss"}),
        "wrong_audience": mint(RSA, claims(aud="https://other.example.test/mcp")),
        "no_audience": mint(RSA, {k: v for k, v in claims().items() if k != "aud"}),
        "expired": mint(RSA, claims(exp=NOW - 31)),
        "no_exp": mint(RSA, {k: v for k, v in claims().items() if k != "exp"}),
        "not_yet_valid": mint(RSA, claims(nbf=NOW + 120)),
        "issued_in_future": mint(RSA, claims(iat=NOW + 120)),
        "exp_not_a_number": mint(RSA, claims(exp="tomorrow")),
        "tampered_payload": tamper(good, sub="admin"),
        "tampered_scope": tamper(good, scope="mcp:read mcp:write mcp:admin"),
        "signed_by_stranger_same_kid": mint(STRANGER),
        "no_client_id": mint(RSA, claims(client_id=None)),
        "bad_scope_type": mint(RSA, claims(scope=["a", "b"])),
        "truncated": good[: len(good) // 2],
        "two_segments": ".".join(good.split(".")[:2]),
        "four_segments": good + ".x",
        "garbage_header": "%%%." + good.split(".", 1)[1],
        "empty": "",
        "non_ascii": "ünïcode.tøken.x",
        "ten_kb": "a" * 10_240,
        "whitespace": "abc def",
    }


@pytest.mark.parametrize("case", sorted(_forged()))
def test_forged_and_bad_tokens_refused(
    verifier: JWTVerifier, verify: Verify, case: str, jwks_state: JWKSState
) -> None:
    token = _forged()[case]
    assert verify(verifier, token) is None
    # Refusing never costs more than the initial fetch plus one rate-limited refetch.
    assert jwks_state.fetches <= 1


def test_edge_of_leeway(verifier: JWTVerifier, verify: Verify) -> None:
    assert verify(verifier, mint(RSA, claims(exp=NOW - 29))) is not None  # within 30 s leeway
    assert verify(verifier, mint(RSA, claims(nbf=NOW + 29))) is not None
    assert verify(verifier, mint(RSA, claims(exp=NOW - 30))) is None


def test_audience_list_and_multiple_configured(
    jwks_state: JWKSState, clock: FakeClock, verify: Verify
) -> None:
    v = JWTVerifier(
        issuer=ISSUER,
        audience=["https://other.example.test", RESOURCE],
        jwks_uri=jwks_state.uri,
        clock=clock,
    )
    access = verify(v, mint(RSA, claims(aud=["https://x.example", RESOURCE])))
    assert access is not None
    assert access.resource == RESOURCE
    assert verify(v, mint(RSA, claims(aud=["https://x.example"]))) is None


@pytest.mark.parametrize(
    ("extra", "expected"),
    [
        ({"scope": None, "scp": ["a", "b"]}, ["a", "b"]),
        ({"scope": None, "scp": "a b"}, ["a", "b"]),
        ({"scope": None}, []),
        ({"client_id": None, "azp": "azp-client"}, None),
        ({"client_id": None, "cid": "cid-client"}, None),
    ],
)
def test_scope_and_client_id_sources(
    verifier: JWTVerifier, verify: Verify, extra: dict[str, Any], expected: list[str] | None
) -> None:
    access = verify(verifier, mint(RSA, claims(**extra)))
    assert access is not None
    if expected is not None:
        assert access.scopes == expected
    else:
        assert access.client_id in ("azp-client", "cid-client")


def test_typ_required_when_configured(jwks_state: JWKSState, clock: FakeClock, verify: Verify) -> None:
    v = JWTVerifier(issuer=ISSUER, audience=RESOURCE, jwks_uri=jwks_state.uri, typ="at+jwt", clock=clock)
    assert verify(v, mint(RSA, typ="at+jwt")) is not None
    assert verify(v, mint(RSA, typ="application/at+jwt")) is not None
    assert verify(v, mint(RSA, typ="AT+JWT")) is not None
    assert verify(v, mint(RSA, typ="JWT")) is None
    assert verify(v, mint(RSA, typ=None)) is None
    # Without typ configured, any typ is fine.
    v2 = JWTVerifier(issuer=ISSUER, audience=RESOURCE, jwks_uri=jwks_state.uri, clock=clock)
    assert verify(v2, mint(RSA, typ="JWT")) is not None


def test_unknown_kid_refetches_once_rate_limited(
    verifier: JWTVerifier, verify: Verify, jwks_state: JWKSState, clock: FakeClock
) -> None:
    assert verify(verifier, mint(RSA)) is not None
    assert jwks_state.fetches == 1
    unknown = rsa_key("nobody")
    # Within the rate-limit window of the first fetch: no refetch at all.
    assert verify(verifier, mint(unknown)) is None
    assert jwks_state.fetches == 1
    clock.advance(31)
    assert verify(verifier, mint(unknown)) is None
    assert jwks_state.fetches == 2  # one refetch
    for _ in range(10):
        assert verify(verifier, mint(unknown)) is None
    assert jwks_state.fetches == 2  # rate limit holds
    clock.advance(31)
    assert verify(verifier, mint(unknown)) is None
    assert jwks_state.fetches == 3


def test_key_rotation_accepted_after_refetch(
    verifier: JWTVerifier, verify: Verify, jwks_state: JWKSState, clock: FakeClock
) -> None:
    assert verify(verifier, mint(RSA)) is not None
    jwks_state.keys = [ROTATED, RSA]
    clock.advance(60)
    access = verify(verifier, mint(ROTATED, claims(exp=NOW + 7200)))
    assert access is not None
    assert jwks_state.fetches == 2
    # The old key is still published and still works; the new one is now cached.
    assert verify(verifier, mint(RSA, claims(exp=NOW + 7200))) is not None
    assert verify(verifier, mint(ROTATED, claims(exp=NOW + 7200))) is not None
    assert jwks_state.fetches == 2


def test_cache_ttl_refreshes(
    verifier: JWTVerifier, verify: Verify, jwks_state: JWKSState, clock: FakeClock
) -> None:
    assert verify(verifier, mint(RSA)) is not None
    clock.advance(301)
    assert verify(verifier, mint(RSA, claims(exp=NOW + 7200))) is not None
    assert jwks_state.fetches == 2


def test_jwks_down_before_first_fetch_is_unavailable(
    verifier: JWTVerifier, verify: Verify, jwks_state: JWKSState
) -> None:
    jwks_state.server.stop()
    with pytest.raises(TokenVerificationUnavailable) as info:
        verify(verifier, mint(RSA))
    assert mint(RSA) not in str(info.value)


def test_jwks_error_status_is_unavailable(
    verifier: JWTVerifier, verify: Verify, jwks_state: JWKSState
) -> None:
    jwks_state.server.routes["GET /jwks"] = lambda r: (500, {"error": "boom"})
    with pytest.raises(TokenVerificationUnavailable):
        verify(verifier, mint(RSA))
    jwks_state.server.routes["GET /jwks"] = lambda r: (200, b"<html>")
    with pytest.raises(TokenVerificationUnavailable):
        verify(verifier, mint(RSA))


def test_jwks_down_cached_keys_keep_working(
    verifier: JWTVerifier,
    verify: Verify,
    jwks_state: JWKSState,
    clock: FakeClock,
    caplog: pytest.LogCaptureFixture,
) -> None:
    token = mint(RSA, claims(exp=NOW + 7200))
    assert verify(verifier, token) is not None
    jwks_state.server.stop()
    # Cache expired and the endpoint is down: the stale keys keep serving.
    clock.advance(400)
    with caplog.at_level(logging.WARNING):
        assert verify(verifier, token) is not None
    assert "JWKS refresh failed" in caplog.text
    assert token not in caplog.text
    # A token with an unknown kid needs the endpoint: unavailable, not "invalid".
    clock.advance(31)
    with pytest.raises(TokenVerificationUnavailable):
        verify(verifier, mint(rsa_key("new-kid"), claims(exp=NOW + 7200)))
    # ...and known keys still work right after.
    assert verify(verifier, token) is not None


def test_stale_keys_stop_after_the_max_stale_window(
    jwks_state: JWKSState, clock: FakeClock, verify: Verify
) -> None:
    verifier = JWTVerifier(
        issuer=ISSUER,
        audience=RESOURCE,
        jwks_uri=jwks_state.uri,
        clock=clock,
        cache_ttl=0,
        jwks_max_stale=3600,
    )
    token = mint(RSA, claims(exp=NOW + 7 * 86400))
    assert verify(verifier, token) is not None
    jwks_state.server.stop()
    clock.advance(300 + 3000)  # past the refresh time, inside the stale window
    assert verify(verifier, token) is not None
    clock.advance(700)  # 300 + 3700 s after the fetch: beyond ttl + max_stale
    with pytest.raises(TokenVerificationUnavailable, match="older than the allowed 3600 s"):
        verify(verifier, token)


def test_static_keys_need_no_network(clock: FakeClock, verify: Verify) -> None:
    for keys in (
        KeySet([RSA]),
        RSA.as_dict(private=False),
        jwks(RSA),
        RSA.as_pem(private=False),
        RSA.as_pem(private=False).decode(),
    ):
        v = JWTVerifier(issuer=ISSUER, audience=RESOURCE, keys=keys, clock=clock)
        assert verify(v, mint(RSA)) is not None
        assert verify(v, mint(EC)) is None
        assert verify(v, forge_hs256_with_public_pem(RSA)) is None
    assert v.jwks_fetch_count == 0


@pytest.mark.parametrize("alg", ["none", "HS256", "hs512", "None", "RS1", "XYZ"])
def test_dangerous_or_unknown_algorithms_refused_at_construction(alg: str) -> None:
    with pytest.raises(ValueError, match=alg if alg.lower() != "none" else "none"):
        JWTVerifier(issuer=ISSUER, audience=RESOURCE, keys=jwks(RSA), algorithms=["RS256", alg])


def test_constructor_validation() -> None:
    with pytest.raises(ValueError, match="exactly one"):
        JWTVerifier(issuer=ISSUER, audience=RESOURCE)
    with pytest.raises(ValueError, match="exactly one"):
        JWTVerifier(issuer=ISSUER, audience=RESOURCE, jwks_uri="https://x", keys=jwks(RSA))
    oct_key = {"kty": "oct", "k": "c2VjcmV0LXNlY3JldC1zZWNyZXQtc2VjcmV0"}
    with pytest.raises(ValueError, match="HMAC"):
        JWTVerifier(issuer=ISSUER, audience=RESOURCE, keys=oct_key)
    with pytest.raises(ValueError, match="issuer"):
        JWTVerifier(issuer="", audience=RESOURCE, keys=jwks(RSA))
    with pytest.raises(ValueError, match="audience"):
        JWTVerifier(issuer=ISSUER, audience=[], keys=jwks(RSA))


def test_algorithm_allowlist_restricts(clock: FakeClock, verify: Verify) -> None:
    v = JWTVerifier(issuer=ISSUER, audience=RESOURCE, keys=jwks(RSA, EC), algorithms=["ES256"], clock=clock)
    assert verify(v, mint(EC)) is not None
    assert verify(v, mint(RSA)) is None


def test_alg_must_fit_key(clock: FakeClock, verify: Verify) -> None:
    v = JWTVerifier(issuer=ISSUER, audience=RESOURCE, keys=jwks(RSA), clock=clock)
    # An RS256 key published with alg=RS256 cannot be used for PS256 even though both are RSA.
    signer = RSAKey.import_key({k: v for k, v in RSA.as_dict(private=True).items() if k != "alg"})
    assert verify(v, mint(signer, alg="PS256")) is None
    assert verify(v, mint(signer, alg="RS256")) is not None


def test_thread_safety_under_concurrency(verifier: JWTVerifier, jwks_state: JWKSState) -> None:
    import concurrent.futures

    tokens = [mint(RSA, claims(jti=f"j{i}")) for i in range(40)]
    with concurrent.futures.ThreadPoolExecutor(max_workers=8) as pool:
        results = list(pool.map(verifier.verify_token_sync, tokens))
    assert all(r is not None for r in results)
    assert jwks_state.fetches <= 8


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.mark.anyio
async def test_async_verify_native(verifier: JWTVerifier, jwks_state: JWKSState) -> None:
    access = await verifier.verify_token(mint(EC))
    assert access is not None
    assert access.subject == "user_123"
    assert await verifier.verify_token(forge_none()) is None
    assert jwks_state.fetches == 1


def test_no_token_in_logs(
    verifier: JWTVerifier, verify: Verify, caplog: pytest.LogCaptureFixture, jwks_state: JWKSState
) -> None:
    caplog.set_level(logging.DEBUG)
    forged = _forged()
    for token in forged.values():
        with contextlib.suppress(TokenVerificationUnavailable):
            verify(verifier, token)
    for token in forged.values():
        if len(token) > 8:
            assert token not in caplog.text
