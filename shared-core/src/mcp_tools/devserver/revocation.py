"""RFC 7009 OAuth 2.0 Token Revocation.

Clients authenticate as at the token endpoint (public clients with their ``client_id``).
Revoking an access token marks that token inactive; revoking a refresh token revokes the
whole grant, including every access token issued under it (RFC 7009 §2.1). Unknown
tokens are answered with 200, as the RFC requires; a token of another client is refused.
A JWT access token stays cryptographically valid until ``exp``: resource servers that need
immediate revocation must introspect.
"""

from __future__ import annotations

from typing import Any, ClassVar

from authlib.oauth2.rfc7009 import RevocationEndpoint as _RevocationEndpoint

from .introspection import find_token
from .models import AccessTokenRecord

__all__ = ["RevocationEndpoint"]


class RevocationEndpoint(_RevocationEndpoint):  # type: ignore[misc]
    """``POST /revoke``."""

    CLIENT_AUTH_METHODS: ClassVar[list[str]] = ["client_secret_basic", "client_secret_post", "none"]

    def query_token(self, token_string: str, token_type_hint: str | None) -> Any:
        return find_token(self.server.store, token_string, token_type_hint)

    def revoke_token(self, token: Any, request: Any) -> None:
        store = self.server.store
        if isinstance(token, AccessTokenRecord):
            store.revoke_access_token(token)
        else:
            store.revoke_grant(token.grant)
