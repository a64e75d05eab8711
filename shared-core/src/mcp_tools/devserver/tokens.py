"""RFC 9068 JWT Profile for OAuth 2.0 Access Tokens, with an RFC 8707 audience.

Built on authlib's :class:`~authlib.oauth2.rfc9068.JWTBearerTokenGenerator`, which writes
the header ``{"alg": "RS256", "typ": "at+jwt", "kid": ...}`` and the claims ``iss``,
``sub``, ``client_id``, ``scope``, ``jti``, ``iat`` and ``exp``. authlib sets ``aud`` to the
client id (its RFC 8707 branch is a TODO); here ``aud`` is the resource chosen at the
token endpoint. The grant passes it in with :func:`token_audience`, a context manager
over a :class:`contextvars.ContextVar`, so concurrent requests on other threads never see
each other's audience.

Refresh tokens are opaque random strings (authlib's ``generate_token``).
"""

from __future__ import annotations

import contextlib
import contextvars
from collections.abc import Iterator
from typing import Any

from authlib.common.security import generate_token
from authlib.oauth2.rfc9068 import JWTBearerTokenGenerator
from joserfc.jwk import KeySet

from .keys import SigningKey

__all__ = ["AccessTokenGenerator", "token_audience"]

_AUDIENCE: contextvars.ContextVar[str | None] = contextvars.ContextVar("devserver_audience", default=None)


@contextlib.contextmanager
def token_audience(resource: str) -> Iterator[None]:
    """Make ``resource`` the ``aud`` of access tokens generated inside the block."""
    reset = _AUDIENCE.set(resource)
    try:
        yield
    finally:
        _AUDIENCE.reset(reset)


def _refresh_token(**_: Any) -> str:
    return str(generate_token(48))


class AccessTokenGenerator(JWTBearerTokenGenerator):  # type: ignore[misc]
    """Signs RFC 9068 access tokens for one issuer with one key, ``expires_in`` fixed."""

    def __init__(self, *, issuer: str, key: SigningKey, access_token_ttl: int) -> None:
        super().__init__(
            issuer=issuer,
            alg=key.algorithm,
            refresh_token_generator=_refresh_token,
            expires_generator=int(access_token_ttl),
        )
        self._key = key

    def get_jwks(self) -> KeySet:
        return self._key.private_keyset

    def get_audiences(self, client: Any, user: Any, scope: Any) -> str:
        audience = _AUDIENCE.get()
        if audience is None:
            # Every grant of this server binds a resource; never fall back to client_id.
            raise RuntimeError("no token audience selected (RFC 8707 resource missing)")
        return audience
