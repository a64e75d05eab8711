"""In-memory records of the development authorization server (RFC 6749 roles).

Plain dataclasses with the accessor methods authlib's grants and endpoints call
(``get_client_id``, ``check_redirect_uri``, ``get_scope``, ``is_revoked`` ...). Secrets are
never kept in the clear: clients keep a SHA-256 digest of their secret, and the store
indexes codes and tokens by digest (see :mod:`mcp_tools.devserver.store`).

A :class:`Grant` is one user's authorization of one client; every authorization code,
refresh token and access token issued under it points at it, so revoking the grant (code
replay, refresh-token reuse, revocation of a refresh token) kills the whole family.
"""

from __future__ import annotations

import hashlib
import hmac
import time
from dataclasses import dataclass, field

__all__ = [
    "AccessTokenRecord",
    "AuthorizationCode",
    "Client",
    "Grant",
    "RefreshTokenRecord",
    "User",
    "digest",
]


def digest(secret: str) -> str:
    """The SHA-256 hex digest under which a code, token or secret is stored."""
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class User:
    """A resource owner: any name typed on the login page becomes the ``sub``."""

    sub: str

    def get_user_id(self) -> str:
        return self.sub


@dataclass
class Client:
    """A client registered through RFC 7591 dynamic registration (or the Python API)."""

    client_id: str
    redirect_uris: tuple[str, ...]
    token_endpoint_auth_method: str
    grant_types: tuple[str, ...]
    response_types: tuple[str, ...]
    scope: str | None
    metadata: dict[str, object]
    secret_digest: str | None = None
    issued_at: int = field(default_factory=lambda: int(time.time()))

    @property
    def is_public(self) -> bool:
        return self.token_endpoint_auth_method == "none"

    @property
    def client_name(self) -> str:
        name = self.metadata.get("client_name")
        return name if isinstance(name, str) and name else self.client_id

    # -- authlib ClientMixin ---------------------------------------------------------------
    def get_client_id(self) -> str:
        return self.client_id

    def get_default_redirect_uri(self) -> str | None:
        return self.redirect_uris[0] if len(self.redirect_uris) == 1 else None

    def get_allowed_scope(self, scope: str | None) -> str:
        """Narrow a requested scope to the client's registered scope (all if none registered)."""
        if not scope:
            return self.scope or ""
        if not self.scope:
            return scope
        allowed = set(self.scope.split())
        return " ".join(s for s in scope.split() if s in allowed)

    def check_redirect_uri(self, redirect_uri: str) -> bool:
        """Exact string match against a registered redirect URI (OAuth 2.1 §7.5.3)."""
        return redirect_uri in self.redirect_uris

    def check_client_secret(self, client_secret: str) -> bool:
        if self.secret_digest is None:
            return False
        return hmac.compare_digest(self.secret_digest, digest(client_secret))

    def check_endpoint_auth_method(self, method: str, endpoint: str) -> bool:
        """A client authenticates the same way at every endpoint: the registered method."""
        return method == self.token_endpoint_auth_method

    def check_response_type(self, response_type: str) -> bool:
        return response_type in self.response_types

    def check_grant_type(self, grant_type: str) -> bool:
        return grant_type in self.grant_types


@dataclass
class Grant:
    """One authorization: a user, a client, the granted scope and resources (RFC 8707)."""

    grant_id: str
    client_id: str
    sub: str
    scope: str
    resources: tuple[str, ...]
    revoked: bool = False


@dataclass
class AuthorizationCode:
    """A one-time code; the attributes are the ones authlib's ``CodeChallenge`` reads."""

    code_digest: str
    grant: Grant
    client_id: str
    redirect_uri: str
    scope: str
    code_challenge: str
    code_challenge_method: str
    expires_at: float
    used: bool = False

    def get_redirect_uri(self) -> str:
        return self.redirect_uri

    def get_scope(self) -> str:
        return self.scope

    def is_expired(self) -> bool:
        return time.time() >= self.expires_at


@dataclass
class _TokenRecord:
    grant: Grant
    client_id: str
    sub: str
    scope: str
    issued_at: int
    expires_at: int
    revoked: bool = False

    # -- authlib TokenMixin ----------------------------------------------------------------
    def check_client(self, client: Client) -> bool:
        return self.client_id == client.client_id

    def get_scope(self) -> str:
        return self.scope

    def get_expires_in(self) -> int:
        return max(0, self.expires_at - int(time.time()))

    def is_expired(self) -> bool:
        return time.time() >= self.expires_at

    def is_revoked(self) -> bool:
        return self.revoked or self.grant.revoked

    @property
    def active(self) -> bool:
        return not (self.is_expired() or self.is_revoked())


@dataclass
class AccessTokenRecord(_TokenRecord):
    """What the server remembers of a JWT access token it issued (for RFC 7662/7009)."""

    jti: str = ""
    audience: str = ""


@dataclass
class RefreshTokenRecord(_TokenRecord):
    """A refresh token; ``used`` once rotated: presenting it again is reuse."""

    resource: str = ""
    used: bool = False

    def is_revoked(self) -> bool:
        """A rotated refresh token counts as revoked (it can never be used again)."""
        return self.used or super().is_revoked()
