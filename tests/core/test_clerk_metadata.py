"""Clerk: publishable key decoding, the Clerk PRM document and fetching Clerk's AS metadata."""

from __future__ import annotations

import base64
import json
import socket
import threading
import time
from collections.abc import Iterator

import pytest

from mcp_tools.server.clerk_metadata import (
    ClerkMetadataError,
    InvalidPublishableKeyError,
    MetadataCache,
    afetch_clerk_authorization_server_metadata,
    agenerate_clerk_authorization_server_metadata,
    clerk_authorization_server_metadata_url,
    default_metadata_cache,
    derive_clerk_frontend_api_url,
    fetch_clerk_authorization_server_metadata,
    generate_clerk_authorization_server_metadata,
    generate_clerk_protected_resource_metadata,
)
from mcp_tools.server.metadata import OMIT
from mcp_tools.server.resource import ConfigurationError
from tests.core.vectors import FakeHTTPServer, fake_http_server

KEY = "pk_test_ZXhhbXBsZS5jbGVyay5hY2NvdW50cy5kZXYk"  # example.clerk.accounts.dev$
WELL_KNOWN = "/.well-known/oauth-authorization-server"
AS_DOC = {
    "issuer": "https://example.clerk.accounts.dev",
    "authorization_endpoint": "https://example.clerk.accounts.dev/oauth/authorize",
    "token_endpoint": "https://example.clerk.accounts.dev/oauth/token",
}


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture(autouse=True)
def _clean_environment(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.delenv("CLERK_FRONTEND_API_URL", raising=False)
    monkeypatch.delenv("CLERK_PUBLISHABLE_KEY", raising=False)
    default_metadata_cache.clear()
    yield
    default_metadata_cache.clear()


@pytest.fixture
def clerk() -> Iterator[FakeHTTPServer]:
    with fake_http_server() as server:
        server.reply(WELL_KNOWN, 200, json.dumps(AS_DOC))
        yield server


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def encode_key(host: str, prefix: str = "pk_test_", urlsafe: bool = False, pad: bool = True) -> str:
    raw = (host + "$").encode("latin-1")
    text = (base64.urlsafe_b64encode(raw) if urlsafe else base64.b64encode(raw)).decode()
    return prefix + (text if pad else text.rstrip("="))


# --- derive_clerk_frontend_api_url ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("host", "prefix"),
    [
        ("example.clerk.accounts.dev", "pk_test_"),
        ("clerk.example.com", "pk_live_"),
        ("hello-world-42.clerk.accounts.dev", "pk_test_"),
        ("clerk.sub.example.co.uk", "pk_live_"),
    ],
)
@pytest.mark.parametrize("pad", [True, False])
def test_valid_keys_decode_to_the_frontend_api(host: str, prefix: str, pad: bool) -> None:
    assert derive_clerk_frontend_api_url(encode_key(host, prefix, pad=pad)) == "https://" + host


def test_base64url_and_standard_alphabets_decode_alike() -> None:
    # Letters, digits, "-", "." and "$" never produce the base64 characters "+", "/", "-" or
    # "_", so a valid key looks the same in both alphabets; the alphabet only matters for
    # garbage. Both spellings of the same bytes must decode alike (and be rejected alike).
    standard = encode_key("ab?.clerk.dev")
    urlsafe = encode_key("ab?.clerk.dev", urlsafe=True, pad=False)
    assert "/" in standard
    assert "_" in urlsafe
    messages = []
    for key in (standard, urlsafe):
        with pytest.raises(InvalidPublishableKeyError, match="not a valid host name") as info:
            derive_clerk_frontend_api_url(key)
        messages.append(str(info.value))
    assert messages[0] == messages[1]
    assert "'ab?.clerk.dev'" in messages[0]


def test_surrounding_whitespace_is_ignored() -> None:
    assert derive_clerk_frontend_api_url(f"  {KEY}\n") == "https://example.clerk.accounts.dev"


SECRET_PART = "ZXhhbXBsZS5jbGVyay5hY2NvdW50cy5kZXYk"


@pytest.mark.parametrize(
    ("key", "message"),
    [
        ("", "empty"),
        ("   ", "empty"),
        ("pk_test_", "nothing after"),
        (SECRET_PART, "must start with pk_test_ or pk_live_"),
        ("pk_prod_" + SECRET_PART, "must start with pk_test_ or pk_live_"),
        ("sk_test_" + SECRET_PART, "secret key"),
        ("sk_live_" + SECRET_PART, "secret key"),
        ("pk_test_!!!notbase64", "not valid base64"),
        ("pk_test_ZXhhbXBsZS5jbGVyay5hY2NvdW50cy5kZXYkA", "not valid base64"),  # 4n+1 characters
        ("pk_test_Y2xlcmsuZXhhbXBsZS5jb20k=", "not valid base64"),  # padding on a full block
        ("pk_test_ZX=hbXBs", "not valid base64"),
        ("pk_test_Y2xlcmsuZXhhbXBsZS5jb20=", "final '\\$' is missing"),
        ("pk_test_YS5iJGMk", "not a valid host name"),  # a.b$c$
        (encode_key("ab?.clerk.dev"), "not a valid host name"),
        (encode_key("localhost"), "not a valid host name"),
        (encode_key("-bad.example.com"), "not a valid host name"),
        (encode_key("clerk.example.com:443"), "not a valid host name"),
        (encode_key("evil.example/path"), "not a valid host name"),
        (encode_key("10.0.0.1"), "not a valid host name"),
        (encode_key("a" * 64 + ".example.com"), "not a valid host name"),
        (encode_key("ex\xe4mple.com"), "not a valid host name"),
    ],
)
def test_invalid_keys_raise_a_clear_error(key: str, message: str) -> None:
    with pytest.raises(InvalidPublishableKeyError, match=message) as info:
        derive_clerk_frontend_api_url(key)
    if len(key.strip()) > 8:
        assert key.strip() not in str(info.value)
    assert SECRET_PART not in str(info.value)


def test_non_string_key() -> None:
    with pytest.raises(InvalidPublishableKeyError, match="must be a string"):
        derive_clerk_frontend_api_url(None)  # type: ignore[arg-type]


def test_invalid_key_error_is_a_configuration_value_error() -> None:
    assert issubclass(InvalidPublishableKeyError, ConfigurationError)
    assert issubclass(InvalidPublishableKeyError, ValueError)


# --- generate_clerk_protected_resource_metadata ------------------------------------------------------


def test_clerk_prm_document() -> None:
    doc = generate_clerk_protected_resource_metadata(
        KEY, "https://api.example.com/mcp", {"resource_name": "X"}
    )
    assert doc["authorization_servers"] == ["https://example.clerk.accounts.dev"]
    assert list(doc)[-2:] == ["service_documentation", "resource_name"]
    assert doc["service_documentation"] == "https://clerk.com/docs"


def test_clerk_prm_service_documentation_can_be_removed() -> None:
    doc = generate_clerk_protected_resource_metadata(
        KEY, "https://api.example.com/mcp", {"service_documentation": OMIT}
    )
    assert "service_documentation" not in doc
    assert len(doc) == 9


def test_clerk_prm_rejects_a_bad_key() -> None:
    with pytest.raises(InvalidPublishableKeyError):
        generate_clerk_protected_resource_metadata("sk_test_x", "https://api.example.com/mcp")


# --- metadata URL ------------------------------------------------------------------------------------


def test_metadata_url_from_key_override_and_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    assert clerk_authorization_server_metadata_url(KEY) == (
        "https://example.clerk.accounts.dev/.well-known/oauth-authorization-server"
    )
    assert clerk_authorization_server_metadata_url(KEY, frontend_api_url="http://127.0.0.1:9/") == (
        "http://127.0.0.1:9/.well-known/oauth-authorization-server"
    )
    monkeypatch.setenv("CLERK_FRONTEND_API_URL", "https://proxy.example.com/clerk")
    assert clerk_authorization_server_metadata_url(KEY) == (
        "https://proxy.example.com/clerk/.well-known/oauth-authorization-server"
    )
    with pytest.raises(ConfigurationError, match="absolute http"):
        clerk_authorization_server_metadata_url(KEY, frontend_api_url="proxy.example.com")
    with pytest.raises(InvalidPublishableKeyError):
        clerk_authorization_server_metadata_url("garbage", frontend_api_url="https://proxy.example.com")


# --- fetching -------------------------------------------------------------------------------------------


def test_fetch_passes_the_document_through(clerk: FakeHTTPServer) -> None:
    doc = fetch_clerk_authorization_server_metadata(KEY, frontend_api_url=clerk.base_url)
    assert json.dumps(doc) == json.dumps(AS_DOC)
    assert clerk.paths == [WELL_KNOWN]
    assert clerk.requests[0][2]["accept"] == "application/json"


def test_fetch_uses_the_environment_override(clerk: FakeHTTPServer, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CLERK_FRONTEND_API_URL", clerk.base_url)
    assert fetch_clerk_authorization_server_metadata(KEY) == AS_DOC


def test_fetch_404_is_an_error_with_the_status(clerk: FakeHTTPServer) -> None:
    clerk.reply(WELL_KNOWN, 404, '{"errors":[{"code":"resource_not_found"}]}')
    with pytest.raises(ClerkMetadataError, match="HTTP 404") as info:
        fetch_clerk_authorization_server_metadata(KEY, frontend_api_url=clerk.base_url)
    assert info.value.status == 404
    assert info.value.url == clerk.base_url + WELL_KNOWN
    assert "resource_not_found" in str(info.value)


def test_fetch_non_json_is_an_error(clerk: FakeHTTPServer) -> None:
    clerk.reply(WELL_KNOWN, 200, "<html>oops</html>", "text/html")
    with pytest.raises(ClerkMetadataError, match="not JSON") as info:
        fetch_clerk_authorization_server_metadata(KEY, frontend_api_url=clerk.base_url)
    assert "text/html" in str(info.value)
    assert info.value.status == 200


def test_fetch_json_that_is_not_an_object_is_an_error(clerk: FakeHTTPServer) -> None:
    clerk.reply(WELL_KNOWN, 200, '["not", "an", "object"]')
    with pytest.raises(ClerkMetadataError, match="not an object"):
        fetch_clerk_authorization_server_metadata(KEY, frontend_api_url=clerk.base_url)


def test_cache_hit_makes_no_second_request_and_ttl_expiry_refetches(clerk: FakeHTTPServer) -> None:
    clock = FakeClock()
    cache = MetadataCache(clock=clock)
    kwargs = {"frontend_api_url": clerk.base_url, "cache": cache, "cache_ttl": 60.0}
    first = fetch_clerk_authorization_server_metadata(KEY, **kwargs)  # type: ignore[arg-type]
    first["issuer"] = "mutated by the caller"
    clock.now += 59.9
    second = fetch_clerk_authorization_server_metadata(KEY, **kwargs)  # type: ignore[arg-type]
    assert second == AS_DOC
    assert len(clerk.requests) == 1
    clock.now += 0.1
    clerk.reply(WELL_KNOWN, 200, json.dumps({**AS_DOC, "issuer": "https://changed.example"}))
    third = fetch_clerk_authorization_server_metadata(KEY, **kwargs)  # type: ignore[arg-type]
    assert third["issuer"] == "https://changed.example"
    assert len(clerk.requests) == 2


def test_default_cache_is_used_and_ttl_zero_disables_it(clerk: FakeHTTPServer) -> None:
    fetch_clerk_authorization_server_metadata(KEY, frontend_api_url=clerk.base_url)
    fetch_clerk_authorization_server_metadata(KEY, frontend_api_url=clerk.base_url)
    assert len(clerk.requests) == 1
    assert len(default_metadata_cache) == 1
    fetch_clerk_authorization_server_metadata(KEY, frontend_api_url=clerk.base_url, cache_ttl=0)
    fetch_clerk_authorization_server_metadata(KEY, frontend_api_url=clerk.base_url, cache_ttl=0)
    assert len(clerk.requests) == 3


def test_errors_are_not_cached(clerk: FakeHTTPServer) -> None:
    clerk.reply(WELL_KNOWN, 503, "busy", "text/plain")
    with pytest.raises(ClerkMetadataError, match="HTTP 503"):
        fetch_clerk_authorization_server_metadata(KEY, frontend_api_url=clerk.base_url)
    clerk.reply(WELL_KNOWN, 200, json.dumps(AS_DOC))
    assert fetch_clerk_authorization_server_metadata(KEY, frontend_api_url=clerk.base_url) == AS_DOC
    assert len(clerk.requests) == 2


def test_cache_is_keyed_by_url() -> None:
    with fake_http_server() as one, fake_http_server() as two:
        one.reply(WELL_KNOWN, 200, '{"issuer":"https://one.example"}')
        two.reply(WELL_KNOWN, 200, '{"issuer":"https://two.example"}')
        cache = MetadataCache()
        a = fetch_clerk_authorization_server_metadata(KEY, frontend_api_url=one.base_url, cache=cache)
        b = fetch_clerk_authorization_server_metadata(KEY, frontend_api_url=two.base_url, cache=cache)
        assert (a["issuer"], b["issuer"]) == ("https://one.example", "https://two.example")
        assert len(cache) == 2


def test_cache_is_safe_under_concurrent_use() -> None:
    cache = MetadataCache()
    errors: list[BaseException] = []

    def work(n: int) -> None:
        try:
            for i in range(200):
                key = f"k{(n + i) % 5}"
                cache.set(key, {"n": n, "i": i}, 10.0)
                value = cache.get(key)
                assert value is not None
                assert set(value) == {"n", "i"}
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(n,)) for n in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert len(cache) == 5


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_connection_refused_names_the_url() -> None:
    base = f"http://127.0.0.1:{free_port()}"
    with pytest.raises(ClerkMetadataError) as info:
        fetch_clerk_authorization_server_metadata(KEY, frontend_api_url=base, timeout=2.0)
    assert base + WELL_KNOWN in str(info.value)
    assert info.value.status is None


@pytest.fixture
def silent_server() -> Iterator[str]:
    """A socket that completes the TCP handshake (backlog) but never answers."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(8)
    try:
        yield f"http://127.0.0.1:{sock.getsockname()[1]}"
    finally:
        sock.close()


def test_timeout_against_a_server_that_never_answers(silent_server: str) -> None:
    started = time.monotonic()
    with pytest.raises(ClerkMetadataError, match="timed out") as info:
        fetch_clerk_authorization_server_metadata(KEY, frontend_api_url=silent_server, timeout=0.3)
    assert time.monotonic() - started < 5
    assert silent_server in str(info.value)


@pytest.mark.parametrize(
    ("kwargs", "message"), [({"timeout": 0}, "timeout"), ({"cache_ttl": -1}, "cache_ttl")]
)
def test_bad_timeout_or_ttl(kwargs: dict[str, float], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        fetch_clerk_authorization_server_metadata(KEY, **kwargs)  # type: ignore[arg-type]


def test_generate_reads_the_key_from_the_environment(
    clerk: FakeHTTPServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    with pytest.raises(ConfigurationError, match="CLERK_PUBLISHABLE_KEY"):
        generate_clerk_authorization_server_metadata(frontend_api_url=clerk.base_url)
    monkeypatch.setenv("CLERK_PUBLISHABLE_KEY", KEY)
    assert generate_clerk_authorization_server_metadata(frontend_api_url=clerk.base_url) == AS_DOC
    monkeypatch.setenv("CLERK_PUBLISHABLE_KEY", "sk_test_" + SECRET_PART)
    with pytest.raises(InvalidPublishableKeyError, match="secret key"):
        generate_clerk_authorization_server_metadata(frontend_api_url=clerk.base_url)


# --- the async twins ----------------------------------------------------------------------------------


@pytest.mark.anyio
async def test_async_fetch_and_cache(clerk: FakeHTTPServer) -> None:
    clock = FakeClock()
    cache = MetadataCache(clock=clock)
    doc = await afetch_clerk_authorization_server_metadata(KEY, frontend_api_url=clerk.base_url, cache=cache)
    assert json.dumps(doc) == json.dumps(AS_DOC)
    await afetch_clerk_authorization_server_metadata(KEY, frontend_api_url=clerk.base_url, cache=cache)
    assert clerk.paths == [WELL_KNOWN]
    clock.now += 301
    await afetch_clerk_authorization_server_metadata(KEY, frontend_api_url=clerk.base_url, cache=cache)
    assert clerk.paths == [WELL_KNOWN, WELL_KNOWN]


@pytest.mark.anyio
async def test_async_status_and_json_errors(clerk: FakeHTTPServer) -> None:
    clerk.reply(WELL_KNOWN, 404, '{"errors":[]}')
    with pytest.raises(ClerkMetadataError, match="HTTP 404"):
        await afetch_clerk_authorization_server_metadata(KEY, frontend_api_url=clerk.base_url)
    clerk.reply(WELL_KNOWN, 200, "<html>oops</html>", "text/html")
    with pytest.raises(ClerkMetadataError, match="not JSON"):
        await afetch_clerk_authorization_server_metadata(KEY, frontend_api_url=clerk.base_url)


@pytest.mark.anyio
async def test_async_timeout(silent_server: str) -> None:
    started = time.monotonic()
    with pytest.raises(ClerkMetadataError) as info:
        await afetch_clerk_authorization_server_metadata(KEY, frontend_api_url=silent_server, timeout=0.3)
    assert time.monotonic() - started < 5
    assert silent_server in str(info.value)


@pytest.mark.anyio
async def test_async_connection_refused() -> None:
    base = f"http://127.0.0.1:{free_port()}"
    with pytest.raises(ClerkMetadataError) as info:
        await afetch_clerk_authorization_server_metadata(KEY, frontend_api_url=base, timeout=2.0)
    assert base + WELL_KNOWN in str(info.value)


@pytest.mark.anyio
async def test_async_generate_reads_the_environment(
    clerk: FakeHTTPServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    with pytest.raises(ConfigurationError, match="CLERK_PUBLISHABLE_KEY"):
        await agenerate_clerk_authorization_server_metadata()
    monkeypatch.setenv("CLERK_PUBLISHABLE_KEY", KEY)
    monkeypatch.setenv("CLERK_FRONTEND_API_URL", clerk.base_url)
    assert await agenerate_clerk_authorization_server_metadata() == AS_DOC
