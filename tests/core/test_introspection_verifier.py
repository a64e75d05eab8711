"""IntrospectionVerifier against a real RFC 7662 endpoint on 127.0.0.1."""

from __future__ import annotations

import base64
from collections.abc import Callable, Iterator
from typing import Any
from urllib.parse import parse_qs

import anyio
import pytest
from mcp.server.auth.provider import AccessToken

from mcp_tools.server.verifiers import IntrospectionVerifier, McpTokenVerifier, TokenVerificationUnavailable

from .tokens import ISSUER, NOW, RESOURCE, FakeClock, LocalServer, Recorded

CLIENT_ID = "rs-client"
CLIENT_SECRET = "s3cret:with/odd&chars"


class AS:
    """An RFC 7662 endpoint that knows a few tokens and checks client authentication."""

    def __init__(self) -> None:
        self.tokens: dict[str, dict[str, Any]] = {}
        self.server = LocalServer()
        self.server.routes["POST /introspect"] = self.introspect
        self.auth_seen: list[str] = []

    def introspect(self, rec: Recorded) -> tuple[int, Any]:
        form = {k: v[0] for k, v in parse_qs(rec.body.decode()).items()}
        basic = rec.headers.get("authorization", "")
        if basic.startswith("Basic "):
            user, _, pw = base64.b64decode(basic[6:]).decode().partition(":")
            from urllib.parse import unquote

            creds = (unquote(user), unquote(pw))
            self.auth_seen.append("client_secret_basic")
        else:
            creds = (form.get("client_id", ""), form.get("client_secret", ""))
            self.auth_seen.append("client_secret_post")
        if creds != (CLIENT_ID, CLIENT_SECRET):
            return 401, {"error": "invalid_client"}
        if form.get("token_type_hint") != "access_token":
            return 400, {"error": "invalid_request"}
        return 200, self.tokens.get(form.get("token", ""), {"active": False})

    @property
    def url(self) -> str:
        return self.server.url("/introspect")

    @property
    def calls(self) -> int:
        return self.server.count("POST", "/introspect")


def active(**overrides: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "active": True,
        "client_id": "client_abc",
        "scope": "mcp:read mcp:write",
        "sub": "user_1",
        "iss": ISSUER,
        "aud": RESOURCE,
        "exp": NOW + 3600,
        "iat": NOW - 10,
    }
    data.update(overrides)
    return {k: v for k, v in data.items() if v is not None}


@pytest.fixture
def auth_server() -> Iterator[AS]:
    a = AS()
    a.tokens["good"] = active()
    yield a
    a.server.stop()


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


Make = Callable[..., IntrospectionVerifier]


@pytest.fixture
def make(auth_server: AS, clock: FakeClock) -> Make:
    def _make(**kw: Any) -> IntrospectionVerifier:
        args: dict[str, Any] = {
            "introspection_endpoint": auth_server.url,
            "client_id": CLIENT_ID,
            "client_secret": CLIENT_SECRET,
            "audience": RESOURCE,
            "issuer": ISSUER,
            "clock": clock,
        }
        args.update(kw)
        return IntrospectionVerifier(**args)

    return _make


Verify = Callable[[McpTokenVerifier, str], "AccessToken | None"]


@pytest.fixture(params=["sync", "async"])
def verify(request: pytest.FixtureRequest) -> Verify:
    if request.param == "sync":
        return lambda v, token: v.verify_token_sync(token)
    return lambda v, token: anyio.run(v.verify_token, token)


def test_active_token(make: Make, verify: Verify, auth_server: AS) -> None:
    access = verify(make(), "good")
    assert access is not None
    assert access.token == "good"
    assert access.client_id == "client_abc"
    assert access.scopes == ["mcp:read", "mcp:write"]
    assert access.subject == "user_1"
    assert access.expires_at == NOW + 3600
    assert access.resource == RESOURCE
    assert access.claims is not None
    assert access.claims["iss"] == ISSUER
    body = parse_qs(auth_server.server.requests[-1].body.decode())
    assert body["token"] == ["good"]
    assert body["token_type_hint"] == ["access_token"]


@pytest.mark.parametrize("method", ["client_secret_basic", "client_secret_post"])
def test_client_authentication_methods(make: Make, verify: Verify, auth_server: AS, method: str) -> None:
    assert verify(make(auth_method=method), "good") is not None
    assert auth_server.auth_seen == [method]
    rec = auth_server.server.requests[-1]
    if method == "client_secret_basic":
        assert "client_secret" not in rec.body.decode()
    else:
        assert "authorization" not in rec.headers


def test_cache_hit_makes_no_second_request(make: Make, verify: Verify, auth_server: AS) -> None:
    v = make()
    assert verify(v, "good") is not None
    assert verify(v, "good") is not None
    assert auth_server.calls == 1
    assert len(v.cache) == 1


def test_cache_ttl(make: Make, verify: Verify, auth_server: AS, clock: FakeClock) -> None:
    v = make(cache_ttl=60)
    verify(v, "good")
    clock.advance(59)
    verify(v, "good")
    assert auth_server.calls == 1
    clock.advance(2)
    verify(v, "good")
    assert auth_server.calls == 2


def test_exp_bounds_cache_ttl(make: Make, verify: Verify, auth_server: AS, clock: FakeClock) -> None:
    auth_server.tokens["short"] = active(exp=NOW + 10)
    v = make(cache_ttl=60)
    assert verify(v, "short") is not None
    clock.advance(9)
    assert verify(v, "short") is not None
    assert auth_server.calls == 1
    clock.advance(2)  # past exp: the cache entry is gone and the token is refused locally
    assert verify(v, "short") is None
    assert auth_server.calls == 2


def test_cache_disabled(make: Make, verify: Verify, auth_server: AS) -> None:
    v = make(cache_ttl=0)
    verify(v, "good")
    verify(v, "good")
    assert auth_server.calls == 2


def test_cache_is_bounded_and_keyed_by_digest(make: Make, verify: Verify, auth_server: AS) -> None:
    for i in range(5):
        auth_server.tokens[f"t{i}"] = active()
    v = make(max_cache_entries=3)
    for i in range(5):
        assert verify(v, f"t{i}") is not None
    assert len(v.cache) == 3
    keys = list(v.cache._entries)
    assert all(len(k) == 64 and not k.startswith("t") for k in keys)
    verify(v, "t0")  # evicted earlier: asks again
    assert auth_server.calls == 6


def test_inactive_and_unknown_are_none_and_not_cached(make: Make, verify: Verify, auth_server: AS) -> None:
    auth_server.tokens["revoked"] = {"active": False}
    v = make()
    assert verify(v, "revoked") is None
    assert verify(v, "revoked") is None
    assert verify(v, "never-seen") is None
    assert auth_server.calls == 3


@pytest.mark.parametrize(
    "response",
    [
        active(active="true"),
        active(active=1),
        active(exp=NOW - 1),
        active(exp="soon"),
        active(nbf=NOW + 100),
        active(aud="https://elsewhere.example/mcp"),
        active(aud=None),
        active(iss="https://evil.example"),
        active(iss=None),
        active(client_id=None),
        active(scope=["a"]),
        active(sub=42),
    ],
    ids=[
        "active-string",
        "active-int",
        "expired",
        "exp-not-number",
        "not-yet-valid",
        "wrong-aud",
        "no-aud",
        "wrong-iss",
        "no-iss",
        "no-client",
        "bad-scope",
        "bad-sub",
    ],
)
def test_active_but_unacceptable(
    make: Make, verify: Verify, auth_server: AS, response: dict[str, Any]
) -> None:
    auth_server.tokens["x"] = response
    assert verify(make(), "x") is None


def test_audience_and_issuer_optional(make: Make, verify: Verify, auth_server: AS) -> None:
    auth_server.tokens["plain"] = active(aud=None, iss=None, exp=None)
    access = verify(make(audience=None, issuer=None), "plain")
    assert access is not None
    assert access.resource is None
    assert access.expires_at is None


def test_audience_list(make: Make, verify: Verify, auth_server: AS) -> None:
    auth_server.tokens["multi"] = active(aud=["https://a.example", RESOURCE])
    access = verify(make(), "multi")
    assert access is not None
    assert access.resource == RESOURCE


def test_wrong_client_credentials_are_unavailable(make: Make, verify: Verify) -> None:
    with pytest.raises(TokenVerificationUnavailable, match="401"):
        verify(make(client_secret="wrong"), "good")


@pytest.mark.parametrize("status_body", [(500, {"e": 1}), (200, b"not json"), (200, [1, 2])])
def test_bad_endpoint_answers_are_unavailable(
    make: Make, verify: Verify, auth_server: AS, status_body: tuple[int, Any]
) -> None:
    auth_server.server.routes["POST /introspect"] = lambda r: status_body
    with pytest.raises(TokenVerificationUnavailable) as info:
        verify(make(), "good")
    assert "good" not in str(info.value).replace(auth_server.url, "")


def test_endpoint_down_is_unavailable(make: Make, verify: Verify, auth_server: AS) -> None:
    v = make()
    auth_server.server.stop()
    with pytest.raises(TokenVerificationUnavailable):
        verify(v, "good")


@pytest.mark.parametrize("token", ["", "a b", "ünï", "x" * 10_240, "tab\there"])
def test_malformed_tokens_never_reach_the_server(
    make: Make, verify: Verify, auth_server: AS, token: str
) -> None:
    assert verify(make(), token) is None
    assert auth_server.calls == 0


def test_constructor_validation() -> None:
    with pytest.raises(ValueError, match="auth_method"):
        IntrospectionVerifier(
            introspection_endpoint="https://x",
            client_id="a",
            client_secret="b",
            auth_method="none",  # type: ignore[arg-type]
        )
    with pytest.raises(ValueError, match="max_entries"):
        IntrospectionVerifier(
            introspection_endpoint="https://x", client_id="a", client_secret="b", max_cache_entries=0
        )
