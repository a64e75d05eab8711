"""The SSRF guard on its own: schemes, address classes, resolution, exemptions."""

from __future__ import annotations

import pytest

from mcp_tools.client import UnsafeUrl, UrlGuard

STRICT = UrlGuard()
DEV = UrlGuard.for_development()


@pytest.mark.parametrize(
    ("url", "match"),
    [
        ("http://example.com/mcp", "must use https"),
        ("ftp://example.com/mcp", "absolute https"),
        ("/relative/mcp", "absolute https"),
        ("https://user:pw@example.com/", "credentials"),
        ("https://example.com/mcp#frag", "fragment"),
        ("https://127.0.0.1/mcp", "loopback"),
        ("https://localhost/mcp", "loopback"),
        ("https://[::1]/mcp", "loopback"),
        ("https://10.1.2.3/", "private"),
        ("https://172.31.255.1/", "private"),
        ("https://192.168.0.1/", "private"),
        ("https://169.254.169.254/latest/meta-data", "private, link-local"),
        ("https://100.64.0.1/", "private"),
        ("https://[fe80::1]/", "private"),
        ("https://[fd12:3456::1]/", "private"),
        ("https://[::ffff:192.168.1.1]/", "private"),
        ("https://0.0.0.0/", "unspecified"),
        ("https://224.0.0.1/", "multicast"),
        ("https://[::]/", "unspecified"),
        ("https://no-such-host.invalid/", "cannot resolve"),
        ("https://[::1/", "not a valid URL"),
    ],
)
def test_strict_guard_refuses(url: str, match: str) -> None:
    with pytest.raises(UnsafeUrl, match=match) as info:
        STRICT.check(url, "test URL")
    assert info.value.url == url


def test_public_addresses_pass() -> None:
    STRICT.check_addresses(
        "https://example.com/", "example.com", ["93.184.215.14", "2606:2800:21f:cb07:6820:80da:af6b:8b2c"]
    )


def test_every_resolved_address_must_be_public() -> None:
    with pytest.raises(UnsafeUrl, match=r"10\.0\.0\.1"):
        STRICT.check_addresses("https://mixed.example/", "mixed.example", ["93.184.215.14", "10.0.0.1"])


def test_development_guard_allows_loopback_only() -> None:
    DEV.check("http://127.0.0.1:8000/mcp")
    DEV.check("http://localhost:8000/mcp")
    DEV.check("https://[::1]:8443/mcp")
    with pytest.raises(UnsafeUrl, match="https"):
        DEV.check("http://10.0.0.1/mcp")  # plain http only to loopback
    with pytest.raises(UnsafeUrl, match="private"):
        DEV.check("https://10.0.0.1/mcp")


def test_allowed_hosts_and_allow_private() -> None:
    UrlGuard(allowed_hosts=frozenset({"mcp.internal"})).check_addresses(
        "https://mcp.internal/", "mcp.internal", ["10.0.0.9"]
    )
    UrlGuard(allow_private=True).check("https://10.0.0.9/")
    with pytest.raises(UnsafeUrl):
        UrlGuard(allow_private=True).check("https://0.0.0.0/")


@pytest.mark.anyio
async def test_async_check_matches() -> None:
    await DEV.acheck("http://127.0.0.1:1/x")
    with pytest.raises(UnsafeUrl, match="loopback"):
        await STRICT.acheck("https://127.0.0.1/x")
