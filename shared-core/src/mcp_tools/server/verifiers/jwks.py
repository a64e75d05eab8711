"""JSON Web Key Sets for JWT verification (RFC 7517): loading keys, and the JWKS cache.

:func:`load_keys` turns any accepted ``keys=`` input (a joserfc ``KeySet`` or key, a JWK or
JWKS dict, a PEM public key or certificate) into public signature keys; :func:`parse_jwks`
reads a JWKS document, skipping symmetric, encryption and malformed keys. :class:`JWKSCache`
fetches a ``jwks_uri`` through the outbound flow (the sync and async drivers share it), keeps
the keys for a TTL, refetches at most once per interval for an unknown ``kid``, and keeps
serving stale keys through an outage for a bounded time. Used by
:class:`~mcp_tools.server.verifiers.jwt.JWTVerifier` and the Clerk verifier.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Mapping
from typing import Any

from joserfc.errors import JoseError
from joserfc.jwk import ECKey, JWKRegistry, Key, KeySet, OKPKey, RSAKey

from mcp_tools._outbound import Flow, OutboundRequest

from .base import TokenVerificationUnavailable, fetch_flow

__all__ = ["JWKSCache", "KeysInput", "load_keys", "parse_jwks"]

logger = logging.getLogger("mcp_tools.server.verifiers")

#: What ``keys=`` accepts: a joserfc ``KeySet`` or key, a JWK or JWKS dict, or a PEM public key.
KeysInput = KeySet | Key | Mapping[str, Any] | str | bytes

#: Keys for which a JWS algorithm can be checked (never an HMAC "oct" key).
_ASYMMETRIC = (RSAKey, ECKey, OKPKey)


def _import_pem(data: str | bytes) -> Key:
    from cryptography import x509
    from cryptography.hazmat.primitives.asymmetric import ec, ed448, ed25519, rsa
    from cryptography.hazmat.primitives.serialization import load_pem_public_key

    raw = data.encode("ascii") if isinstance(data, str) else data
    if b"CERTIFICATE" in raw:
        public: Any = x509.load_pem_x509_certificate(raw).public_key()
    else:
        public = load_pem_public_key(raw)
    if isinstance(public, rsa.RSAPublicKey):
        return RSAKey.import_key(public)
    if isinstance(public, ec.EllipticCurvePublicKey):
        return ECKey.import_key(public)
    if isinstance(public, ed25519.Ed25519PublicKey | ed448.Ed448PublicKey):
        return OKPKey.import_key(public)
    raise ValueError("unsupported PEM public key type")


def _usable(key: Key) -> bool:
    if not isinstance(key, _ASYMMETRIC):
        return False
    use = key.get("use")
    return use in (None, "sig")


def load_keys(keys: KeysInput) -> list[Key]:
    """Turn any accepted key input into a list of public signature keys."""
    out: list[Key]
    if isinstance(keys, KeySet):
        out = list(keys)
    elif isinstance(keys, str | bytes):
        out = [_import_pem(keys)]
    elif isinstance(keys, Mapping):
        out = parse_jwks(keys) if "keys" in keys else [JWKRegistry.import_key(dict(keys))]
    else:
        out = [keys]
    usable = [k for k in out if _usable(k)]
    if not usable:
        raise ValueError("no asymmetric signature key found (HMAC 'oct' keys are not accepted)")
    return usable


def parse_jwks(document: Any) -> list[Key]:
    """Parse a JWKS document, skipping keys that are malformed, symmetric or for encryption."""
    if not isinstance(document, Mapping) or not isinstance(document.get("keys"), list):
        raise ValueError("not a JWKS document")
    out: list[Key] = []
    for entry in document["keys"]:
        if not isinstance(entry, dict) or entry.get("kty") == "oct":
            continue
        try:
            key = JWKRegistry.import_key(entry)
        except (JoseError, ValueError, TypeError, KeyError):
            continue
        if _usable(key):
            out.append(key)
    return out


class JWKSCache:
    """Signature keys, fetched from a JWKS URI and refreshed; safe to share across threads.

    The lock guards state only; it is never held during network I/O, so the async driver
    never blocks the event loop on another thread's fetch.
    """

    def __init__(
        self,
        *,
        jwks_uri: str | None,
        static_keys: list[Key] | None,
        ttl: float,
        min_refetch_interval: float,
        timeout: float,
        headers: Mapping[str, str],
        clock: Callable[[], float],
        max_stale: float = 86400.0,
    ) -> None:
        self.jwks_uri = jwks_uri
        self._max_stale = max_stale
        self._static = static_keys
        self._ttl = ttl
        self._min_interval = min_refetch_interval
        self._timeout = timeout
        self._headers = {"Accept": "application/json", **headers}
        self._clock = clock
        self._lock = threading.Lock()
        self._keys: list[Key] | None = None
        self._fetched_at = 0.0
        self._last_attempt: float | None = None
        self._last_failure: float | None = None
        self.fetch_count = 0

    def _fetch(self) -> Flow[list[Key]]:
        assert self.jwks_uri is not None
        with self._lock:
            self._last_attempt = self._clock()
            self.fetch_count += 1
        try:
            response = yield from fetch_flow(
                OutboundRequest("GET", self.jwks_uri, headers=self._headers, timeout=self._timeout)
            )
            if response.status != 200:
                raise TokenVerificationUnavailable(
                    f"JWKS endpoint {self.jwks_uri} answered HTTP {response.status}"
                )
            try:
                keys = parse_jwks(response.json())
            except ValueError:
                raise TokenVerificationUnavailable(
                    f"JWKS endpoint {self.jwks_uri} returned no valid JWKS document"
                ) from None
        except TokenVerificationUnavailable:
            with self._lock:
                self._last_failure = self._clock()
            raise
        with self._lock:
            self._keys = keys
            self._fetched_at = self._clock()
            self._last_failure = None
        return keys

    def fresh(self) -> list[Key] | None:
        """The keys when usable right now without any fetch (static, or within the TTL)."""
        if self._static is not None:
            return self._static
        with self._lock:
            keys, fetched_at = self._keys, self._fetched_at
        if keys is not None and self._clock() - fetched_at < self._ttl:
            return keys
        return None

    def current(self) -> Flow[list[Key]]:
        """The keys to use now: cached if fresh, else refetched (stale keys survive an outage)."""
        if self._static is not None:
            return self._static
        now = self._clock()
        with self._lock:
            keys, fetched_at = self._keys, self._fetched_at
            last_attempt, last_failure = self._last_attempt, self._last_failure
        if keys is not None and now - fetched_at < self._ttl:
            return keys
        if keys is not None:
            # Expired: refresh, but never more often than the rate limit, and keep serving
            # the stale keys while the endpoint is down, for at most max_stale seconds.
            too_old = now - fetched_at >= self._ttl + self._max_stale
            if last_attempt is not None and now - last_attempt < self._min_interval and not too_old:
                return keys
            try:
                return (yield from self._fetch())
            except TokenVerificationUnavailable as exc:
                if too_old:
                    raise TokenVerificationUnavailable(
                        f"JWKS endpoint {self.jwks_uri} is unavailable and the cached keys are older "
                        f"than the allowed {self._max_stale:g} s past their refresh time"
                    ) from exc
                logger.warning("JWKS refresh failed, using cached keys: %s", exc)
                return keys
        if last_failure is not None and now - last_failure < self._min_interval:
            raise TokenVerificationUnavailable(f"JWKS endpoint {self.jwks_uri} is unavailable")
        return (yield from self._fetch())

    def refetch_for_unknown_key(self) -> Flow[list[Key] | None]:
        """Refetch once because a token names a key we do not have; ``None`` if rate-limited."""
        if self._static is not None or self.jwks_uri is None:
            return None
        now = self._clock()
        with self._lock:
            last_attempt, last_failure = self._last_attempt, self._last_failure
        if last_attempt is not None and now - last_attempt < self._min_interval:
            if last_failure is not None and last_failure >= last_attempt:
                # The endpoint just failed: this key may well exist, we cannot tell.
                raise TokenVerificationUnavailable(f"JWKS endpoint {self.jwks_uri} is unavailable")
            return None
        return (yield from self._fetch())
