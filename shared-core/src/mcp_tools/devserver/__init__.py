"""A development-only OAuth 2.1 authorization server for MCP (in memory, loopback only).

**Never use it in production**: any username is accepted, nothing is persisted, and the
signing key is thrown away when the process ends. It exists so that an MCP server and
client can be tried end to end on one machine with no accounts anywhere::

    from mcp_tools.devserver import serve

    with serve(auto_approve=True, scopes=["notes:read", "notes:write"]) as running:
        print(running.issuer)  # http://127.0.0.1:<port>

Standards: RFC 6749 (authorization code, refresh), RFC 7636 (PKCE, S256 required),
RFC 8414 (metadata), RFC 7591 (dynamic registration), RFC 8707 (resource indicators,
issued as ``aud``), RFC 9068 (JWT access tokens), RFC 7517 (JWKS), RFC 7662
(introspection), RFC 7009 (revocation), RFC 9207 (``iss`` in authorization responses).
Built from authlib's server components, joserfc and the standard library's WSGI server.
See ``docs/dev-auth-server.md``.
"""

from __future__ import annotations

from .resource import InvalidTargetError
from .server import DevAuthorizationServer, serve
from .serving import RunningServer, check_bind_host
from .settings import DEFAULT_SCOPES, DEFAULT_USER

__all__ = [
    "DEFAULT_SCOPES",
    "DEFAULT_USER",
    "DevAuthorizationServer",
    "InvalidTargetError",
    "RunningServer",
    "check_bind_host",
    "serve",
]
