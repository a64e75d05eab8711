"""RFC 7662 OAuth 2.0 Token Introspection, for access and refresh tokens.

Any *confidential* client may introspect (``client_secret_basic`` or
``client_secret_post``): in development, the resource server registers itself as a client.
Unlike some servers this one also introspects its JWT access tokens, since it remembers
every ``jti`` it issued; a revoked grant therefore shows ``"active": false`` here even
though the JWT's signature still verifies until ``exp``.
"""

from __future__ import annotations

from typing import Any, ClassVar

from authlib.oauth2.rfc7662 import IntrospectionEndpoint as _IntrospectionEndpoint

from .models import AccessTokenRecord, RefreshTokenRecord

__all__ = ["IntrospectionEndpoint", "find_token"]


def find_token(store: Any, token: str, hint: str | None) -> AccessTokenRecord | RefreshTokenRecord | None:
    """Look a token up by value, trying the hinted type first (RFC 7009 §2.1, RFC 7662 §2.1)."""
    finders = [store.find_access_token, store.find_refresh_token]
    if hint == "refresh_token":
        finders.reverse()
    for find in finders:
        record: AccessTokenRecord | RefreshTokenRecord | None = find(token)
        if record is not None:
            return record
    return None


class IntrospectionEndpoint(_IntrospectionEndpoint):  # type: ignore[misc]
    """``POST /introspect``: ``{"active": false}`` for anything unknown, expired or revoked."""

    CLIENT_AUTH_METHODS: ClassVar[list[str]] = ["client_secret_basic", "client_secret_post"]

    def query_token(self, token_string: str, token_type_hint: str | None) -> Any:
        return find_token(self.server.store, token_string, token_type_hint)

    def check_permission(self, token: Any, client: Any, request: Any) -> bool:
        return True  # any authenticated confidential client (dev server: no RS allow-list)

    def introspect_token(self, token: AccessTokenRecord | RefreshTokenRecord) -> dict[str, Any]:
        body: dict[str, Any] = {
            "active": True,
            "iss": self.server.issuer,
            "sub": token.sub,
            "client_id": token.client_id,
            "scope": token.scope,
            "iat": token.issued_at,
            "exp": token.expires_at,
        }
        if isinstance(token, AccessTokenRecord):
            body.update(token_type="Bearer", aud=token.audience, jti=token.jti)
        else:
            body["aud"] = list(token.grant.resources)
        return body
