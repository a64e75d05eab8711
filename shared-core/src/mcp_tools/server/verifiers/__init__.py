"""Access token verifiers for MCP resource servers (RFC 6750 bearer tokens).

Each verifier implements the MCP SDK's ``TokenVerifier`` protocol (``async verify_token``)
and adds ``verify_token_sync`` for WSGI frameworks; both share one implementation.

* :class:`JWTVerifier`: signed JWT access tokens checked against a JWKS (RFC 7519, RFC 9068).
* :class:`IntrospectionVerifier`: opaque tokens via token introspection (RFC 7662).
* :class:`ClerkTokenVerifier`: Clerk's opaque ``oat_`` tokens and ``at+jwt`` JWTs.

Bad tokens give ``None``; an unreachable dependency raises
:class:`TokenVerificationUnavailable` (answer ``503``, not ``401``).
"""

from .base import McpTokenVerifier, TokenVerificationUnavailable
from .clerk import ClerkAuthInfo, ClerkTokenVerifier, clerk_auth_info, verify_clerk_token
from .introspection import IntrospectionVerifier
from .jwt import DEFAULT_ALGORITHMS, JWTVerifier

__all__ = [
    "DEFAULT_ALGORITHMS",
    "ClerkAuthInfo",
    "ClerkTokenVerifier",
    "IntrospectionVerifier",
    "JWTVerifier",
    "McpTokenVerifier",
    "TokenVerificationUnavailable",
    "clerk_auth_info",
    "verify_clerk_token",
]
