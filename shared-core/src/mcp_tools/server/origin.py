"""Host and Origin checks for the MCP endpoint (DNS rebinding protection).

The MCP transport specification requires servers to validate the ``Origin`` header of
every incoming connection. :class:`HostOriginPolicy` does that (and the ``Host`` check)
*before* any bearer-token work, so a hostile page gets a 403 without learning anything
about the token. Patterns use the SDK's convention: ``"example.com:*"`` admits any port.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from mcp_tools.http import Request, Response, json_response

__all__ = ["HostOriginPolicy", "default_allowed_hosts", "default_allowed_origins"]

_LOOPBACK = ("127.0.0.1", "localhost", "[::1]")


def _is_loopback(host: str) -> bool:
    return host in ("127.0.0.1", "localhost", "::1", "[::1]")


def default_allowed_hosts(resource_url: str) -> list[str]:
    """Hosts admitted by default: the resource URL's host (any port), plus loopback when local."""
    parts = urlsplit(resource_url)
    host = parts.hostname or ""
    shown = f"[{host}]" if ":" in host else host
    allowed = [shown, f"{shown}:*"]
    if _is_loopback(host):
        for name in _LOOPBACK:
            allowed += [name, f"{name}:*"]
    return list(dict.fromkeys(allowed))


def default_allowed_origins(resource_url: str) -> list[str]:
    """Origins admitted by default: the resource URL's own origin, plus loopback when local."""
    parts = urlsplit(resource_url)
    host = parts.hostname or ""
    shown = f"[{host}]" if ":" in host else host
    allowed = [f"{parts.scheme}://{shown}", f"{parts.scheme}://{shown}:*"]
    if _is_loopback(host):
        for name in _LOOPBACK:
            allowed += [f"http://{name}", f"http://{name}:*", f"https://{name}", f"https://{name}:*"]
    return list(dict.fromkeys(allowed))


def _matches(value: str, patterns: Sequence[str]) -> bool:
    """``value`` against ``patterns``, which must be lower-case already."""
    lowered = value.lower()
    for pattern in patterns:
        if pattern == "*" or lowered == pattern:
            return True
        if pattern.endswith(":*"):
            base = pattern[:-2]
            if lowered.startswith(base + ":") and lowered[len(base) + 1 :].isdigit():
                return True
    return False


@dataclass(frozen=True)
class HostOriginPolicy:
    """Which ``Host`` and ``Origin`` header values the MCP endpoint accepts.

    ``allowed_hosts=["*"]`` disables the Host check (e.g. behind a proxy that already
    validates it); a callable decides from the ``Host`` header value itself (Django passes its
    ``ALLOWED_HOSTS`` rule). An absent ``Origin`` (non-browser clients) is always accepted.
    """

    allowed_hosts: tuple[str, ...] | Callable[[str], bool]
    allowed_origins: tuple[str, ...]
    _hosts: tuple[str, ...] = field(init=False, repr=False, compare=False)
    _origins: tuple[str, ...] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        # Matching is case-insensitive; lower the patterns once, not on every request.
        if not callable(self.allowed_hosts):
            object.__setattr__(self, "_hosts", tuple(p.lower() for p in self.allowed_hosts))
        object.__setattr__(self, "_origins", tuple(p.lower() for p in self.allowed_origins))

    @classmethod
    def for_resource(
        cls,
        resource_url: str,
        *,
        allowed_hosts: Sequence[str] | Callable[[str], bool] | None = None,
        allowed_origins: Sequence[str] | None = None,
    ) -> HostOriginPolicy:
        """The policy for ``resource_url``; explicit lists (or a host predicate) replace the defaults."""
        hosts: tuple[str, ...] | Callable[[str], bool]
        if callable(allowed_hosts):
            hosts = allowed_hosts
        else:
            hosts = tuple(default_allowed_hosts(resource_url) if allowed_hosts is None else allowed_hosts)
        origins = default_allowed_origins(resource_url) if allowed_origins is None else list(allowed_origins)
        return cls(hosts, tuple(origins))

    def origin_allowed(self, origin: str | None) -> bool:
        return not origin or _matches(origin, self._origins)

    def host_allowed(self, host: str | None) -> bool:
        if not host:
            return False
        rule = self.allowed_hosts
        return rule(host) if callable(rule) else _matches(host, self._hosts)

    def check(self, request: Request) -> Response | None:
        """``None`` when the request may proceed, else the JSON error response (403 or 421)."""
        if not self.origin_allowed(request.headers.get("origin")):
            return json_response(
                {"error": "forbidden", "error_description": "Origin not allowed"},
                status=403,
            )
        if not self.host_allowed(request.headers.get("host")):
            return json_response(
                {"error": "misdirected_request", "error_description": "Host not allowed"},
                status=421,
            )
        return None
