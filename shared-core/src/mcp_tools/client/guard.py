"""The SSRF guard applied to every URL a user or a remote server supplies.

The client fetches URLs it did not choose: the MCP endpoint a user pasted, then whatever
metadata, authorization server, registration and token endpoints that server advertises. From
a web server, such a fetch can reach internal services (an admin port on localhost, a database
on 10.0.0.5, the cloud metadata service on 169.254.169.254). :class:`UrlGuard` refuses those:

- only ``https`` URLs (``http`` only to loopback, and only with ``allow_loopback=True``, for
  development); no user info (``user:pass@``) and no fragments;
- the host name is resolved and **every** address it resolves to must be public: loopback,
  private (RFC 1918, ULA), link-local (incl. 169.254.169.254), carrier-grade NAT, multicast,
  reserved and unspecified addresses are refused unless explicitly allowed;
- an IPv6 address that carries an IPv4 destination is judged as that IPv4 address: IPv4-mapped
  (``::ffff:0:0/96``), NAT64 (``64:ff9b::/96``), 6to4 (``2002::/16``, so ``2002:a9fe:a9fe::``
  is 169.254.169.254) and Teredo (``2001::/32``, the client address inverted in the last 32 bits);
- ``allowed_hosts`` exempts exact host names you trust (an internal MCP server, say);
- the HTTP drivers never follow a redirect to another origin, apply ``timeout`` to every
  request and stop reading a response after ``max_response_bytes``.

Resolution happens just before each request. A host that changes its DNS answer between the
check and the connection (DNS rebinding) is not covered by this check alone; put the outbound
traffic behind an egress proxy if that matters to you.
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Iterable
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from .errors import UnsafeUrl

__all__ = ["DEFAULT_GUARD", "UrlGuard"]

_CGNAT = ipaddress.ip_network("100.64.0.0/10")
_NAT64 = ipaddress.ip_network("64:ff9b::/96")
_LOOPBACK_NAMES = {"localhost", "localhost.localdomain"}


@dataclass(frozen=True)
class UrlGuard:
    """Which outbound URLs the client may fetch, and how long and how much it reads.

    ``allow_loopback``: allow ``http``/``https`` to 127.0.0.0/8, ``::1`` and ``localhost``
    (development only). ``allow_private``: allow private, link-local and other internal
    addresses (only for an app that must reach MCP servers on its own network).
    """

    allow_loopback: bool = False
    allow_private: bool = False
    allowed_hosts: frozenset[str] = field(default_factory=frozenset)
    timeout: float = 10.0
    max_response_bytes: int = 1_000_000
    max_redirects: int = 3

    @classmethod
    def for_development(cls, **options: object) -> UrlGuard:
        """A guard that also allows loopback over plain http (``allow_loopback=True``)."""
        return cls(allow_loopback=True, **options)  # type: ignore[arg-type]

    def parse(self, url: str, what: str = "URL") -> tuple[str, str, int]:
        """Check the URL's form (not its addresses); return ``(scheme, host, port)``."""
        if not isinstance(url, str) or not url:
            raise UnsafeUrl(f"{what} is empty or not a string", url=str(url))
        try:
            parts = urlsplit(url)
            port = parts.port
        except ValueError:
            raise UnsafeUrl(f"{what} {url!r} is not a valid URL", url=url) from None
        scheme = parts.scheme.lower()
        host = (parts.hostname or "").lower()
        if scheme not in ("https", "http") or not host:
            raise UnsafeUrl(f"{what} {url!r} must be an absolute https URL", url=url)
        if parts.username is not None or parts.password is not None:
            raise UnsafeUrl(f"{what} {url!r} must not contain credentials", url=url)
        if parts.fragment:
            raise UnsafeUrl(f"{what} {url!r} must not contain a fragment", url=url)
        if scheme == "http" and not (self.allow_loopback and self._is_loopback_name(host)):
            hint = (
                ""
                if self.allow_loopback
                else " (plain http is allowed only to loopback, with allow_loopback=True)"
            )
            raise UnsafeUrl(f"{what} {url!r} must use https{hint}", url=url)
        return scheme, host, port if port is not None else (443 if scheme == "https" else 80)

    def check_addresses(self, url: str, host: str, addresses: Iterable[str], what: str = "URL") -> None:
        """Refuse ``url`` unless every resolved address of ``host`` is allowed."""
        found = list(addresses)
        if not found:
            raise UnsafeUrl(f"{what} {url!r}: host {host!r} does not resolve", url=url)
        if host in self.allowed_hosts:
            return
        for text in found:
            resolved = ipaddress.ip_address(text.split("%", 1)[0])
            address = _embedded_ipv4(resolved)
            problem = self._problem(address)
            if problem:
                shown = str(address) if address == resolved else f"{address} (embedded in {resolved})"
                raise UnsafeUrl(
                    f"{what} {url!r} resolves to {problem} address {shown}; refused to prevent "
                    "server-side request forgery (configure UrlGuard to allow it if this is intended)",
                    url=url,
                )

    def check(self, url: str, what: str = "URL") -> None:
        """Check form and (blocking) resolved addresses of ``url``; raise :class:`UnsafeUrl`."""
        _scheme, host, port = self.parse(url, what)
        try:
            infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
        except (socket.gaierror, UnicodeError) as exc:
            raise UnsafeUrl(f"{what} {url!r}: cannot resolve host {host!r} ({exc})", url=url) from None
        self.check_addresses(url, host, (str(info[4][0]) for info in infos), what)

    async def acheck(self, url: str, what: str = "URL") -> None:
        """Async :meth:`check` (resolution through anyio, off the event loop)."""
        import anyio

        _scheme, host, port = self.parse(url, what)
        try:
            infos = await anyio.getaddrinfo(host, port, type=socket.SOCK_STREAM)
        except (OSError, UnicodeError) as exc:
            raise UnsafeUrl(f"{what} {url!r}: cannot resolve host {host!r} ({exc})", url=url) from None
        self.check_addresses(url, host, (str(info[4][0]) for info in infos), what)

    # -- helpers -------------------------------------------------------------------------------

    @staticmethod
    def _is_loopback_name(host: str) -> bool:
        if host in _LOOPBACK_NAMES:
            return True
        try:
            return ipaddress.ip_address(host.strip("[]")).is_loopback
        except ValueError:
            return False

    def _problem(self, address: ipaddress.IPv4Address | ipaddress.IPv6Address) -> str | None:
        if address.is_loopback:
            return None if self.allow_loopback or self.allow_private else "a loopback"
        if address.is_unspecified or address.is_multicast:
            return "an unspecified or multicast"
        internal = (
            address.is_private
            or address.is_link_local
            or address.is_reserved
            or (isinstance(address, ipaddress.IPv4Address) and address in _CGNAT)
            or (isinstance(address, ipaddress.IPv6Address) and address.is_site_local)
        )
        if internal:
            return None if self.allow_private else "a private, link-local or reserved"
        return None


def _embedded_ipv4(
    address: ipaddress.IPv4Address | ipaddress.IPv6Address,
) -> ipaddress.IPv4Address | ipaddress.IPv6Address:
    """The IPv4 destination an IPv6 address carries (mapped, NAT64, 6to4, Teredo), else ``address``."""
    if isinstance(address, ipaddress.IPv4Address):
        return address
    if address.ipv4_mapped is not None:
        return address.ipv4_mapped
    if address.sixtofour is not None:
        return address.sixtofour
    if address.teredo is not None:
        return address.teredo[1]  # (server, client): the client is where the packets go
    if address in _NAT64:
        return ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    return address


#: The production default: https only, public addresses only, 10 s, 1 MB.
DEFAULT_GUARD = UrlGuard()
