"""Thread-safe in-memory storage for clients, grants, codes and tokens.

Everything lives in dictionaries guarded by one lock, so the threaded WSGI server can
serve requests concurrently. Codes and tokens are indexed by their SHA-256 digest, never
by their value. The two one-time credentials are *claimed* atomically:

* an authorization code can be redeemed once (RFC 6749 §4.1.2); a second attempt revokes
  the grant and with it every token issued from the code;
* a refresh token is rotated on use (OAuth 2.1 §4.3.1); presenting a rotated token again
  is treated as theft and revokes the grant, including the newest refresh token.

State is lost when the process ends: this store exists for development only.
"""

from __future__ import annotations

import secrets
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from .models import (
    AccessTokenRecord,
    AuthorizationCode,
    Client,
    Grant,
    RefreshTokenRecord,
    digest,
)

__all__ = ["Claim", "MemoryStore"]

_SWEEP_EVERY = 256


@dataclass(frozen=True)
class Claim:
    """Outcome of claiming a one-time credential: the record, or whether it was replayed."""

    record: AuthorizationCode | RefreshTokenRecord | None
    replayed: bool = False


class MemoryStore:
    """All server state, guarded by one re-entrant lock."""

    def __init__(self) -> None:
        self._lock = threading.RLock()
        self._clients: dict[str, Client] = {}
        self._codes: dict[str, AuthorizationCode] = {}
        self._access: dict[str, AccessTokenRecord] = {}
        self._refresh: dict[str, RefreshTokenRecord] = {}
        self._writes = 0

    # -- clients ---------------------------------------------------------------------------
    def add_client(self, client: Client) -> None:
        with self._lock:
            self._clients[client.client_id] = client

    def get_client(self, client_id: str) -> Client | None:
        with self._lock:
            return self._clients.get(client_id)

    # -- grants ----------------------------------------------------------------------------
    def new_grant(self, *, client_id: str, sub: str, scope: str, resources: tuple[str, ...]) -> Grant:
        return Grant(
            grant_id=secrets.token_urlsafe(16),
            client_id=client_id,
            sub=sub,
            scope=scope,
            resources=resources,
        )

    def revoke_grant(self, grant: Grant) -> None:
        """Revoke a grant: every code and token that points at it becomes inactive."""
        with self._lock:
            grant.revoked = True

    # -- authorization codes ---------------------------------------------------------------
    def save_code(self, record: AuthorizationCode) -> None:
        with self._lock:
            self._codes[record.code_digest] = record
            self._after_write()

    def claim_code(
        self, code: str, client_id: str, check: Callable[[AuthorizationCode], None] | None = None
    ) -> Claim:
        """Redeem ``code`` for ``client_id`` exactly once.

        A code issued to another client is reported as unknown (and not consumed); a code
        redeemed before is reported as replayed and its grant revoked. ``check`` runs under
        the lock before the code is consumed: if it raises, the code stays usable.
        """
        with self._lock:
            record = self._codes.get(digest(code))
            if record is None or record.client_id != client_id:
                return Claim(None)
            if record.used:
                self.revoke_grant(record.grant)
                return Claim(None, replayed=True)
            if record.is_expired() or record.grant.revoked:
                return Claim(None)
            if check is not None:
                check(record)
            record.used = True
            return Claim(record)

    # -- tokens ----------------------------------------------------------------------------
    def save_access_token(self, token: str, record: AccessTokenRecord) -> None:
        with self._lock:
            self._access[digest(token)] = record
            self._after_write()

    def save_refresh_token(self, token: str, record: RefreshTokenRecord) -> None:
        with self._lock:
            self._refresh[digest(token)] = record
            self._after_write()

    def find_access_token(self, token: str) -> AccessTokenRecord | None:
        with self._lock:
            return self._access.get(digest(token))

    def find_refresh_token(self, token: str) -> RefreshTokenRecord | None:
        with self._lock:
            return self._refresh.get(digest(token))

    def claim_refresh_token(
        self, token: str, client_id: str, check: Callable[[RefreshTokenRecord], None] | None = None
    ) -> Claim:
        """Use ``token`` once for ``client_id`` (rotation); a second use revokes the grant.

        ``check`` runs under the lock before the token is consumed, as for codes.
        """
        with self._lock:
            record = self._refresh.get(digest(token))
            if record is None or record.client_id != client_id:
                return Claim(None)
            if record.used:
                self.revoke_grant(record.grant)
                return Claim(None, replayed=True)
            if not record.active:
                return Claim(None)
            if check is not None:
                check(record)
            record.used = True
            return Claim(record)

    def revoke_access_token(self, record: AccessTokenRecord) -> None:
        with self._lock:
            record.revoked = True

    # -- housekeeping ----------------------------------------------------------------------
    def _after_write(self) -> None:
        self._writes += 1
        if self._writes % _SWEEP_EVERY == 0:
            self.sweep()

    def sweep(self, *, grace: float = 3600.0) -> None:
        """Forget codes and tokens that expired more than ``grace`` seconds ago.

        Used codes and rotated refresh tokens are kept until then, so that a replay within
        the grace period is still recognised and revokes the grant.
        """
        horizon = time.time() - grace
        with self._lock:
            self._codes = {k: v for k, v in self._codes.items() if v.expires_at > horizon}
            self._access = {k: v for k, v in self._access.items() if v.expires_at > horizon}
            self._refresh = {k: v for k, v in self._refresh.items() if v.expires_at > horizon}
