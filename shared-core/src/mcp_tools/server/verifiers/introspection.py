"""OAuth 2.0 Token Introspection (RFC 7662) as a token verifier.

:class:`IntrospectionVerifier` asks the authorization server about each token it has not
seen recently: ``POST token=<token>&token_type_hint=access_token`` to the introspection
endpoint, authenticated as a confidential client (``client_secret_basic`` or
``client_secret_post``, RFC 6749 §2.3.1). A response with ``"active": true`` that passes
the local checks (``exp``, ``nbf``, ``aud`` when an audience is configured, ``iss`` when an
issuer is configured, a ``client_id``) becomes an
:class:`~mcp.server.auth.provider.AccessToken`.

Active results are cached, keyed by the SHA-256 digest of the token, for at most
``cache_ttl`` seconds and never past the token's ``exp``. Inactive results are not cached,
so a token that is revoked stops working as soon as its cache entry (if any) expires.
"""

from __future__ import annotations

import base64
import logging
import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any, Literal
from urllib.parse import quote

from mcp.server.auth.provider import AccessToken

from mcp_tools._outbound import Flow, OutboundRequest

from .base import McpTokenVerifier, TokenCache, TokenVerificationUnavailable, fetch_flow, is_number
from .jwt import extract_client_id, extract_scopes

__all__ = ["IntrospectionVerifier"]

logger = logging.getLogger("mcp_tools.server.verifiers")

AuthMethod = Literal["client_secret_basic", "client_secret_post"]


def basic_credentials(client_id: str, client_secret: str) -> str:
    """``Authorization`` value for ``client_secret_basic`` (form-encoded, RFC 6749 §2.3.1)."""
    pair = f"{quote(client_id, safe='')}:{quote(client_secret, safe='')}"
    return "Basic " + base64.b64encode(pair.encode("utf-8")).decode("ascii")


class IntrospectionVerifier(McpTokenVerifier):
    """Verify opaque (or any) access tokens with RFC 7662 introspection.

    Args:
        introspection_endpoint: the authorization server's ``introspection_endpoint``.
        client_id, client_secret: this resource server's credentials at the AS.
        auth_method: ``"client_secret_basic"`` (HTTP Basic) or ``"client_secret_post"``.
        audience: when given, the response's ``aud`` (string or list) must contain one of
            these; the match becomes ``AccessToken.resource``. A response without ``aud``
            is then refused.
        issuer: when given, the response's ``iss`` must equal it exactly. Recommended: the
            MCP SDK binds sessions to ``(client_id, claims["iss"], subject)``.
        cache_ttl: seconds an active result is reused (0 disables the cache).
        max_cache_entries: bound on cached results (least recently used evicted).
        leeway: seconds of clock skew tolerated for ``exp`` and ``nbf``.
        timeout: seconds for each introspection request.
        clock: returns the current Unix time; injectable for tests.

    Raises :class:`TokenVerificationUnavailable` when the endpoint is unreachable, answers
    with anything but ``200`` (a ``401`` there means *our* credentials are wrong), or does
    not return a JSON object.
    """

    def __init__(
        self,
        *,
        introspection_endpoint: str,
        client_id: str,
        client_secret: str,
        auth_method: AuthMethod = "client_secret_basic",
        audience: str | Sequence[str] | None = None,
        issuer: str | None = None,
        cache_ttl: float = 60.0,
        max_cache_entries: int = 10000,
        leeway: int = 0,
        timeout: float = 5.0,
        clock: Callable[[], float] = time.time,
        session: Any = None,
        http_client: Any = None,
    ) -> None:
        super().__init__(session=session, http_client=http_client)
        if auth_method not in ("client_secret_basic", "client_secret_post"):
            raise ValueError("auth_method must be 'client_secret_basic' or 'client_secret_post'")
        if not introspection_endpoint:
            raise ValueError("introspection_endpoint is required")
        self._endpoint = introspection_endpoint
        self._client_id = client_id
        self._client_secret = client_secret
        self._auth_method = auth_method
        if audience is None:
            self._audiences: tuple[str, ...] | None = None
        else:
            self._audiences = (audience,) if isinstance(audience, str) else tuple(audience)
            if not self._audiences:
                raise ValueError("audience must not be empty")
        self._issuer = issuer
        self._cache_ttl = cache_ttl
        self._leeway = self.leeway = leeway
        self._timeout = timeout
        self._clock = clock
        self._cache = TokenCache(max_cache_entries, clock)

    @property
    def cache(self) -> TokenCache:
        return self._cache

    def _request(self, token: str) -> OutboundRequest:
        form = {"token": token, "token_type_hint": "access_token"}
        headers = {"Accept": "application/json"}
        if self._auth_method == "client_secret_basic":
            headers["Authorization"] = basic_credentials(self._client_id, self._client_secret)
        else:
            form["client_id"] = self._client_id
            form["client_secret"] = self._client_secret
        return OutboundRequest("POST", self._endpoint, headers=headers, data=form, timeout=self._timeout)

    def cached_token(self, token: str) -> AccessToken | None:
        return self._cache.get(token) if self._cache_ttl > 0 else None

    def _verify_flow(self, token: str) -> Flow[AccessToken | None]:
        if self._cache_ttl > 0:
            cached = self._cache.get(token)
            if cached is not None:
                return cached
        response = yield from fetch_flow(self._request(token))
        if response.status != 200:
            raise TokenVerificationUnavailable(
                f"introspection endpoint {self._endpoint} answered HTTP {response.status}"
            )
        try:
            data = response.json()
        except ValueError:
            data = None
        if not isinstance(data, dict):
            raise TokenVerificationUnavailable(
                f"introspection endpoint {self._endpoint} did not return a JSON object"
            )
        access = self._access_token(token, data)
        if access is not None and self._cache_ttl > 0:
            until = self._clock() + self._cache_ttl
            if access.expires_at is not None:
                until = min(until, float(access.expires_at))
            self._cache.put(token, access, until)
        return access

    def _access_token(self, token: str, data: Mapping[str, Any]) -> AccessToken | None:
        if data.get("active") is not True:
            return None
        now = self._clock()
        exp = data.get("exp")
        if exp is not None and (not is_number(exp) or exp <= now - self._leeway):
            return None
        nbf = data.get("nbf")
        if nbf is not None and (not is_number(nbf) or nbf > now + self._leeway):
            return None
        iss = data.get("iss")
        if self._issuer is not None and iss != self._issuer:
            return None
        resource: str | None = None
        aud = data.get("aud")
        if self._audiences is not None:
            if isinstance(aud, str):
                token_audiences = [aud]
            elif isinstance(aud, list):
                token_audiences = [a for a in aud if isinstance(a, str)]
            else:
                return None
            matched = [a for a in self._audiences if a in token_audiences]
            if not matched:
                return None
            resource = matched[0]
        sub = data.get("sub")
        if sub is not None and not isinstance(sub, str):
            return None
        scopes = extract_scopes(data)
        client_id = extract_client_id(data)
        if scopes is None or client_id is None:
            return None
        claims = dict(data)
        if self._issuer is not None:
            claims.setdefault("iss", self._issuer)
        return AccessToken(
            token=token,
            client_id=client_id,
            scopes=scopes,
            expires_at=int(exp) if exp is not None else None,
            resource=resource,
            subject=sub,
            claims=claims,
        )
