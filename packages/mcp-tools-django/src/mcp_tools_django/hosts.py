"""The ``Host`` rule of the MCP endpoint: Django's ``ALLOWED_HOSTS`` (or ``MCP_TOOLS['ALLOWED_HOSTS']``)
as the predicate :func:`host_allowed`, the ``allowed_hosts`` of every endpoint this package builds,
so the core's :class:`~mcp_tools.server.origin.HostOriginPolicy` checks it once (JSON 421).
"""

from __future__ import annotations

from django.conf import settings
from django.http.request import split_domain_port, validate_host

from mcp_tools_django.conf import user_settings


def allowed_host_patterns() -> list[str]:
    """``MCP_TOOLS['ALLOWED_HOSTS']``, else ``ALLOWED_HOSTS`` (with Django's ``DEBUG`` default)."""
    explicit = user_settings().get("ALLOWED_HOSTS")
    patterns = list(explicit) if explicit is not None else list(settings.ALLOWED_HOSTS)
    if settings.DEBUG and not patterns:
        patterns = [".localhost", "127.0.0.1", "[::1]"]
    return patterns


_MEMO_SIZE = 256
_memo: dict[str, bool] = {}  # Host header value -> decision; emptied by forget()


def host_allowed(host: str | None) -> bool:
    """Whether a ``Host`` header value is admitted. Decisions are remembered per value (at most
    256, then forgotten wholesale) until :func:`forget` (called when settings change)."""
    if not host:
        return False
    known = _memo.get(host)
    if known is not None:
        return known
    domain, _port = split_domain_port(host)
    allowed = bool(domain) and validate_host(domain, allowed_host_patterns())
    if len(_memo) >= _MEMO_SIZE:
        _memo.clear()
    _memo[host] = allowed
    return allowed


def forget() -> None:
    """Forget the remembered decisions."""
    _memo.clear()
