"""RFC 8414 OAuth 2.0 Authorization Server Metadata (and the OpenID discovery alias).

The same document is served at ``/.well-known/oauth-authorization-server`` and, for
clients that only probe OpenID Connect Discovery, ``/.well-known/openid-configuration``.
The server issues no ID tokens; the alias exists for discovery only (MCP clients try both
paths, 2025-11-25 onwards). ``issuer`` is the base URL without a trailing slash, exactly
the string the well-known URL is built from (RFC 8414 §3.3).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

__all__ = ["PATHS", "WELL_KNOWN_PATHS", "build_metadata"]

#: Endpoint paths, relative to the issuer.
PATHS: dict[str, str] = {
    "authorization_endpoint": "/authorize",
    "token_endpoint": "/token",
    "registration_endpoint": "/register",
    "introspection_endpoint": "/introspect",
    "revocation_endpoint": "/revoke",
    "jwks_uri": "/jwks",
}

#: Where the metadata document is served.
WELL_KNOWN_PATHS = ("/.well-known/oauth-authorization-server", "/.well-known/openid-configuration")

_CLIENT_AUTH = ["client_secret_basic", "client_secret_post", "none"]


def build_metadata(issuer: str, scopes: Sequence[str]) -> dict[str, Any]:
    """The metadata document for ``issuer`` offering ``scopes``."""
    document: dict[str, Any] = {"issuer": issuer}
    document.update({name: issuer + path for name, path in PATHS.items()})
    document.update(
        {
            "scopes_supported": list(scopes),
            "response_types_supported": ["code"],
            "response_modes_supported": ["query"],
            "grant_types_supported": ["authorization_code", "refresh_token"],
            "token_endpoint_auth_methods_supported": list(_CLIENT_AUTH),
            "introspection_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post"],
            "revocation_endpoint_auth_methods_supported": list(_CLIENT_AUTH),
            "code_challenge_methods_supported": ["S256"],
            "authorization_response_iss_parameter_supported": True,
        }
    )
    return document
