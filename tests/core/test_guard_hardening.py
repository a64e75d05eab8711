"""Issue 22, items 4 and 10a: what the bearer guard does before a token is known good.

* Item 4: tokens come from the ``Authorization`` header only; a hostile 4 MiB form body naming
  ``access_token`` is never decoded or parsed before authentication: the refusal of a form
  token is a fixed number of C-level substring searches, and ``form_body=False`` (the MCP
  endpoint's check before it reads the body) does not look at the body at all.
* Item 10a: the guard's own expiry recheck uses the verifier's leeway (one value), so a JWT
  20 s past ``exp`` is accepted and one 40 s past it refused, fresh or from the cache.

No test here is timed: the properties are structural (which operations touch the body).
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import anyio
import pytest

from mcp_tools.http import Headers, Request
from mcp_tools.server import bearer
from mcp_tools.server.bearer import AuthResult, BearerGuard
from mcp_tools.server.resource_server import McpResourceServer
from mcp_tools.server.scopes import ToolScopes
from mcp_tools.server.verifiers import IntrospectionVerifier, JWTVerifier
from tests.contract import spec

from .tokens import ISSUER, NOW, RESOURCE, FakeClock, claims, jwks, mint, rsa_key

KEY = rsa_key("k1")
FORM = "application/x-www-form-urlencoded"
FOUR_MIB = 4 * 1024 * 1024


class RecordingBody(bytes):
    """Bytes that record every operation that reads their content (not ``len``)."""

    calls: list[str]

    def __new__(cls, data: bytes) -> RecordingBody:
        self = super().__new__(cls, data)
        self.calls = []
        return self

    def _note(self, name: str) -> None:
        self.calls.append(name)

    def __contains__(self, item: object) -> bool:
        self._note("__contains__")
        return super().__contains__(item)  # type: ignore[operator]

    def __iter__(self) -> Iterator[int]:
        self._note("__iter__")
        return super().__iter__()

    def __getitem__(self, key: Any) -> Any:
        self._note("__getitem__")
        return super().__getitem__(key)

    def __eq__(self, other: object) -> bool:
        self._note("__eq__")
        return super().__eq__(other)

    __hash__ = bytes.__hash__

    def decode(self, *args: Any, **kwargs: Any) -> str:
        self._note("decode")
        return super().decode(*args, **kwargs)

    def find(self, *args: Any) -> int:
        self._note("find")
        return super().find(*args)

    def index(self, *args: Any) -> int:
        self._note("index")
        return super().index(*args)

    def count(self, *args: Any) -> int:
        self._note("count")
        return super().count(*args)

    def startswith(self, *args: Any) -> bool:
        self._note("startswith")
        return super().startswith(*args)

    def endswith(self, *args: Any) -> bool:
        self._note("endswith")
        return super().endswith(*args)

    def split(self, *args: Any, **kwargs: Any) -> list[bytes]:
        self._note("split")
        return super().split(*args, **kwargs)


def hostile_form_body(token: str = "x") -> RecordingBody:
    """About 4 MiB of form fields, most of them named ``access_token``."""
    unit = b"&access_token=" + token.encode() + b"&pad=" + b"a" * 32
    data = b"access_token=" + token.encode() + unit * (FOUR_MIB // len(unit))
    return RecordingBody(data)


@pytest.fixture
def qsl_calls(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Lengths of every string handed to ``parse_qsl`` by the guard or the request seam."""
    calls: list[int] = []
    from urllib.parse import parse_qsl as real

    def spy(qs: Any, *args: Any, **kwargs: Any) -> Any:
        calls.append(len(qs))
        return real(qs, *args, **kwargs)

    import mcp_tools.http

    monkeypatch.setattr(bearer, "parse_qsl", spy, raising=False)
    monkeypatch.setattr(mcp_tools.http, "parse_qsl", spy)
    return calls


def resource_server(**overrides: Any) -> McpResourceServer:
    return McpResourceServer(
        spec.make_server(ToolScopes()),
        verifier=overrides.pop("verifier", spec.make_verifier()),
        resource_url=spec.RESOURCE,
        authorization_servers=[spec.ISSUER],
        **overrides,
    )


def mcp_request(body: bytes, *, token: str | None = None, url: str = spec.RESOURCE) -> Request:
    headers = [("Host", "api.example.com"), ("Content-Type", FORM), ("Accept", "application/json")]
    if token is not None:
        headers.append(("Authorization", f"Bearer {token}"))
    return Request("POST", url, Headers(headers), body)


# -- item 4: no form parsing, no body scan, on the MCP endpoint ----------------------------------


SEARCHES = {"startswith", "endswith", "__contains__", "__eq__"}


@pytest.mark.parametrize("with_token", [False, True], ids=["no-header", "valid-header"])
def test_mcp_endpoint_never_parses_a_hostile_form_body(qsl_calls: list[int], with_token: bool) -> None:
    rs = resource_server()
    endpoint = rs.endpoint
    token = spec.mint() if with_token else None
    for mode in ("sync", "async"):
        body = hostile_form_body()
        request = mcp_request(body, token=token)
        if mode == "sync":
            result = endpoint.authorize_sync(request, body_checked=True)
        else:
            result = anyio.run(lambda: endpoint.authorize(request, body_checked=True))  # noqa: B023
        # Structural, not timed: before authentication the 4 MiB body was at most searched a
        # fixed number of times in C; never decoded, split, iterated or parsed.
        assert set(body.calls) <= SEARCHES, f"{mode}: {body.calls[:5]}"
        assert len(body.calls) <= 5, f"{mode}: {body.calls}"
        assert qsl_calls == [], f"{mode}: parse_qsl ran over {qsl_calls} characters"
        assert result.response is not None
        assert result.response.status == 401
        # the token in the form body is refused as such, header or not
        assert 'error="invalid_request"' in (result.response.header("WWW-Authenticate") or "")


def test_header_only_guard_call_leaves_the_body_alone(qsl_calls: list[int]) -> None:
    """``form_body=False`` (the MCP endpoint's check before it reads the body): not one look."""
    guard = resource_server().guard
    for token in (None, spec.mint()):
        body = hostile_form_body()
        request = mcp_request(body, token=token)
        sync = guard.authenticate_sync(request, form_body=False)
        asynchronous = anyio.run(lambda: guard.authenticate(request, form_body=False))  # noqa: B023
        assert body.calls == []
        assert qsl_calls == []
        assert sync.ok is asynchronous.ok is (token is not None)


def test_mcp_endpoint_still_refuses_a_query_string_token(qsl_calls: list[int]) -> None:
    rs = resource_server()
    request = mcp_request(b"{}", token=spec.mint(), url=f"{spec.RESOURCE}?access_token={spec.mint()}")
    for result in (
        rs.endpoint.authorize_sync(request, body_checked=True),
        anyio.run(lambda: rs.endpoint.authorize(request, body_checked=True)),
    ):
        assert result.response is not None
        assert result.response.status == 401
        assert 'error="invalid_request"' in (result.response.header("WWW-Authenticate") or "")
    assert qsl_calls
    assert max(qsl_calls) < 4096


def test_decorator_form_check_is_a_few_substring_searches(qsl_calls: list[int]) -> None:
    """Views protected by ``mcp_auth`` still refuse a form-body token with ``invalid_request``,
    found by a fixed number of C-level searches: no decode, no parse, whatever the body holds."""
    guard = BearerGuard(JWTVerifier(issuer=ISSUER, audience=RESOURCE, keys=jwks(KEY)), resource_url=RESOURCE)
    for body in (hostile_form_body(), RecordingBody(b"x=1&access_token=abc"), RecordingBody(b"access_token")):
        request = Request("POST", RESOURCE, Headers([("Content-Type", FORM)]), body)
        for result in (guard.authenticate_sync(request), anyio.run(guard.authenticate, request)):
            assert result.response is not None
            assert result.response.status == 401
            assert 'error="invalid_request"' in (result.response.header("WWW-Authenticate") or "")
        assert "decode" not in body.calls
        assert "split" not in body.calls
        assert "__iter__" not in body.calls
        assert len(body.calls) <= 2 * 5, body.calls  # two calls (sync, async), five searches at most each
    assert qsl_calls == []
    # Not a form field named access_token: no refusal for it (the header decides).
    for raw in (b"x=access_token", b"my_access_token=1", b"x=1&access_tokens=2", b'{"access_token": "x"}'):
        request = Request("POST", RESOURCE, Headers([("Content-Type", FORM)]), raw)
        result = guard.authenticate_sync(request)
        assert result.response is not None
        assert "error=" not in (result.response.header("WWW-Authenticate") or ""), raw


# -- item 10a: one leeway for the verifier and the guard -------------------------------------------


def _guard(clock: FakeClock, **verifier_kw: Any) -> BearerGuard:
    verifier = JWTVerifier(issuer=ISSUER, audience=RESOURCE, keys=jwks(KEY), clock=clock, **verifier_kw)
    return BearerGuard(verifier, resource_url=RESOURCE, clock=clock)


def _auth_both(guard: BearerGuard, token: str) -> list[AuthResult]:
    request = Request("POST", RESOURCE, Headers([("Authorization", f"Bearer {token}")]))
    return [guard.authenticate_sync(request), anyio.run(guard.authenticate, request)]


@pytest.mark.parametrize(("past_exp", "accepted"), [(20, True), (40, False)])
def test_guard_applies_the_verifiers_leeway(past_exp: int, accepted: bool) -> None:
    clock = FakeClock(NOW + past_exp)
    guard = _guard(clock)
    token = mint(KEY, claims(exp=NOW, iat=NOW - 300, nbf=NOW - 300))
    for result in _auth_both(guard, token):
        assert result.ok is accepted, result.response and result.response.body
        if not accepted:
            assert result.response is not None
            assert result.response.status == 401
            assert 'error="invalid_token"' in (result.response.header("WWW-Authenticate") or "")
    assert guard.leeway == 30  # JWTVerifier's documented default, taken over by the guard


def test_cached_token_follows_the_same_leeway() -> None:
    clock = FakeClock(NOW - 100)
    guard = _guard(clock)
    token = mint(KEY, claims(exp=NOW, iat=NOW - 300, nbf=NOW - 300))
    assert all(r.ok for r in _auth_both(guard, token))  # verified once, then cached
    clock.now = NOW + 20
    assert all(r.ok for r in _auth_both(guard, token))
    clock.now = NOW + 40
    assert not any(r.ok for r in _auth_both(guard, token))


def test_leeway_is_one_value_set_on_the_verifier() -> None:
    clock = FakeClock(NOW + 20)
    token = mint(KEY, claims(exp=NOW, iat=NOW - 300, nbf=NOW - 300))
    strict = _guard(clock, leeway=0)
    assert strict.leeway == 0
    assert not any(r.ok for r in _auth_both(strict, token))
    generous = _guard(clock, leeway=60)
    clock.now = NOW + 50
    assert all(r.ok for r in _auth_both(generous, token))
    # other verifiers carry theirs too (introspection: 0 by default)
    introspection = IntrospectionVerifier(
        introspection_endpoint="http://127.0.0.1:9/introspect", client_id="rs", client_secret="s"
    )
    assert BearerGuard(introspection, resource_url=RESOURCE).leeway == 0
    # an explicit guard leeway overrides it
    assert BearerGuard(introspection, resource_url=RESOURCE, leeway=5).leeway == 5


def test_mcp_endpoint_accepts_a_jwt_20s_past_exp_and_refuses_40s() -> None:
    rs = resource_server()  # the contract verifier: JWTVerifier(keys=...), real clock, leeway 30
    now = int(time.time())
    late = spec.mint(exp_in=-20)
    too_late = spec.mint(exp_in=-40)
    assert now - 25 <= rs.guard.verifier.verify_token_sync(late).expires_at <= now - 15  # type: ignore[attr-defined,union-attr]
    for token, accepted in ((late, True), (too_late, False)):
        request = mcp_request(b"{}", token=token)
        sync = rs.endpoint.authorize_sync(request, body_checked=True)
        asynchronous = anyio.run(lambda: rs.endpoint.authorize(request, body_checked=True))  # noqa: B023
        assert sync.ok is accepted
        assert asynchronous.ok is accepted
