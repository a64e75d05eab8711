"""JWTVerifier's cache of verified tokens: hits skip the signature, never outlive exp or the key set."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import anyio
import pytest
from mcp.server.auth.provider import AccessToken

from mcp_tools.server.verifiers import JWTVerifier, McpTokenVerifier
from mcp_tools.server.verifiers import jwt as jwt_module

from .tokens import ISSUER, NOW, RESOURCE, FakeClock, LocalServer, claims, jwks, mint, rsa_key, tamper

RSA = rsa_key("rsa-1")
OTHER = rsa_key("rsa-2")

Verify = Callable[[McpTokenVerifier, str], "AccessToken | None"]


@pytest.fixture(params=["sync", "async"])
def verify(request: pytest.FixtureRequest) -> Verify:
    if request.param == "sync":
        return lambda v, token: v.verify_token_sync(token)
    return lambda v, token: anyio.run(v.verify_token, token)


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def decodes(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Every signature check the verifier makes (joserfc decode calls)."""
    seen: list[str] = []
    real = jwt_module.jose_jwt.decode

    def counting(token: Any, *args: Any, **kwargs: Any) -> Any:
        seen.append(token)
        return real(token, *args, **kwargs)

    monkeypatch.setattr(jwt_module.jose_jwt, "decode", counting)
    return seen


def static(clock: FakeClock, **kwargs: Any) -> JWTVerifier:
    return JWTVerifier(issuer=ISSUER, audience=RESOURCE, keys=jwks(RSA), clock=clock, **kwargs)


def test_hit_skips_signature_check_and_returns_same_result(
    clock: FakeClock, verify: Verify, decodes: list[str]
) -> None:
    v = static(clock)
    token = mint(RSA)
    first = verify(v, token)
    second = verify(v, token)
    assert first is not None
    assert second is not None
    assert second.subject == "user_123"
    assert second.token == token
    assert len(decodes) == 1
    assert len(v.cache) == 1
    # Keyed by the SHA-256 digest: the raw token is not a key.
    assert all(len(k) == 64 and "." not in k for k in v.cache._entries)


def test_never_outlives_exp(clock: FakeClock, verify: Verify, decodes: list[str]) -> None:
    v = static(clock, leeway=0)
    token = mint(RSA, claims(exp=NOW + 60))
    assert verify(v, token) is not None
    clock.advance(59)
    assert verify(v, token) is not None
    assert len(decodes) == 1
    clock.advance(1)  # now == exp: expired, and the cache must not say otherwise
    assert verify(v, token) is None


def test_bounded_by_cache_ttl(clock: FakeClock, verify: Verify, decodes: list[str]) -> None:
    v = static(clock, cache_ttl=10)
    token = mint(RSA)
    verify(v, token)
    clock.advance(11)
    assert verify(v, token) is not None
    assert len(decodes) == 2


def test_failures_are_never_cached(clock: FakeClock, verify: Verify, decodes: list[str]) -> None:
    v = static(clock)
    bad = [
        tamper(mint(RSA), sub="mallory"),
        mint(OTHER, kid="rsa-1"),
        mint(RSA, claims(aud="https://elsewhere.example/mcp")),
        mint(RSA, claims(exp=NOW - 3600)),
    ]
    for token in bad:
        assert verify(v, token) is None
        assert verify(v, token) is None
    assert len(v.cache) == 0


def test_bounded_size(clock: FakeClock, verify: Verify) -> None:
    v = static(clock, max_cache_entries=3)
    tokens = [mint(RSA, claims(jti=f"j{i}")) for i in range(5)]
    for token in tokens:
        assert verify(v, token) is not None
    assert len(v.cache) == 3


def test_disabled_with_zero_ttl(clock: FakeClock, verify: Verify, decodes: list[str]) -> None:
    v = static(clock, cache_ttl=0)
    token = mint(RSA)
    verify(v, token)
    verify(v, token)
    assert len(decodes) == 2
    assert len(v.cache) == 0
    with pytest.raises(ValueError):
        static(clock, cache_ttl=-1)


@pytest.fixture
def jwks_server() -> Iterator[tuple[LocalServer, list[Any]]]:
    published: list[Any] = [RSA]
    server = LocalServer()
    server.routes["GET /jwks"] = lambda r: (200, jwks(*published))
    yield server, published
    server.stop()


def test_key_removed_from_jwks_invalidates_cached_tokens(
    jwks_server: tuple[LocalServer, list[Any]], clock: FakeClock, verify: Verify
) -> None:
    server, published = jwks_server
    v = JWTVerifier(
        issuer=ISSUER, audience=RESOURCE, jwks_uri=server.url("/jwks"), clock=clock, jwks_cache_ttl=60
    )
    token = mint(RSA, claims(exp=NOW + 7200))
    assert verify(v, token) is not None
    published[:] = [OTHER]  # the authorization server withdraws the key
    clock.advance(61)  # the JWKS is refetched: cached verifications made with the old set are void
    assert verify(v, token) is None


def test_unknown_kid_refetch_keeps_cache_consistent(
    jwks_server: tuple[LocalServer, list[Any]], clock: FakeClock, verify: Verify, decodes: list[str]
) -> None:
    server, published = jwks_server
    v = JWTVerifier(issuer=ISSUER, audience=RESOURCE, jwks_uri=server.url("/jwks"), clock=clock)
    old = mint(RSA)
    assert verify(v, old) is not None
    published[:] = [RSA, OTHER]
    clock.advance(31)  # past the refetch rate limit
    new = mint(OTHER)
    assert verify(v, new) is not None  # refetch for the unknown kid
    assert verify(v, new) is not None  # cached with the new key set
    assert verify(v, old) is not None  # re-verified once against the new set
    assert verify(v, old) is not None
    assert decodes.count(new) == 1
    assert decodes.count(old) == 2


@pytest.mark.parametrize("mode", ["sync", "async"])
def test_guard_answers_hits_from_the_cache_and_follows_key_withdrawal(
    jwks_server: tuple[LocalServer, list[Any]],
    clock: FakeClock,
    decodes: list[str],
    monkeypatch: pytest.MonkeyPatch,
    mode: str,
) -> None:
    # BearerGuard asks our verifiers' cache before their verify methods: a hit must not skip
    # any check the full path makes (expiry, key set, audience, scopes).
    from mcp_tools.http import Headers, Request
    from mcp_tools.server.bearer import BearerGuard

    server, published = jwks_server
    # leeway=0: expiry to the second; the guard takes the verifier's leeway (issue 22, item 10;
    # the 30 s default is covered in test_guard_hardening.py)
    v = JWTVerifier(
        issuer=ISSUER,
        audience=RESOURCE,
        jwks_uri=server.url("/jwks"),
        clock=clock,
        jwks_cache_ttl=60,
        leeway=0,
    )
    guard = BearerGuard(v, resource_url=RESOURCE, required_scopes=["mcp:read"], clock=clock)
    assert guard.leeway == 0
    calls: list[str] = []
    for name in ("verify_token", "verify_token_sync"):
        real = getattr(v, name)
        monkeypatch.setattr(v, name, lambda t, _real=real, _name=name: calls.append(_name) or _real(t))

    def check(token: str) -> int:
        request = Request("POST", RESOURCE, Headers([("Authorization", f"Bearer {token}")]))
        if mode == "sync":
            result = guard.authenticate_sync(request)
        else:
            result = anyio.run(guard.authenticate, request)
        return 200 if result.token is not None else result.response.status  # type: ignore[union-attr]

    token = mint(RSA, claims(exp=NOW + 7200, scope="mcp:read"))
    assert check(token) == 200
    assert len(calls) == 1
    assert check(token) == 200
    assert len(calls) == 1  # the hit: no verify call...
    assert decodes.count(token) == 1  # ...and no signature check
    narrow = mint(RSA, claims(exp=NOW + 7200, scope="other"))
    assert check(narrow) == 403
    assert check(narrow) == 403  # scopes are checked on hits too
    short = mint(RSA, claims(exp=NOW + 30, scope="mcp:read"))
    assert check(short) == 200
    clock.advance(31)
    assert check(short) == 401  # a cached token past its exp
    published[:] = [OTHER]
    clock.advance(30)  # the JWKS is stale: the cache is not consulted without a fresh key set
    assert check(token) == 401
