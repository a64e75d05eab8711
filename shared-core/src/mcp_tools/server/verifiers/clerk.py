"""Clerk OAuth access tokens: opaque ``oat_`` tokens and JWT access tokens (RFC 9068).

Clerk issues two kinds of OAuth access tokens; :class:`ClerkTokenVerifier` handles both.

* **Opaque tokens** (prefix ``oat_``) are checked with Clerk's Backend API:
  ``POST {api_url}/oauth_applications/access_tokens/verify`` (no ``/v1``), headers
  ``Authorization: Bearer <secret key>``, ``Clerk-API-Version`` and
  ``Content-Type: application/json``, body ``{"access_token": "<token>"}``. The answer is a
  ``clerk_idp_oauth_access_token`` object (``id``, ``client_id``, ``subject``, ``scopes``,
  ``revoked``, ``expired``, ``expiration``, optional ``aud``); ``404`` means unknown.
  ``expiration`` is read as Unix **seconds** (``null`` = no expiry); a value above
  ``10**11`` can only be milliseconds and is divided by 1000.
* **JWT access tokens** (header ``typ`` ``at+jwt`` / ``application/at+jwt``) are verified
  locally with :class:`~mcp_tools.server.verifiers.jwt.JWTVerifier`'s checks, against the
  instance JWKS (``GET {api_url}/v1/jwks`` with the secret key, or a configured
  ``jwks_uri`` / ``jwt_key``).

Unlike ``@clerk/mcp-tools``, the result carries ``expires_at``, the audience (``resource``)
when one is configured, ``subject`` (the Clerk user id) and ``claims["iss"]``.

:func:`verify_clerk_token` is the port of the TypeScript ``verifyClerkToken`` mapping, for
code that already holds a Clerk ``auth`` object.
"""

from __future__ import annotations

import base64
import binascii
import logging
import os
import re
import time
from collections.abc import Callable, Mapping
from typing import Any, TypedDict

from mcp.server.auth.provider import AccessToken

from mcp_tools._outbound import Flow, OutboundRequest

from .base import McpTokenVerifier, TokenCache, TokenVerificationUnavailable, fetch_flow
from .jwt import DEFAULT_ALGORITHMS, KeysInput, _JWTCore

__all__ = [
    "CLERK_API_VERSION",
    "DEFAULT_CLERK_API_URL",
    "ClerkAuthExtra",
    "ClerkAuthInfo",
    "ClerkTokenVerifier",
    "clerk_auth_info",
    "clerk_issuer_from_publishable_key",
    "verify_clerk_token",
]

logger = logging.getLogger("mcp_tools.clerk")

DEFAULT_CLERK_API_URL = "https://api.clerk.com"
#: The ``Clerk-API-Version`` header value sent by ``@clerk/backend`` 3.25.0.
CLERK_API_VERSION = "2026-05-12"

_OPAQUE_PREFIX = "oat_"
_HOST = re.compile(r"^[A-Za-z0-9](?:[A-Za-z0-9.-]{0,251}[A-Za-z0-9])?(?::[0-9]{1,5})?$")


def clerk_issuer_from_publishable_key(publishable_key: str) -> str:
    """``https://<frontend api host>`` from a ``pk_test_`` / ``pk_live_`` publishable key.

    Raises ``ValueError`` for anything that is not a well-formed publishable key.
    """
    for prefix in ("pk_test_", "pk_live_"):
        if publishable_key.startswith(prefix):
            encoded = publishable_key[len(prefix) :]
            break
    else:
        raise ValueError("not a Clerk publishable key (expected pk_test_... or pk_live_...)")
    try:
        decoded = base64.b64decode(encoded + "=" * (-len(encoded) % 4), validate=True).decode("ascii")
    except (binascii.Error, UnicodeDecodeError, ValueError):
        raise ValueError("Clerk publishable key is not valid base64") from None
    if not decoded.endswith("$") or not _HOST.match(decoded[:-1]):
        raise ValueError("Clerk publishable key does not encode a frontend API host")
    return "https://" + decoded[:-1]


def _expiration_seconds(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float) or value != value:
        raise ValueError("bad expiration")
    return value / 1000.0 if value > 1e11 else float(value)


class ClerkTokenVerifier(McpTokenVerifier):
    """Verify Clerk OAuth access tokens (opaque ``oat_`` tokens and ``at+jwt`` JWTs).

    Args:
        secret_key: the Clerk secret key (``sk_...``); default ``$CLERK_SECRET_KEY``.
        publishable_key: used to derive the instance issuer (``https://<frontend api>``)
            checked against JWT ``iss``; default ``$CLERK_PUBLISHABLE_KEY``.
        issuer: the issuer, when you prefer to give it directly.
        audience: when given, the token's ``aud`` must contain it (opaque tokens: the
            ``aud`` field of Clerk's answer; JWTs: the ``aud`` claim). Set it to the MCP
            resource URL to bind tokens to this server (RFC 8707).
        api_url: Backend API base URL; default ``$CLERK_API_URL`` or ``https://api.clerk.com``.
        api_version: the ``Clerk-API-Version`` header.
        jwks_uri, jwt_key: where JWT signing keys come from, instead of ``{api_url}/v1/jwks``
            (``jwt_key`` is the PEM public key shown in Clerk's dashboard, or a JWK/JWKS).
        leeway: clock skew, in seconds, tolerated for JWT time claims.
        cache_ttl: seconds a verified opaque token is reused without asking Clerk (default 0:
            ask every time, so revocation is immediate).
        timeout: seconds for each Backend API request.
    """

    def __init__(
        self,
        *,
        secret_key: str | None = None,
        publishable_key: str | None = None,
        issuer: str | None = None,
        audience: str | None = None,
        api_url: str | None = None,
        api_version: str = CLERK_API_VERSION,
        jwks_uri: str | None = None,
        jwt_key: KeysInput | None = None,
        leeway: int = 30,
        cache_ttl: float = 0.0,
        max_cache_entries: int = 10000,
        timeout: float = 5.0,
        clock: Callable[[], float] = time.time,
        session: Any = None,
        http_client: Any = None,
    ) -> None:
        super().__init__(session=session, http_client=http_client)
        secret = secret_key if secret_key is not None else os.environ.get("CLERK_SECRET_KEY")
        if not secret:
            raise ValueError("a Clerk secret key is required (secret_key= or CLERK_SECRET_KEY)")
        self._secret = secret
        self.leeway = leeway
        base = api_url or os.environ.get("CLERK_API_URL") or DEFAULT_CLERK_API_URL
        self._api_url = base.rstrip("/")
        self._api_version = api_version
        if issuer is None:
            pk = publishable_key if publishable_key is not None else os.environ.get("CLERK_PUBLISHABLE_KEY")
            if pk:
                issuer = clerk_issuer_from_publishable_key(pk)
        self._issuer = issuer
        self._audience = audience
        self._timeout = timeout
        self._clock = clock
        self._cache_ttl = cache_ttl
        self._cache = TokenCache(max_cache_entries, clock)
        if jwks_uri is not None and jwt_key is not None:
            raise ValueError("give at most one of jwks_uri and jwt_key")
        self._jwt = _JWTCore(
            issuer=issuer,
            audience=audience,
            jwks_uri=None if jwt_key is not None else (jwks_uri or f"{self._api_url}/v1/jwks"),
            keys=jwt_key,
            algorithms=DEFAULT_ALGORITHMS,
            leeway=leeway,
            typ="at+jwt",
            jwks_cache_ttl=300.0,
            jwks_min_refetch_interval=30.0,
            timeout=timeout,
            clock=clock,
            jwks_headers=None if jwks_uri is not None else self._api_headers(),
        )

    def _api_headers(self) -> dict[str, str]:
        return {
            "Authorization": f"Bearer {self._secret}",
            "Clerk-API-Version": self._api_version,
        }

    @property
    def issuer(self) -> str | None:
        return self._issuer

    def cached_token(self, token: str) -> AccessToken | None:
        if token.startswith(_OPAQUE_PREFIX):
            return self._cache.get(token) if self._cache_ttl > 0 else None
        return self._jwt.cached(token) if token.count(".") == 2 else None

    def _verify_flow(self, token: str) -> Flow[AccessToken | None]:
        if token.startswith(_OPAQUE_PREFIX):
            return (yield from self._verify_opaque(token))
        if token.count(".") == 2:
            return (yield from self._jwt.verify_flow(token))
        return None

    def _verify_opaque(self, token: str) -> Flow[AccessToken | None]:
        if self._cache_ttl > 0:
            cached = self._cache.get(token)
            if cached is not None:
                return cached
        url = f"{self._api_url}/oauth_applications/access_tokens/verify"
        headers = {**self._api_headers(), "Content-Type": "application/json", "Accept": "application/json"}
        response = yield from fetch_flow(
            OutboundRequest(
                "POST", url, headers=headers, json_body={"access_token": token}, timeout=self._timeout
            )
        )
        if response.status in (400, 404, 422):
            return None
        if response.status in (401, 403):
            logger.error("Clerk refused the secret key (HTTP %s); check CLERK_SECRET_KEY", response.status)
        if response.status != 200:
            raise TokenVerificationUnavailable(f"Clerk token verification answered HTTP {response.status}")
        try:
            data = response.json()
        except ValueError:
            data = None
        if not isinstance(data, dict):
            raise TokenVerificationUnavailable("Clerk token verification did not return a JSON object")
        access = self._opaque_access_token(token, data)
        if access is not None and self._cache_ttl > 0:
            until = self._clock() + self._cache_ttl
            if access.expires_at is not None:
                until = min(until, float(access.expires_at))
            self._cache.put(token, access, until)
        return access

    def _opaque_access_token(self, token: str, data: Mapping[str, Any]) -> AccessToken | None:
        obj = data.get("object")
        if obj is not None and obj != "clerk_idp_oauth_access_token":
            return None
        if data.get("revoked") is True or data.get("expired") is True:
            return None
        expires_at: int | None = None
        if data.get("expiration") is not None:
            try:
                seconds = _expiration_seconds(data["expiration"])
            except ValueError:
                return None
            if seconds is None or seconds <= self._clock():
                return None
            expires_at = int(seconds)
        subject, client_id, scopes = data.get("subject"), data.get("client_id"), data.get("scopes")
        if not isinstance(subject, str) or not subject or not isinstance(client_id, str) or not client_id:
            return None
        if not isinstance(scopes, list) or not all(isinstance(s, str) for s in scopes):
            return None
        aud = data.get("aud")
        resource: str | None = None
        if self._audience is not None:
            audiences = [aud] if isinstance(aud, str) else aud if isinstance(aud, list) else []
            if self._audience not in audiences:
                return None
            resource = self._audience
        claims: dict[str, Any] = dict(data)
        claims["iss"] = self._issuer or self._api_url
        claims["sub"] = subject
        return AccessToken(
            token=token,
            client_id=client_id,
            scopes=list(scopes),
            expires_at=expires_at,
            resource=resource,
            subject=subject,
            claims=claims,
        )


# -- the TypeScript verifyClerkToken mapping ---------------------------------------------------


class ClerkAuthExtra(TypedDict):
    user_id: str


class ClerkAuthInfo(TypedDict):
    """Python naming of the TypeScript ``AuthInfo`` built by ``verifyClerkToken``.

    ``{token, scopes, clientId, extra: {userId}}`` becomes
    ``{"token", "scopes", "client_id", "extra": {"user_id"}}``.
    """

    token: str
    scopes: list[str]
    client_id: str
    extra: ClerkAuthExtra


_MISSING = object()


def _field(auth: Mapping[str, Any] | object, snake: str, camel: str) -> Any:
    if isinstance(auth, Mapping):
        if snake in auth:
            return auth[snake]
        return auth.get(camel)
    value = getattr(auth, snake, _MISSING)
    if value is _MISSING:
        value = getattr(auth, camel, None)
    return value


def _falsy(value: Any) -> bool:
    """JavaScript truthiness: ``None``, ``False``, ``0`` and ``""`` are falsy; ``[]`` is not."""
    if value is None or value is False:
        return True
    if isinstance(value, str):
        return value == ""
    if isinstance(value, int | float):
        return value == 0 or value != value
    return False


def verify_clerk_token(auth: Mapping[str, Any] | object, token: str | None) -> ClerkAuthInfo | None:
    """Map a Clerk ``auth`` object (``acceptsToken="oauth_token"``) to :class:`ClerkAuthInfo`.

    Port of ``verifyClerkToken`` from ``@clerk/mcp-tools``; it verifies nothing itself.
    ``auth`` may be a mapping or an object, with snake_case (``is_authenticated``,
    ``token_type``, ``client_id``, ``scopes``, ``user_id``) or camelCase
    (``isAuthenticated``, ``tokenType``, ``clientId``, ``userId``) names. In order:

    1. no ``token`` -> ``None``;
    2. not authenticated -> ``None``, logging ``Invalid OAuth access token``;
    3. ``token_type`` other than ``"oauth_token"`` -> ``ValueError``;
    4. missing client id, scopes or user id -> ``None``, logging which one;
    5. else ``{"token", "scopes", "client_id", "extra": {"user_id"}}``.

    Messages go to the ``mcp_tools.clerk`` logger at WARNING (the TS code used
    ``console.error``). An empty scope list is accepted, as in TypeScript.
    """
    if _falsy(token) or not isinstance(token, str):
        return None
    if _falsy(_field(auth, "is_authenticated", "isAuthenticated")):
        logger.warning("Invalid OAuth access token")
        return None
    if _field(auth, "token_type", "tokenType") != "oauth_token":
        raise ValueError("the auth() function must be called with acceptsToken: 'oauth_token'")
    client_id = _field(auth, "client_id", "clientId")
    scopes = _field(auth, "scopes", "scopes")
    user_id = _field(auth, "user_id", "userId")
    for value, name in ((client_id, "clientId"), (scopes, "scopes"), (user_id, "userId")):
        if _falsy(value):
            logger.warning("Clerk error: No %s returned from auth()", name)
            return None
    return {
        "token": token,
        "scopes": list(scopes),
        "client_id": client_id,
        "extra": {"user_id": user_id},
    }


def clerk_auth_info(access_token: AccessToken) -> ClerkAuthInfo:
    """The :class:`ClerkAuthInfo` shape for an access token from :class:`ClerkTokenVerifier`."""
    return {
        "token": access_token.token,
        "scopes": list(access_token.scopes),
        "client_id": access_token.client_id,
        "extra": {"user_id": access_token.subject or ""},
    }
