"""OAuth 2.0 Protected Resource Metadata (RFC 9728): the resource identifier.

The ``resource`` value that a protected resource advertises must be exactly the URL that
clients use to reach it (RFC 9728 §3.3), and it is also the audience that access tokens are
bound to. This module decides that value:

* :func:`validate_resource_url` checks a configured URL (absolute ``https``, or ``http`` for a
  loopback host; no query, no fragment, no user information);
* :func:`resolve_resource_url` returns the configured URL, and derives one from the request
  only when the application says it runs behind a proxy it trusts.

The TypeScript package derived the resource from the ``Host`` header of every request and
copied the query string into it; a forged ``Host`` then changed the advertised resource. Here
nothing is derived unless ``trust_proxy=True``.
"""

from __future__ import annotations

import ipaddress
import re
from urllib.parse import SplitResult, urlsplit

from mcp_tools.errors import ConfigurationError
from mcp_tools.http import Request

__all__ = [
    "ConfigurationError",
    "InvalidResourceURLError",
    "is_loopback_host",
    "resolve_resource_url",
    "validate_resource_url",
]


class InvalidResourceURLError(ConfigurationError):
    """A resource URL is not usable as an RFC 9728 resource identifier."""


# host or host:port, where host is a DNS name, an IPv4 address or a bracketed IPv6 address.
_HOST_RE = re.compile(
    r"""
    ^(?:
        \[[0-9A-Fa-f:.]+\]                                   # [IPv6]
      | [A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?        # first label
        (?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)* # more labels
    )
    (?::[0-9]{1,5})?$
    """,
    re.VERBOSE,
)


def is_loopback_host(host: str) -> bool:
    """Whether ``host`` (no port, IPv6 without brackets) names this machine.

    ``localhost``, names under ``.localhost`` (RFC 6761), ``127.0.0.0/8`` and ``::1``.
    """
    name = host.lower().rstrip(".")
    if name == "localhost" or name.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False


def _short(url: str) -> str:
    return url if len(url) <= 200 else url[:200] + "..."


def _split_checked(url: str, what: str) -> SplitResult:
    if not isinstance(url, str) or not url:
        raise InvalidResourceURLError(
            f"{what} is empty; give an absolute URL such as https://api.example.com/mcp"
        )
    if url != url.strip() or any(c.isspace() for c in url):
        raise InvalidResourceURLError(f"{what} {_short(url)!r} contains whitespace")
    try:
        parts = urlsplit(url)
        port = parts.port  # raises ValueError for a non-numeric or out-of-range port
    except ValueError as exc:
        raise InvalidResourceURLError(f"{what} {_short(url)!r} is not a valid URL: {exc}") from None
    del port
    if parts.scheme.lower() not in ("http", "https") or not parts.netloc:
        raise InvalidResourceURLError(
            f"{what} {_short(url)!r} is not an absolute http(s) URL; "
            "give the full URL clients use, such as https://api.example.com/mcp"
        )
    if parts.username is not None or parts.password is not None:
        raise InvalidResourceURLError(f"{what} must not contain user information (user:password@)")
    if not parts.hostname or not _HOST_RE.match(parts.netloc.rsplit("@", 1)[-1]):
        raise InvalidResourceURLError(f"{what} {_short(url)!r} has an invalid host")
    return parts


def validate_resource_url(url: str) -> str:
    """Check that ``url`` can serve as an RFC 9728 resource identifier, and return it unchanged.

    Rules: an absolute URL with scheme ``https``, or ``http`` when the host is a loopback
    address or ``localhost`` (local development); a valid host; no user information; no
    query component and no fragment (RFC 9728 §1.2 and RFC 8707 §2). The value is returned
    exactly as given, because clients compare it as a string.

    Raises :class:`InvalidResourceURLError` (a :class:`ValueError`) naming the broken rule.
    """
    parts = _split_checked(url, "resource URL")
    if parts.fragment or url.endswith("#"):
        raise InvalidResourceURLError(
            f"resource URL {_short(url)!r} has a fragment (#...); a resource identifier must not have one"
        )
    if parts.query or "?" in url:
        raise InvalidResourceURLError(
            f"resource URL {_short(url)!r} has a query string (?...); "
            "a resource identifier should not have one, so remove it"
        )
    if parts.scheme.lower() == "http" and not is_loopback_host(parts.hostname or ""):
        raise InvalidResourceURLError(
            f"resource URL {_short(url)!r} uses http; use https "
            "(plain http is accepted only for localhost and loopback addresses)"
        )
    return url


def _forwarded_elements(value: str) -> list[dict[str, str]]:
    """Parse an RFC 7239 ``Forwarded`` header into one dict per element (comma-separated)."""
    elements: list[dict[str, str]] = []
    current: dict[str, str] = {}
    key = ""
    buf: list[str] = []
    in_key = True
    i = 0

    def flush_pair() -> None:
        nonlocal key, buf, in_key
        if key.strip():
            current[key.strip().lower()] = "".join(buf).strip()
        key, buf, in_key = "", [], True

    while i < len(value):
        c = value[i]
        if in_key:
            if c == "=":
                in_key = False
            elif c == ";":
                key = ""
            elif c == ",":
                key = ""
                elements.append(current)
                current = {}
            else:
                key += c
        elif c == '"':
            i += 1
            while i < len(value) and value[i] != '"':
                if value[i] == "\\" and i + 1 < len(value):
                    i += 1
                buf.append(value[i])
                i += 1
        elif c == ";":
            flush_pair()
        elif c == ",":
            flush_pair()
            elements.append(current)
            current = {}
        else:
            buf.append(c)
        i += 1
    if not in_key:
        flush_pair()
    elements.append(current)
    return [e for e in elements if e]


def _last_value(header: str | None) -> str | None:
    if not header:
        return None
    values = [v.strip() for v in header.split(",") if v.strip()]
    return values[-1] if values else None


def resolve_resource_url(
    configured: str | None,
    request: Request | None = None,
    *,
    trust_proxy: bool = False,
    mcp_path: str = "/mcp",
) -> str:
    """The resource URL this server advertises and binds tokens to.

    * ``configured`` given: it is validated with :func:`validate_resource_url` and returned
      unchanged. This is the recommended setup.
    * Not configured and ``trust_proxy=False``: :class:`ConfigurationError`. The ``Host``
      header is client input, so the URL is never derived from it silently.
    * Not configured and ``trust_proxy=True``: built from ``request`` as
      ``<scheme>://<host>`` + ``mcp_path``. The scheme comes from ``Forwarded: proto=`` or
      ``X-Forwarded-Proto``, the host from ``Forwarded: host=``, ``X-Forwarded-Host`` or
      ``Host``, and otherwise from ``request.url``. When a header holds several values the
      last one is used (the one added by the proxy nearest to the application). The request's
      own path and query string are never used, so the result has neither query nor fragment.
      The result is validated like a configured URL.
    """
    if configured is not None:
        return validate_resource_url(configured)
    if not trust_proxy:
        raise ConfigurationError(
            "the resource URL is not configured; set it to the URL clients use for the MCP endpoint "
            "(for example https://api.example.com/mcp), or enable trust_proxy to derive it from "
            "forwarded headers when the app runs behind a proxy you control"
        )
    if request is None:
        raise ConfigurationError(
            "the resource URL is not configured and no request was given to derive it from"
        )
    if mcp_path and not mcp_path.startswith("/"):
        raise ConfigurationError(f"mcp_path must start with '/', got {mcp_path!r}")
    if "?" in mcp_path or "#" in mcp_path:
        raise ConfigurationError("mcp_path must be a plain path without query or fragment")

    request_parts = urlsplit(request.url)
    forwarded = _forwarded_elements(request.headers.get("forwarded", ""))
    last = forwarded[-1] if forwarded else {}

    proto = last.get("proto") or _last_value(request.headers.get("x-forwarded-proto")) or request_parts.scheme
    host = last.get("host") or _last_value(request.headers.get("x-forwarded-host"))
    if not host:
        host = (request.headers.get("host") or "").strip() or request_parts.netloc
    proto = proto.strip().lower()
    if proto not in ("http", "https"):
        raise ConfigurationError(
            f"cannot derive the resource URL: unsupported forwarded scheme {proto[:20]!r}"
        )
    if not host or not _HOST_RE.match(host):
        raise ConfigurationError(
            f"cannot derive the resource URL: invalid host {host[:100]!r} in the request"
        )
    return validate_resource_url(f"{proto}://{host}{mcp_path}")
