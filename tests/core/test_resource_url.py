"""The resource URL: configured by default, derived from a request only behind a trusted proxy."""

from __future__ import annotations

import pytest

from mcp_tools.http import Headers, Request
from mcp_tools.server.resource import (
    ConfigurationError,
    InvalidResourceURLError,
    is_loopback_host,
    resolve_resource_url,
    validate_resource_url,
)


def make_request(url: str, headers: list[tuple[str, str]] | None = None) -> Request:
    return Request(method="GET", url=url, headers=Headers(headers or []))


# --- validate_resource_url ------------------------------------------------------------------------


@pytest.mark.parametrize(
    "url",
    [
        "https://api.example.com/mcp",
        "https://api.example.com",
        "https://api.example.com/",
        "https://api.example.com:8443/tenant/a/mcp/",
        "http://localhost:8000/mcp",
        "http://app.localhost/mcp",
        "http://127.0.0.1/mcp",
        "http://[::1]:8000/mcp",
        "https://[2001:db8::1]/mcp",
    ],
)
def test_valid_urls_are_returned_unchanged(url: str) -> None:
    assert validate_resource_url(url) == url


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("https://api.example.com/mcp?x=1", "query string"),
        ("https://api.example.com/mcp?", "query string"),
        ("https://api.example.com/mcp#top", "fragment"),
        ("https://api.example.com/mcp#", "fragment"),
        ("http://api.example.com/mcp", "uses http"),
        ("http://10.0.0.1/mcp", "uses http"),
        ("/mcp", "not an absolute"),
        ("mailto:a@example.com", "not an absolute"),
        ("https://api.example.com:99999/mcp", "not a valid URL"),
        ("https://user@api.example.com/mcp", "user information"),
        ("https://api_example.com/mcp", "invalid host"),
        (" https://api.example.com/mcp", "whitespace"),
        ("", "empty"),
    ],
)
def test_invalid_urls_raise_a_clear_error(url: str, message: str) -> None:
    with pytest.raises(InvalidResourceURLError, match=message):
        validate_resource_url(url)


@pytest.mark.parametrize(
    ("host", "expected"),
    [
        ("localhost", True),
        ("LOCALHOST", True),
        ("api.localhost", True),
        ("127.0.0.1", True),
        ("127.5.6.7", True),
        ("::1", True),
        ("localhost.example.com", False),
        ("10.0.0.1", False),
        ("example.com", False),
    ],
)
def test_is_loopback_host(host: str, expected: bool) -> None:
    assert is_loopback_host(host) is expected


# --- resolve_resource_url -------------------------------------------------------------------------


def test_configured_url_wins_even_with_a_request() -> None:
    request = make_request("http://evil.example/mcp?x=1", [("Host", "evil.example")])
    assert resolve_resource_url("https://api.example.com/mcp", request) == "https://api.example.com/mcp"
    assert (
        resolve_resource_url("https://api.example.com/mcp", request, trust_proxy=True)
        == "https://api.example.com/mcp"
    )


def test_configured_url_is_validated() -> None:
    with pytest.raises(InvalidResourceURLError, match="query string"):
        resolve_resource_url("https://api.example.com/mcp?tenant=a")


def test_missing_configuration_without_trusted_proxy_is_an_error() -> None:
    request = make_request("https://api.example.com/mcp", [("Host", "api.example.com")])
    with pytest.raises(ConfigurationError, match="not configured") as info:
        resolve_resource_url(None, request)
    assert "trust_proxy" in str(info.value)
    assert not isinstance(info.value, InvalidResourceURLError)


def test_trusted_proxy_without_request_is_an_error() -> None:
    with pytest.raises(ConfigurationError, match="no request"):
        resolve_resource_url(None, None, trust_proxy=True)


def test_derivation_uses_x_forwarded_headers_and_drops_path_and_query() -> None:
    request = make_request(
        "http://10.0.0.5:8000/.well-known/oauth-protected-resource/mcp?foo=bar#x",
        [("Host", "10.0.0.5:8000"), ("X-Forwarded-Proto", "https"), ("X-Forwarded-Host", "api.example.com")],
    )
    assert resolve_resource_url(None, request, trust_proxy=True) == "https://api.example.com/mcp"


def test_derivation_prefers_forwarded_header() -> None:
    request = make_request(
        "http://10.0.0.5/mcp",
        [
            (
                "Forwarded",
                'for=192.0.2.1;proto=http;host="old.example", '
                'for="[2001:db8::1]";proto=https;host=api.example.com',
            ),
            ("X-Forwarded-Host", "other.example"),
            ("X-Forwarded-Proto", "http"),
        ],
    )
    assert resolve_resource_url(None, request, trust_proxy=True) == "https://api.example.com/mcp"


def test_derivation_uses_the_last_value_of_a_list() -> None:
    request = make_request(
        "http://10.0.0.5/mcp",
        [("X-Forwarded-Host", "spoofed.example, api.example.com"), ("X-Forwarded-Proto", "http, https")],
    )
    assert resolve_resource_url(None, request, trust_proxy=True) == "https://api.example.com/mcp"


def test_derivation_falls_back_to_host_and_request_scheme() -> None:
    request = make_request("http://ignored:1/x?y=1", [("Host", "localhost:8000")])
    assert resolve_resource_url(None, request, trust_proxy=True, mcp_path="/api/mcp") == (
        "http://localhost:8000/api/mcp"
    )
    no_host = make_request("https://api.example.com/anything?q=1")
    assert resolve_resource_url(None, no_host, trust_proxy=True) == "https://api.example.com/mcp"


def test_derivation_with_root_mcp_path() -> None:
    request = make_request("https://api.example.com/", [("Host", "api.example.com")])
    assert resolve_resource_url(None, request, trust_proxy=True, mcp_path="") == "https://api.example.com"


@pytest.mark.parametrize(
    ("headers", "message"),
    [
        ([("Host", "evil.example/x?y=1")], "invalid host"),
        ([("Host", "a b")], "invalid host"),
        (
            [("X-Forwarded-Host", "api.example.com"), ("X-Forwarded-Proto", "gopher")],
            "unsupported forwarded scheme",
        ),
        ([("Host", "api.example.com"), ("X-Forwarded-Proto", "http")], "uses http"),
    ],
)
def test_derivation_rejects_bad_headers(headers: list[tuple[str, str]], message: str) -> None:
    request = make_request("https://10.0.0.5/mcp", headers)
    with pytest.raises(ConfigurationError, match=message):
        resolve_resource_url(None, request, trust_proxy=True)


@pytest.mark.parametrize("mcp_path", ["mcp", "/mcp?x=1", "/mcp#a"])
def test_mcp_path_must_be_a_plain_absolute_path(mcp_path: str) -> None:
    request = make_request("https://api.example.com/mcp")
    with pytest.raises(ConfigurationError, match="mcp_path"):
        resolve_resource_url(None, request, trust_proxy=True, mcp_path=mcp_path)
