"""The signing key and its JWK Set (RFC 7517), published at the ``jwks_uri``.

A fresh 2048-bit RSA key is generated per server instance unless one is given, so tokens
from a previous run never verify. The ``kid`` is the key's RFC 7638 thumbprint; the JWKS
only ever contains the public half.
"""

from __future__ import annotations

from typing import Any

from joserfc.jwk import KeySet, RSAKey

__all__ = ["SigningKey"]


class SigningKey:
    """An RS256 signing key: the private :class:`~joserfc.jwk.KeySet` and the public JWKS."""

    algorithm = "RS256"

    def __init__(self, key: RSAKey | str | bytes | None = None) -> None:
        if key is None:
            rsa = RSAKey.generate_key(2048, parameters={"use": "sig", "alg": self.algorithm})
        elif isinstance(key, RSAKey):
            rsa = key
        else:
            rsa = RSAKey.import_key(key, parameters={"use": "sig", "alg": self.algorithm})
        if not rsa.is_private:
            raise ValueError("the signing key must be an RSA private key")
        rsa.ensure_kid()
        self._key = rsa
        self._keyset = KeySet([rsa])

    @property
    def kid(self) -> str:
        kid = self._key.kid
        assert kid is not None
        return kid

    @property
    def private_keyset(self) -> KeySet:
        """The key set used to sign (joserfc writes the ``kid`` into the JWS header)."""
        return self._keyset

    def public_jwks(self) -> dict[str, Any]:
        """The public JWK Set document."""
        public: dict[str, Any] = dict(self._key.as_dict(private=False))
        public.setdefault("use", "sig")
        public.setdefault("alg", self.algorithm)
        return {"keys": [public]}
