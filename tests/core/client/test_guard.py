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


# -- IPv6 addresses that embed an IPv4 address (issue 22, item 6) ---------------------------------
# Decisions only: the addresses are handed to the guard (check_addresses) or are literals whose
# "resolution" is parsing (check); no test here opens a connection, whatever the guard decides.

#: Each IPv6 form that carries an IPv4 destination, with the IPv4 address it reaches.
EMBEDDED = [
    ("::ffff:169.254.169.254", "169.254.169.254"),  # IPv4-mapped
    ("64:ff9b::a9fe:a9fe", "169.254.169.254"),  # NAT64, the well-known prefix (RFC 6052)
    ("2002:a9fe:a9fe::", "169.254.169.254"),  # 6to4 (RFC 3056): 2002:<IPv4>::/48
    ("2002:a9fe:a9fe:1:2:3:4:5", "169.254.169.254"),
    ("2002:7f00:1::", "127.0.0.1"),
    ("2002:a00:1::", "10.0.0.1"),
    ("2002:c0a8:101::", "192.168.1.1"),
    ("2002:6440:1::", "100.64.0.1"),
    # Teredo (RFC 4380): 2001:0::/32, the client's IPv4 is the last 32 bits XOR 0xffffffff.
    ("2001:0:4136:e378:8000:63bf:5601:5601", "169.254.169.254"),
    ("2001:0:4136:e378:8000:63bf:80ff:fffe", "127.0.0.1"),
    ("2001:0:4136:e378:8000:63bf:f5ff:fffe", "10.0.0.1"),
]


@pytest.mark.parametrize(("address", "ipv4"), EMBEDDED)
def test_embedded_ipv4_is_judged_as_the_address_it_embeds(address: str, ipv4: str) -> None:
    url = "https://rebound.example/mcp"
    with pytest.raises(UnsafeUrl, match="refused to prevent server-side request forgery") as info:
        STRICT.check_addresses(url, "rebound.example", [address])
    assert ipv4 in str(info.value)  # the message names the IPv4 destination


@pytest.mark.parametrize(("address", "ipv4"), EMBEDDED)
def test_embedded_ipv4_literal_urls_are_refused(address: str, ipv4: str) -> None:
    with pytest.raises(UnsafeUrl, match=ipv4.replace(".", r"\.")):
        STRICT.check(f"https://[{address}]/mcp")


@pytest.mark.parametrize(
    "address",
    [
        "2001:0:4136:e378:8000:63bf:ffff:ffff",  # Teredo to 0.0.0.0
        "2001:0:4136:e378:8000:63bf:1fff:fffe",  # Teredo to 224.0.0.1
        "2002:e000:1::",  # 6to4 to 224.0.0.1
    ],
)
def test_embedded_unspecified_or_multicast_is_refused_even_with_allow_private(address: str) -> None:
    with pytest.raises(UnsafeUrl, match="unspecified or multicast"):
        UrlGuard(allow_private=True).check_addresses("https://x.example/", "x.example", [address])


def test_embedded_public_ipv4_passes_and_allow_private_still_applies() -> None:
    public = ["2002:5db8:d70e::", "64:ff9b::5db8:d70e", "2001:0:4136:e378:8000:63bf:a247:28f1"]
    STRICT.check_addresses("https://example.com/", "example.com", public)  # 93.184.215.14
    UrlGuard(allow_private=True).check_addresses("https://x.example/", "x.example", ["2002:a00:1::"])
    DEV.check_addresses("https://x.example/", "x.example", ["2002:7f00:1::"])  # loopback, development
    with pytest.raises(UnsafeUrl, match="private"):
        DEV.check_addresses("https://x.example/", "x.example", ["2002:a00:1::"])
