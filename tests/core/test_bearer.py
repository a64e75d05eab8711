"""RFC 6750 header parsing, RFC 9728 challenges, and BearerGuard end to end with real tokens."""

from __future__ import annotations

import contextlib
import logging
import random
from collections.abc import Callable, Iterator
from typing import Any

import anyio
import pytest
from mcp.server.auth.provider import AccessToken

from mcp_tools.http import Headers, Request, Response
from mcp_tools.server.bearer import (
    AuthResult,
    BearerGuard,
    BearerTokenError,
    MalformedAuthorization,
    MissingToken,
    build_www_authenticate,
    insufficient_scope_response,
    parse_authorization_header,
    unauthorized_response,
)
from mcp_tools.server.verifiers import JWTVerifier, TokenVerificationUnavailable

from .tokens import (
    ISSUER,
    METADATA_URL,
    NOW,
    RESOURCE,
    FakeClock,
    LocalServer,
    claims,
    forge_hs256_with_public_pem,
    forge_none,
    jwks,
    mint,
    rsa_key,
    tamper,
)

KEY = rsa_key("k1")

# -- parse_authorization_header ------------------------------------------------------------------


@pytest.mark.parametrize("value", [None, "", "   "])
def test_missing(value: str | None) -> None:
    with pytest.raises(MissingToken):
        parse_authorization_header(value)


@pytest.mark.parametrize(
    "value",
    [
        "Bearer",
        "Bearer ",
        "Bearer  x",
        "Basic abc",
        "Bearer a b",
        "Bearer a,b",
        "Bearer\tabc",
        "Bearerabc",
        "Bearer abc=def",
        "Bearer =abc",
        "Bearer ünïcode",
        "Bëarer abc",
        "Bearer abc\r\nX-Evil: 1",
        "Bearer " + "a" * 10_240,
        "Token abc",
        "Digest username=x",
    ],
    ids=lambda v: repr(v)[:30],
)
def test_malformed(value: str) -> None:
    with pytest.raises(MalformedAuthorization) as info:
        parse_authorization_header(value)
    assert "abc" not in str(info.value)


@pytest.mark.parametrize(
    ("value", "token"),
    [
        ("Bearer GOOD", "GOOD"),
        ("bearer GOOD", "GOOD"),
        ("BEARER GOOD", "GOOD"),
        ("BeArEr a-b.c_d~e+f/g==", "a-b.c_d~e+f/g=="),
        ("  Bearer tok  ", "tok"),
    ],
)
def test_valid(value: str, token: str) -> None:
    assert parse_authorization_header(value) == token


def test_fuzz_never_raises_anything_else() -> None:
    rng = random.Random(6750)
    alphabet = "Bearer bearer \t\r\n=,;\"'\\/+-._~ aZ09é€\x00\x7f"
    for _ in range(5000):
        value = "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 40)))
        with contextlib.suppress(BearerTokenError):
            parse_authorization_header(value)
    for value in [b"Bearer x", 42, object()]:
        with pytest.raises(BearerTokenError):
            parse_authorization_header(value)  # type: ignore[arg-type]


# -- build_www_authenticate ----------------------------------------------------------------------


def test_challenge_without_error() -> None:
    assert build_www_authenticate(resource_metadata_url=METADATA_URL) == (
        f'Bearer resource_metadata="{METADATA_URL}"'
    )
    assert build_www_authenticate(resource_metadata_url=METADATA_URL, scopes=["a", "b"]) == (
        f'Bearer scope="a b", resource_metadata="{METADATA_URL}"'
    )


def test_challenge_with_error_all_quoted() -> None:
    value = build_www_authenticate(
        resource_metadata_url=METADATA_URL,
        scopes=["mcp:read"],
        error="invalid_token",
        error_description="The access token expired",
    )
    assert value == (
        'Bearer error="invalid_token", error_description="The access token expired", '
        f'scope="mcp:read", resource_metadata="{METADATA_URL}"'
    )


def test_challenge_escaping_and_injection() -> None:
    value = build_www_authenticate(
        resource_metadata_url='https://h/x"y\\z',
        error="invalid_token",
        error_description='say "hi" \\ bye\r\nSet-Cookie: a=b é',
    )
    assert value == (
        'Bearer error="invalid_token", error_description="say \\"hi\\" \\\\ bye  Set-Cookie: a=b ?", '
        'resource_metadata="https://h/x\\"y\\\\z"'
    )
    assert "\r" not in value
    assert "\n" not in value


# -- helpers for adapters ------------------------------------------------------------------------


def test_unauthorized_response_helper() -> None:
    r = unauthorized_response(resource_metadata_url=METADATA_URL)
    assert r.status == 401
    assert r.header("Content-Type") == "application/json"
    assert r.header("WWW-Authenticate") == f'Bearer resource_metadata="{METADATA_URL}"'
    assert r.json() == {"error": "unauthorized", "error_description": "Authentication required"}
    compat = unauthorized_response(resource_metadata_url=METADATA_URL, body={"error": "Unauthorized"})
    assert compat.body == b'{"error":"Unauthorized"}'


def test_insufficient_scope_response_helper() -> None:
    r = insufficient_scope_response(resource_metadata_url=METADATA_URL, required_scopes=["files:write"])
    assert r.status == 403
    assert r.header("WWW-Authenticate") == (
        'Bearer error="insufficient_scope", error_description="Required scope: files:write", '
        f'scope="files:write", resource_metadata="{METADATA_URL}"'
    )
    assert r.json() == {"error": "insufficient_scope", "error_description": "Required scope: files:write"}


def test_auth_result_invariants() -> None:
    token = AccessToken(token="t", client_id="c", scopes=[])
    assert AuthResult(token=token).ok
    assert not AuthResult(response=Response(401)).ok
    with pytest.raises(ValueError, match="exactly one"):
        AuthResult()
    with pytest.raises(ValueError, match="exactly one"):
        AuthResult(token=token, response=Response(401))


@pytest.mark.parametrize(
    ("resource", "expected"),
    [
        ("https://h/mcp", "https://h/.well-known/oauth-protected-resource/mcp"),
        ("https://h/", "https://h/.well-known/oauth-protected-resource"),
        ("https://h", "https://h/.well-known/oauth-protected-resource"),
        ("https://h:8443/t/a/mcp", "https://h:8443/.well-known/oauth-protected-resource/t/a/mcp"),
    ],
)
def test_default_metadata_url(resource: str, expected: str) -> None:
    guard = BearerGuard(StaticVerifier(None), resource_url=resource)
    assert guard.resource_metadata_url == expected


# -- BearerGuard ---------------------------------------------------------------------------------


class StaticVerifier:
    """A verifier returning a fixed result (or raising), to test the guard's own rules."""

    def __init__(self, result: AccessToken | None, exc: Exception | None = None) -> None:
        self.result, self.exc, self.seen = result, exc, []

    async def verify_token(self, token: str) -> AccessToken | None:
        return self.verify_token_sync(token)

    def verify_token_sync(self, token: str) -> AccessToken | None:
        self.seen.append(token)
        if self.exc is not None:
            raise self.exc
        return self.result


class AsyncOnlyVerifier:
    async def verify_token(self, token: str) -> AccessToken | None:
        await anyio.sleep(0)
        return AccessToken(token=token, client_id="c", scopes=["mcp:read"]) if token == "ok" else None


@pytest.fixture
def jwks_server() -> Iterator[LocalServer]:
    server = LocalServer()
    server.routes["GET /jwks"] = lambda r: (200, jwks(KEY))
    yield server
    server.stop()


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def guard(jwks_server: LocalServer, clock: FakeClock) -> BearerGuard:
    verifier = JWTVerifier(issuer=ISSUER, audience=RESOURCE, jwks_uri=jwks_server.url("/jwks"), clock=clock)
    return BearerGuard(
        verifier,
        resource_url=RESOURCE,
        resource_metadata_url=METADATA_URL,
        required_scopes=["mcp:read"],
        clock=clock,
    )


Auth = Callable[..., AuthResult]


@pytest.fixture(params=["sync", "async"])
def auth(request: pytest.FixtureRequest) -> Auth:
    def run(guard: BearerGuard, req: Request, required_scopes: Any = None) -> AuthResult:
        if request.param == "sync":
            return guard.authenticate_sync(req, required_scopes)
        return anyio.run(guard.authenticate, req, required_scopes)

    return run


def make_request(
    authorization: str | list[str] | None = None,
    url: str = RESOURCE,
    body: bytes = b"",
    content_type: str = "application/json",
) -> Request:
    headers: list[tuple[str, str]] = [("Content-Type", content_type)]
    if isinstance(authorization, str):
        headers.append(("Authorization", authorization))
    elif authorization:
        headers.extend(("Authorization", a) for a in authorization)
    return Request("POST", url, Headers(headers), body)


def challenge_error(result: AuthResult) -> str | None:
    assert result.response is not None
    value = result.response.header("WWW-Authenticate")
    assert value is not None
    assert value.startswith("Bearer ")
    assert f'resource_metadata="{METADATA_URL}"' in value
    if 'error="' not in value:
        return None
    return value.split('error="', 1)[1].split('"', 1)[0]


def test_valid_token_passes(guard: BearerGuard, auth: Auth) -> None:
    token = mint(KEY)
    result = auth(guard, make_request(f"Bearer {token}"))
    assert result.ok
    assert result.response is None
    assert result.token is not None
    assert result.token.subject == "user_123"
    assert result.token.claims is not None
    assert result.token.claims["iss"] == ISSUER
    assert auth(guard, make_request(f"bearer {token}")).ok


def test_missing_token(guard: BearerGuard, auth: Auth) -> None:
    result = auth(guard, make_request())
    assert not result.ok
    assert result.response is not None
    assert result.response.status == 401
    assert result.response.header("WWW-Authenticate") == (
        f'Bearer scope="mcp:read", resource_metadata="{METADATA_URL}"'
    )
    assert result.response.header("Content-Type") == "application/json"
    assert result.response.json() == {"error": "unauthorized", "error_description": "Authentication required"}


@pytest.mark.parametrize(
    "header",
    ["", "Bearer", "Bearer  x", "Basic abc", "Bearer a b", "Bearer ünï", "Bearer " + "a" * 10_240],
    ids=["empty", "bearer-only", "two-spaces", "basic", "two-parts", "non-ascii", "10kb"],
)
def test_malformed_header_is_401(guard: BearerGuard, auth: Auth, header: str) -> None:
    result = auth(guard, make_request(header))
    assert result.response is not None
    assert result.response.status == 401
    expected = None if header == "" else "invalid_token"
    assert challenge_error(result) == expected


def test_multiple_authorization_headers(guard: BearerGuard, auth: Auth) -> None:
    token = mint(KEY)
    result = auth(guard, make_request([f"Bearer {token}", f"Bearer {token}"]))
    assert result.response is not None
    assert result.response.status == 401
    assert challenge_error(result) == "invalid_token"


def _forged() -> dict[str, str]:
    good = mint(KEY)
    return {
        "alg_none": forge_none(kid="k1"),
        "hs256_public_pem": forge_hs256_with_public_pem(KEY),
        "wrong_issuer": mint(KEY, claims(iss="https://evil.example")),
        "wrong_audience": mint(KEY, claims(aud="https://other.example/mcp")),
        "expired": mint(KEY, claims(exp=NOW - 100)),
        "not_yet_valid": mint(KEY, claims(nbf=NOW + 100)),
        "unknown_kid": mint(rsa_key("other")),
        "tampered": tamper(good, sub="admin"),
        "random": "abcdef0123456789",
    }


@pytest.mark.parametrize("case", sorted(_forged()))
def test_forged_tokens_get_invalid_token(guard: BearerGuard, auth: Auth, case: str) -> None:
    result = auth(guard, make_request(f"Bearer {_forged()[case]}"))
    assert result.response is not None
    assert result.response.status == 401
    assert challenge_error(result) == "invalid_token"
    assert result.response.json()["error"] == "invalid_token"


def test_token_in_query_refused(guard: BearerGuard, auth: Auth) -> None:
    token = mint(KEY)
    for req in (
        make_request(url=f"{RESOURCE}?access_token={token}"),
        make_request(f"Bearer {token}", url=f"{RESOURCE}?x=1&access_token={token}"),
    ):
        result = auth(guard, req)
        assert result.response is not None
        assert result.response.status == 401
        assert challenge_error(result) == "invalid_request"
        assert "Authorization header" in result.response.json()["error_description"]
        assert token.encode() not in result.response.body


def test_token_in_form_body_refused(guard: BearerGuard, auth: Auth) -> None:
    token = mint(KEY)
    form = make_request(
        body=f"access_token={token}".encode(), content_type="application/x-www-form-urlencoded"
    )
    result = auth(guard, form)
    assert result.response is not None
    assert result.response.status == 401
    assert challenge_error(result) == "invalid_request"
    # A JSON body that merely mentions access_token is not a form-encoded token.
    json_body = make_request(f"Bearer {token}", body=b'{"access_token": "x"}')
    assert auth(guard, json_body).ok


def test_insufficient_scope_is_403(guard: BearerGuard, auth: Auth) -> None:
    token = mint(KEY, claims(scope="mcp:read"))
    result = auth(guard, make_request(f"Bearer {token}"), ["mcp:read", "mcp:admin"])
    assert result.response is not None
    assert result.response.status == 403
    assert result.response.header("WWW-Authenticate") == (
        'Bearer error="insufficient_scope", error_description="Required scope: mcp:read mcp:admin", '
        f'scope="mcp:read mcp:admin", resource_metadata="{METADATA_URL}"'
    )
    assert result.response.json()["error"] == "insufficient_scope"
    # The guard's own required scopes apply when no override is given.
    no_scope = mint(KEY, claims(scope="other"))
    assert auth(guard, make_request(f"Bearer {no_scope}")).response.status == 403  # type: ignore[union-attr]
    # An explicit empty override lifts them (per-tool checks may pass their own list).
    assert auth(guard, make_request(f"Bearer {no_scope}"), []).ok


def test_challenge_scopes_override(jwks_server: LocalServer, clock: FakeClock, auth: Auth) -> None:
    g = BearerGuard(
        StaticVerifier(None),
        resource_url=RESOURCE,
        resource_metadata_url=METADATA_URL,
        required_scopes=["mcp:read"],
        challenge_scopes=["mcp:read", "mcp:write", "offline_access"],
    )
    result = auth(g, make_request())
    assert result.response is not None
    assert 'scope="mcp:read mcp:write offline_access"' in (result.response.header("WWW-Authenticate") or "")


def _access(**kw: Any) -> AccessToken:
    base: dict[str, Any] = {"token": "tok", "client_id": "c", "scopes": ["mcp:read"], "subject": "u"}
    base.update(kw)
    return AccessToken(**base)


def test_expired_access_token_refused(clock: FakeClock, auth: Auth) -> None:
    g = BearerGuard(StaticVerifier(_access(expires_at=int(NOW) - 1)), resource_url=RESOURCE, clock=clock)
    result = auth(g, make_request("Bearer tok"))
    assert result.response is not None
    assert result.response.status == 401
    g2 = BearerGuard(StaticVerifier(_access(expires_at=int(NOW) + 1)), resource_url=RESOURCE, clock=clock)
    assert auth(g2, make_request("Bearer tok")).ok


@pytest.mark.parametrize(
    ("resource", "accepted"),
    [
        (RESOURCE, True),
        (RESOURCE + "/", True),
        ("HTTPS://API.EXAMPLE.TEST:443/mcp", True),
        (None, True),
        ("https://api.example.test/other", False),
        ("https://evil.example/mcp", False),
        ("http://api.example.test/mcp", False),
        ("https://api.example.test:8443/mcp", False),
    ],
)
def test_audience_binding(auth: Auth, resource: str | None, accepted: bool) -> None:
    g = BearerGuard(StaticVerifier(_access(resource=resource)), resource_url=RESOURCE)
    result = auth(g, make_request("Bearer tok"))
    assert result.ok is accepted
    if not accepted:
        assert result.response is not None
        assert result.response.status == 401
        assert challenge_error(result) is None or challenge_error(result) == "invalid_token"
    unchecked = BearerGuard(
        StaticVerifier(_access(resource=resource)), resource_url=RESOURCE, check_audience=False
    )
    assert auth(unchecked, make_request("Bearer tok")).ok


def test_jwks_down_is_503(jwks_server: LocalServer, guard: BearerGuard, auth: Auth) -> None:
    jwks_server.stop()
    result = auth(guard, make_request(f"Bearer {mint(KEY)}"))
    assert result.response is not None
    assert result.response.status == 503
    assert result.response.header("WWW-Authenticate") is None
    assert result.response.header("Retry-After") == "5"
    assert result.response.json()["error"] == "temporarily_unavailable"


def test_cached_keys_survive_outage_through_guard(
    jwks_server: LocalServer, guard: BearerGuard, auth: Auth, clock: FakeClock
) -> None:
    token = mint(KEY, claims(exp=NOW + 7200))
    assert auth(guard, make_request(f"Bearer {token}")).ok
    jwks_server.stop()
    clock.advance(600)
    assert auth(guard, make_request(f"Bearer {token}")).ok


def test_unexpected_verifier_error_is_503_and_token_not_logged(
    auth: Auth, caplog: pytest.LogCaptureFixture
) -> None:
    secret = "SECRETTOKEN123"
    boom = StaticVerifier(None, exc=RuntimeError(f"database exploded while checking {secret}"))
    g = BearerGuard(boom, resource_url=RESOURCE)
    caplog.set_level(logging.DEBUG)
    result = auth(g, make_request(f"Bearer {secret}"))
    assert result.response is not None
    assert result.response.status == 503
    assert secret not in caplog.text
    assert "[redacted token]" in caplog.text
    assert "RuntimeError" in caplog.text
    unavailable = StaticVerifier(None, exc=TokenVerificationUnavailable("JWKS endpoint down"))
    result = auth(BearerGuard(unavailable, resource_url=RESOURCE), make_request(f"Bearer {secret}"))
    assert result.response is not None
    assert result.response.status == 503


def test_async_only_sdk_verifier_works_from_sync_code() -> None:
    g = BearerGuard(AsyncOnlyVerifier(), resource_url=RESOURCE, required_scopes=["mcp:read"])
    assert g.authenticate_sync(make_request("Bearer ok")).ok
    result = g.authenticate_sync(make_request("Bearer nope"))
    assert result.response is not None
    assert result.response.status == 401


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.mark.anyio
async def test_guard_async_native(guard: BearerGuard) -> None:
    result = await guard.authenticate(make_request(f"Bearer {mint(KEY)}"))
    assert result.ok
    refused = await guard.authenticate(make_request(f"Bearer {forge_none(kid='k1')}"))
    assert refused.response is not None
    assert refused.response.status == 401


def test_no_verifier_call_for_bad_requests(auth: Auth) -> None:
    v = StaticVerifier(_access())
    g = BearerGuard(v, resource_url=RESOURCE)
    for req in (make_request(), make_request("Basic x"), make_request(url=RESOURCE + "?access_token=x")):
        assert not auth(g, req).ok
    assert v.seen == []


def test_unparsable_url_does_not_raise(auth: Auth) -> None:
    g = BearerGuard(StaticVerifier(_access()), resource_url=RESOURCE)
    result = auth(
        g, Request("POST", "http://[::1/mcp?access_token=x", Headers({"Authorization": "Bearer tok"}))
    )
    assert result.ok
