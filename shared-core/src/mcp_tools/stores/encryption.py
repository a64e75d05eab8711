"""Encryption at rest for any store.

:class:`EncryptedStore` wraps another store and encrypts every value with Fernet (AES-128-CBC plus
HMAC-SHA256, from the ``cryptography`` package) before it reaches the backend. Several keys may
be given: the first encrypts, all of them decrypt (``MultiFernet``), which is how keys are
rotated. Key *names* stay readable so ``keys()``, prefixes, TTLs and ``cleanup`` keep working.

The ciphertext is stored as an ordinary JSON object inside the usual record wrapper, so the
on-disk layout of every backend is unchanged::

    {"__mcp_tools_encrypted__": 1, "alg": "fernet", "ciphertext": "gAAAAAB..."}

The encrypted plaintext also carries the key name, and decryption checks it, so a ciphertext
copied from one key to another (say from one user's session to another's) is refused.

Safe by default: the adapters derive the keys from the framework's secret
(:func:`derive_encryption_keys`: Django's ``SECRET_KEY`` and ``SECRET_KEY_FALLBACKS``, Flask's
``SECRET_KEY``), and a persistent store created without ``encryption_keys`` logs a warning
(``encryption_keys=[]`` keeps values in clear on purpose, silently).
"""

from __future__ import annotations

import base64
import contextlib
import json
import logging
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Final, TypeAlias

from .base import BaseStore, JsonValue, Store, StoreStats
from .errors import StoreDecryptionError

if TYPE_CHECKING:
    from cryptography.fernet import MultiFernet

__all__ = [
    "EncryptedStore",
    "EncryptionKey",
    "derive_encryption_keys",
    "generate_encryption_key",
    "maybe_encrypt",
]

logger = logging.getLogger("mcp_tools.stores")

#: A Fernet key: 32 random bytes, URL-safe base64 encoded (44 characters), as str or bytes.
EncryptionKey: TypeAlias = str | bytes

MARKER: Final = "__mcp_tools_encrypted__"
ALGORITHM: Final = "fernet"


def _require_cryptography() -> None:
    try:
        import cryptography.fernet  # noqa: F401
    except ImportError as exc:  # pragma: no cover - depends on the installation
        raise ImportError(
            "encryption at rest needs the 'cryptography' package: pip install 'mcp-tools-core[crypto]'"
        ) from exc


def generate_encryption_key() -> str:
    """Return a new random Fernet key (URL-safe base64 text) for ``encryption_keys``."""
    _require_cryptography()
    from cryptography.fernet import Fernet

    return Fernet.generate_key().decode("ascii")


def derive_encryption_keys(secret: str | bytes | None, fallbacks: Sequence[str | bytes] = ()) -> list[str]:
    """Fernet keys derived from an application secret and its fallbacks (HKDF-SHA256, RFC 5869).

    The first key (from ``secret``) encrypts, every key decrypts: rotating the framework's secret
    the framework's way (the old one moved to ``SECRET_KEY_FALLBACKS``) rotates the store's key
    too. Empty secrets are skipped; ``[]`` when there is none. The derivation has its own
    ``info`` label, so the store key is not the secret itself nor any other key derived from it.
    """
    _require_cryptography()
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.kdf.hkdf import HKDF

    keys = []
    for value in (secret, *fallbacks):
        if not value:
            continue
        material = value.encode("utf-8") if isinstance(value, str) else bytes(value)
        hkdf = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=b"mcp-tools store encryption v1")
        keys.append(base64.urlsafe_b64encode(hkdf.derive(material)).decode("ascii"))
    return keys


def is_envelope(value: JsonValue) -> bool:
    """Whether ``value`` is an encrypted envelope written by :class:`EncryptedStore`."""
    return (
        isinstance(value, dict)
        and value.get(MARKER) == 1
        and isinstance(value.get("alg"), str)
        and isinstance(value.get("ciphertext"), str)
    )


class EncryptedStore(BaseStore):
    """Encrypt values of an inner store with Fernet; several keys allow rotation.

    ``keys[0]`` encrypts every new write; every key in ``keys`` is tried when reading, so to rotate
    put the new key first and keep the old ones until their entries are rewritten or expire. A
    value no key can decrypt raises :class:`StoreDecryptionError`, never reads as ``None``. So does
    a value that is not encrypted at all, unless ``allow_plaintext=True`` (for migrating a store
    that already holds plaintext entries: they are returned as they are and encrypted on their
    next write).
    """

    backend = "encrypted"

    def __init__(self, inner: Store, keys: Sequence[EncryptionKey], *, allow_plaintext: bool = False) -> None:
        super().__init__()
        if isinstance(keys, str | bytes):
            raise TypeError("keys must be a list of Fernet keys, not a single key")
        if not keys:
            raise ValueError("EncryptedStore needs at least one key")
        _require_cryptography()
        from cryptography.fernet import Fernet, MultiFernet

        fernets = []
        for index, key in enumerate(keys):
            try:
                fernets.append(Fernet(key))
            except (TypeError, ValueError):
                raise ValueError(
                    f"encryption key #{index} is not a Fernet key (32 bytes, URL-safe base64); "
                    "create one with mcp_tools.stores.generate_encryption_key()"
                ) from None
        self.inner = inner
        self.allow_plaintext = allow_plaintext
        self._fernet: MultiFernet = MultiFernet(fernets)
        self._key_count = len(fernets)

    def _encrypt(self, key: str, value_json: str) -> JsonValue:
        plaintext = '{"k":' + json.dumps(key, ensure_ascii=False) + ',"v":' + value_json + "}"
        token = self._fernet.encrypt(plaintext.encode("utf-8")).decode("ascii")
        return {MARKER: 1, "alg": ALGORITHM, "ciphertext": token}

    def _decrypt(self, key: str, stored: JsonValue) -> JsonValue:
        from cryptography.fernet import InvalidToken

        if stored is None:  # missing (or a plaintext null, which hides nothing)
            return None
        if not is_envelope(stored):
            if self.allow_plaintext:
                return stored
            raise StoreDecryptionError(
                f"value of key {key!r} is not encrypted; refusing it (pass allow_plaintext=True "
                "to read entries written before encryption was turned on)",
                key=key,
            )
        assert isinstance(stored, dict)
        if stored["alg"] != ALGORITHM:
            raise StoreDecryptionError(
                f"value of key {key!r} uses unsupported algorithm {stored['alg']!r}", key=key
            )
        token = stored["ciphertext"]
        assert isinstance(token, str)
        try:
            plaintext = self._fernet.decrypt(token.encode("ascii"))
        except (InvalidToken, UnicodeEncodeError):
            raise StoreDecryptionError(
                f"cannot decrypt value of key {key!r}: none of the {self._key_count} configured "
                "encryption key(s) matches (was it written with a key that has since been removed?) "
                "or the ciphertext was altered",
                key=key,
            ) from None
        record = json.loads(plaintext)
        if not isinstance(record, dict) or record.get("k") != key:
            raise StoreDecryptionError(
                f"value stored under key {key!r} was encrypted for a different key; refusing it",
                key=key,
            )
        return record.get("v")

    def _read(self, key: str) -> JsonValue:
        return self._decrypt(key, self.inner.read(key))

    def _write(self, key: str, value_json: str, ttl: float | None) -> None:
        self.inner.write(key, self._encrypt(key, value_json), ttl)

    def _delete(self, key: str) -> bool:
        return self.inner.delete(key)

    def _exists(self, key: str) -> bool:
        return self.inner.exists(key)

    def _keys(self, prefix: str) -> list[str]:
        return self.inner.keys(prefix)

    def _cleanup(self, older_than: float) -> int:
        from datetime import timedelta

        return self.inner.cleanup(timedelta(seconds=older_than))

    def _stats(self) -> StoreStats:
        stats = dict(self.inner.stats())
        stats["encrypted"] = True
        stats["encryption_keys"] = self._key_count
        return stats

    def _close(self) -> None:
        self.inner.close()

    def _take(self, key: str) -> JsonValue:
        return self._decrypt(key, self.inner.take(key))

    def _update(self, key: str, compute: Callable[[JsonValue], str], ttl: float | None) -> str:
        produced: list[str] = []

        def encrypted(stored: JsonValue) -> JsonValue:
            text = compute(self._decrypt(key, stored))
            produced.append(text)
            return self._encrypt(key, text)

        # The inner store's update supplies the atomicity; only plaintext is exchanged with ``compute``.
        self.inner.update(key, encrypted, ttl)
        return produced[-1]

    def _lock(self, name: str, timeout: float, lease: float) -> contextlib.AbstractContextManager[None]:
        return self.inner.lock(name, timeout, lease)


def maybe_encrypt(
    store: BaseStore, keys: Sequence[EncryptionKey] | None, *, allow_plaintext: bool = False
) -> BaseStore:
    """Wrap ``store`` in :class:`EncryptedStore` when ``keys`` is non-empty, else return it.

    ``keys=None`` for a persistent backend logs a warning: access tokens, refresh tokens and client
    secrets would be written in clear (``keys=[]``: in clear on purpose, no warning).
    """
    if keys is None and store.backend != "memory":
        logger.warning(
            "the %s store keeps access tokens, refresh tokens and client secrets in clear: pass "
            "encryption_keys=[...] (or let the Django/Flask adapter derive them from SECRET_KEY), "
            "or encryption_keys=[] to keep them in clear on purpose",
            store.backend,
        )
    if not keys:
        return store
    return EncryptedStore(store, keys, allow_plaintext=allow_plaintext)
