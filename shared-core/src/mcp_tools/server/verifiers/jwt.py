"""JWT access token verification (RFC 7519, RFC 7515, RFC 7517 JWKS, RFC 9068 profile).

:class:`JWTVerifier` checks a signed JWT access token locally, with keys from a JWKS
endpoint (fetched, cached and refreshed) or given up front. JOSE work is done by
``joserfc``. Keys come from :mod:`.jwks` (loading, the JWKS cache). Checks, in order:

1. compact JWS shape, a header ``alg`` on the allowlist (never ``none``, never HMAC), and
   ``typ`` when required (``at+jwt`` also matches ``application/at+jwt``, RFC 9068 §2.1);
2. a signing key: ``kid`` and key type must fit ``alg``; an unknown ``kid`` triggers one
   rate-limited JWKS refetch (key rotation);
3. the signature;
4. ``iss`` equal to the configured issuer (exact string match), ``aud`` (string or list)
   containing one configured audience, ``exp`` required and in the future, ``nbf`` and
   ``iat`` not in the future (all with ``leeway`` seconds of clock skew);
5. ``client_id`` (or ``azp``, or ``cid``) present; scopes from ``scope`` (space-separated)
   or ``scp`` (list or string).

The result is an :class:`~mcp.server.auth.provider.AccessToken` with ``resource`` set to the
matched audience, ``subject`` to ``sub`` and ``claims`` to every claim (including ``iss``,
which the MCP SDK uses to bind sessions to their owner).
"""

from __future__ import annotations

import base64
import binascii
import json
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from joserfc import jwt as jose_jwt
from joserfc.errors import JoseError, UnsupportedAlgorithmError
from joserfc.jwa import JWSAlgModel
from joserfc.jwk import Key
from joserfc.jws import JWSRegistry
from mcp.server.auth.provider import AccessToken

from mcp_tools._outbound import Flow

from .base import McpTokenVerifier, TokenCache, is_number
from .jwks import JWKSCache, KeysInput, load_keys, parse_jwks

__all__ = ["DEFAULT_ALGORITHMS", "JWTVerifier", "KeysInput", "load_keys", "parse_jwks"]

#: Asymmetric JWS algorithms accepted by default.
DEFAULT_ALGORITHMS: tuple[str, ...] = (
    "RS256",
    "RS384",
    "RS512",
    "PS256",
    "PS384",
    "PS512",
    "ES256",
    "ES384",
    "ES512",
    "EdDSA",
    "Ed25519",
)

# Algorithm -> (JWK key type, EC/OKP curves allowed or None for any).
_ALGORITHM_KEYS: dict[str, tuple[str, frozenset[str] | None]] = {
    "RS256": ("RSA", None),
    "RS384": ("RSA", None),
    "RS512": ("RSA", None),
    "PS256": ("RSA", None),
    "PS384": ("RSA", None),
    "PS512": ("RSA", None),
    "ES256": ("EC", frozenset({"P-256"})),
    "ES384": ("EC", frozenset({"P-384"})),
    "ES512": ("EC", frozenset({"P-521"})),
    "ES256K": ("EC", frozenset({"secp256k1"})),
    "EdDSA": ("OKP", frozenset({"Ed25519", "Ed448"})),
    "Ed25519": ("OKP", frozenset({"Ed25519"})),
    "Ed448": ("OKP", frozenset({"Ed448"})),
}


def check_algorithms(algorithms: Iterable[str]) -> tuple[str, ...]:
    """Validate an algorithm allowlist; refuse ``none``, HMAC and unknown names."""
    allowed: list[str] = []
    for alg in algorithms:
        if not isinstance(alg, str):
            raise TypeError("algorithms must be strings")
        if alg.lower() == "none":
            raise ValueError('the "none" algorithm can never be allowed for access tokens')
        if alg.upper().startswith("HS"):
            raise ValueError(
                f"{alg!r} is an HMAC algorithm; shared-secret JWTs are not supported for "
                "access tokens (use an asymmetric algorithm such as RS256 or ES256)"
            )
        if alg not in _ALGORITHM_KEYS:
            raise ValueError(f"unsupported JWS algorithm {alg!r}; choose from {sorted(_ALGORITHM_KEYS)}")
        if alg not in allowed:
            allowed.append(alg)
    if not allowed:
        raise ValueError("at least one JWS algorithm must be allowed")
    return tuple(allowed)


def _b64json(segment: str) -> Any:
    padded = segment + "=" * (-len(segment) % 4)
    return json.loads(base64.urlsafe_b64decode(padded.encode("ascii")))


@dataclass(frozen=True)
class _Header:
    alg: str
    kid: str | None
    typ: str | None


def _parse_header(token: str) -> _Header | None:
    parts = token.split(".")
    if len(parts) != 3 or not all(parts):
        return None
    try:
        header = _b64json(parts[0])
    except (ValueError, binascii.Error, UnicodeDecodeError):
        return None
    if not isinstance(header, dict):
        return None
    alg, kid, typ = header.get("alg"), header.get("kid"), header.get("typ")
    if not isinstance(alg, str) or (kid is not None and not isinstance(kid, str)):
        return None
    if typ is not None and not isinstance(typ, str):
        return None
    return _Header(alg, kid, typ)


def _media_type(value: str) -> str:
    value = value.strip().lower()
    return value[len("application/") :] if value.startswith("application/") else value


def extract_scopes(claims: Mapping[str, Any]) -> list[str] | None:
    """Scopes from ``scope`` (space-separated string) or ``scp`` (list or string).

    Returns ``None`` when a scope claim has an invalid type; ``[]`` when there is none.
    """
    if "scope" in claims:
        scope = claims["scope"]
        return scope.split() if isinstance(scope, str) else None
    if "scp" in claims:
        scp = claims["scp"]
        if isinstance(scp, str):
            return scp.split()
        if isinstance(scp, list) and all(isinstance(s, str) for s in scp):
            return list(scp)
        return None
    return []


def extract_client_id(claims: Mapping[str, Any]) -> str | None:
    """``client_id`` (RFC 9068), else ``azp`` (OIDC), else ``cid`` (Okta)."""
    for name in ("client_id", "azp", "cid"):
        value = claims.get(name)
        if isinstance(value, str) and value:
            return value
    return None


class _Registry(JWSRegistry):
    """A JWS registry that enforces the allowlist without joserfc's per-call warnings.

    joserfc warns on every use of ``EdDSA`` (superseded by ``Ed25519`` in RFC 9864); the
    allowlist was chosen at construction, so the warning would only flood the logs.
    """

    def get_alg(self, name: str) -> JWSAlgModel:
        if name not in self.algorithms or not self.allowed or name not in self.allowed:
            raise UnsupportedAlgorithmError(f"Algorithm of '{name}' is not allowed")
        return self.algorithms[name]


class _JWTCore:
    """The JWT checks, shared by :class:`JWTVerifier` and the Clerk verifier."""

    def __init__(
        self,
        *,
        issuer: str | None,
        audience: str | Sequence[str] | None,
        jwks_uri: str | None,
        keys: KeysInput | None,
        algorithms: Sequence[str],
        leeway: int,
        typ: str | None,
        jwks_cache_ttl: float,
        jwks_min_refetch_interval: float,
        timeout: float,
        clock: Callable[[], float],
        jwks_headers: Mapping[str, str] | None = None,
        cache_ttl: float = 300.0,
        max_cache_entries: int = 4096,
        jwks_max_stale: float = 86400.0,
    ) -> None:
        if (jwks_uri is None) == (keys is None):
            raise ValueError("give exactly one of jwks_uri or keys")
        if leeway < 0:
            raise ValueError("leeway must not be negative")
        if cache_ttl < 0:
            raise ValueError("cache_ttl must not be negative")
        self.issuer = issuer
        if audience is None:
            self.audiences: tuple[str, ...] | None = None
        else:
            self.audiences = (audience,) if isinstance(audience, str) else tuple(audience)
            if not self.audiences or not all(isinstance(a, str) and a for a in self.audiences):
                raise ValueError("audience must be a non-empty string or a list of them")
        self.algorithms = check_algorithms(algorithms)
        self.leeway = leeway
        self.typ = _media_type(typ) if typ else None
        self.clock = clock
        self.registry = _Registry(algorithms=list(self.algorithms), strict_check_header=False)
        self.keys = JWKSCache(
            jwks_uri=jwks_uri,
            static_keys=load_keys(keys) if keys is not None else None,
            ttl=jwks_cache_ttl,
            min_refetch_interval=jwks_min_refetch_interval,
            timeout=timeout,
            headers=dict(jwks_headers or {}),
            clock=clock,
            max_stale=jwks_max_stale,
        )
        self.cache_ttl = cache_ttl
        self.cache = TokenCache(max_cache_entries, clock)

    def _candidates(self, keys: list[Key], header: _Header) -> list[Key]:
        kty, curves = _ALGORITHM_KEYS[header.alg]
        out = []
        for key in keys:
            if key.key_type != kty:
                continue
            # A key without a kid (e.g. configured from PEM) stands for any kid.
            if header.kid is not None and key.kid is not None and key.kid != header.kid:
                continue
            if key.alg is not None and key.alg != header.alg:
                continue
            if curves is not None and key.get("crv") not in curves:
                continue
            out.append(key)
        return out

    def cached(self, token: str) -> AccessToken | None:
        """The cached result for ``token`` when the key set is fresh (no fetch), else ``None``."""
        if self.cache_ttl <= 0:
            return None
        keys = self.keys.fresh()
        return None if keys is None else self.cache.get(token, tag=keys)

    def verify_flow(self, token: str) -> Flow[AccessToken | None]:
        keys = yield from self.keys.current()
        if self.cache_ttl > 0:
            # A token verified earlier with this very key set (the list object is replaced
            # whenever the JWKS is refetched) is answered from the cache until its exp.
            cached = self.cache.get(token, tag=keys)
            if cached is not None:
                return cached
        header = _parse_header(token)
        if header is None or header.alg not in self.algorithms:
            return None
        if self.typ is not None and (header.typ is None or _media_type(header.typ) != self.typ):
            return None
        candidates = self._candidates(keys, header)
        if not candidates:
            refreshed = yield from self.keys.refetch_for_unknown_key()
            if refreshed is None:
                return None
            keys = refreshed
            candidates = self._candidates(refreshed, header)
        claims: dict[str, Any] | None = None
        for key in candidates[:4]:
            try:
                decoded = jose_jwt.decode(token, key, algorithms=[header.alg], registry=self.registry)
            except (JoseError, ValueError, TypeError, KeyError):
                continue
            claims = dict(decoded.claims)
            break
        if claims is None:
            return None
        access = self.access_token(token, claims)
        if access is not None and self.cache_ttl > 0 and access.expires_at is not None:
            # Only successes are cached, never past exp (plus the leeway the check allows)
            # nor longer than cache_ttl.
            until = min(float(access.expires_at) + self.leeway, self.clock() + self.cache_ttl)
            self.cache.put(token, access, until, tag=keys)
        return access

    def access_token(self, token: str, claims: dict[str, Any]) -> AccessToken | None:
        """Check the claims of a signature-verified token; ``None`` if unacceptable."""
        now = self.clock()
        iss = claims.get("iss")
        if self.issuer is not None and iss != self.issuer:
            return None
        if iss is not None and not isinstance(iss, str):
            return None
        exp = claims.get("exp")
        if not is_number(exp) or exp <= now - self.leeway:
            return None
        for name in ("nbf", "iat"):
            if name in claims:
                value = claims[name]
                if not is_number(value) or value > now + self.leeway:
                    return None
        resource: str | None = None
        aud = claims.get("aud")
        if aud is not None:
            if isinstance(aud, str):
                token_audiences = [aud]
            elif isinstance(aud, list) and all(isinstance(a, str) for a in aud):
                token_audiences = aud
            else:
                return None
        else:
            token_audiences = []
        if self.audiences is not None:
            matched = [a for a in self.audiences if a in token_audiences]
            if not matched:
                return None
            resource = matched[0]
        sub = claims.get("sub")
        if sub is not None and not isinstance(sub, str):
            return None
        scopes = extract_scopes(claims)
        client_id = extract_client_id(claims)
        if scopes is None or client_id is None:
            return None
        return AccessToken(
            token=token,
            client_id=client_id,
            scopes=scopes,
            expires_at=int(exp),
            resource=resource,
            subject=sub,
            claims=claims,
        )


class JWTVerifier(McpTokenVerifier):
    """Verify JWT access tokens locally against a JWKS (RFC 7519 / RFC 9068).

    Args:
        issuer: the exact ``iss`` value expected (no trailing-slash normalisation).
        audience: this resource's identifier(s); ``aud`` must contain one of them. The
            first configured audience found in the token becomes ``AccessToken.resource``.
        jwks_uri: URL of the authorization server's JWKS (``jwks_uri`` in its metadata).
        keys: fixed verification keys instead of ``jwks_uri``: a joserfc ``KeySet`` or key,
            a JWK or JWKS dict, or a PEM public key / certificate.
        algorithms: allowed JWS algorithms. ``none`` and ``HS*`` raise ``ValueError``.
        leeway: seconds of clock skew tolerated for ``exp``, ``nbf`` and ``iat``.
        typ: when set (e.g. ``"at+jwt"``), the header ``typ`` must match it; the
            ``application/`` prefix is optional on either side.
        jwks_cache_ttl: seconds a fetched JWKS is used before it is refreshed.
        jwks_min_refetch_interval: minimum seconds between two JWKS fetches triggered by
            unknown ``kid`` values or by refresh attempts (protects the JWKS endpoint).
        timeout: seconds for each JWKS request.
        clock: returns the current Unix time; injectable for tests.
        session, http_client: optional ``requests.Session`` / ``httpx2.AsyncClient``.
        cache_ttl: seconds a successfully verified token is answered from memory without
            checking its signature again (0 disables). An entry never outlives the token's
            ``exp``, is dropped as soon as the key set is refetched, and is keyed by the
            SHA-256 digest of the token; refused tokens are never cached.
        max_cache_entries: bound on cached tokens (least recently used evicted).
        jwks_max_stale: while the JWKS endpoint is down, cached keys keep verifying tokens for at
            most this many seconds past their refresh time (default one day); then
            :class:`TokenVerificationUnavailable` until the endpoint answers again.

    Raises :class:`TokenVerificationUnavailable` when keys are needed and the JWKS endpoint
    cannot deliver them. Once keys are cached, an outage does not stop verification with
    the cached keys.
    """

    def __init__(
        self,
        *,
        issuer: str,
        audience: str | Sequence[str],
        jwks_uri: str | None = None,
        keys: KeysInput | None = None,
        algorithms: Sequence[str] = DEFAULT_ALGORITHMS,
        leeway: int = 30,
        typ: str | None = None,
        jwks_cache_ttl: float = 300.0,
        jwks_min_refetch_interval: float = 30.0,
        timeout: float = 5.0,
        clock: Callable[[], float] = time.time,
        session: Any = None,
        http_client: Any = None,
        cache_ttl: float = 300.0,
        max_cache_entries: int = 4096,
        jwks_max_stale: float = 86400.0,
    ) -> None:
        super().__init__(session=session, http_client=http_client)
        if not isinstance(issuer, str) or not issuer:
            raise ValueError("issuer is required")
        self.leeway = leeway
        self._core = _JWTCore(
            issuer=issuer,
            audience=audience,
            jwks_uri=jwks_uri,
            keys=keys,
            algorithms=algorithms,
            leeway=leeway,
            typ=typ,
            jwks_cache_ttl=jwks_cache_ttl,
            jwks_min_refetch_interval=jwks_min_refetch_interval,
            timeout=timeout,
            clock=clock,
            cache_ttl=cache_ttl,
            max_cache_entries=max_cache_entries,
            jwks_max_stale=jwks_max_stale,
        )

    @property
    def issuer(self) -> str:
        assert self._core.issuer is not None
        return self._core.issuer

    @property
    def audiences(self) -> tuple[str, ...]:
        assert self._core.audiences is not None
        return self._core.audiences

    @property
    def algorithms(self) -> tuple[str, ...]:
        return self._core.algorithms

    @property
    def cache(self) -> TokenCache:
        """The cache of verified tokens (see ``cache_ttl``)."""
        return self._core.cache

    @property
    def jwks_fetch_count(self) -> int:
        """How many JWKS fetches were attempted (for monitoring and tests)."""
        return self._core.keys.fetch_count

    def cached_token(self, token: str) -> AccessToken | None:
        return self._core.cached(token)

    def _verify_flow(self, token: str) -> Flow[AccessToken | None]:
        return self._core.verify_flow(token)
