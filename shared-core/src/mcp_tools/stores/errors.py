"""Exceptions raised by the stores.

Every store error derives from :class:`StoreError`, so an application can catch one type.
Invalid arguments (a value that is not JSON, a negative TTL, a malformed table name) raise the
built-in :class:`ValueError` or :class:`TypeError` instead, because they are programming errors
rather than conditions of the storage.
"""

from __future__ import annotations

__all__ = [
    "StoreClosed",
    "StoreCorrupted",
    "StoreDecryptionError",
    "StoreError",
    "StoreLockTimeout",
    "StoreUnavailable",
]


class StoreError(Exception):
    """Base class of every error a store raises about its storage."""


class StoreUnavailable(StoreError):
    """The storage server cannot be reached (or stopped answering) within the configured timeout.

    The message names the server (``host:port``) and the timeout. It is raised within that timeout;
    a store never waits for a down server indefinitely.
    """


class StoreCorrupted(StoreError):
    """Stored data cannot be parsed.

    For the fs store, ``path`` names the file. The store never rewrites data it could not parse:
    the file is left exactly as it was found so that it can be inspected and repaired.
    """

    def __init__(self, message: str, *, path: str | None = None, key: str | None = None) -> None:
        super().__init__(message)
        self.path = path
        self.key = key


class StoreDecryptionError(StoreError):
    """A value could not be decrypted with any configured key, or was not encrypted at all.

    Raised instead of returning ``None`` so that a missing or rotated-out key is noticed at once.
    """

    def __init__(self, message: str, *, key: str) -> None:
        super().__init__(message)
        self.key = key


class StoreClosed(StoreError):
    """The store was used after :meth:`close`."""


class StoreLockTimeout(StoreError):
    """A :meth:`~mcp_tools.stores.BaseStore.lock` was not acquired within its timeout.

    Another request (possibly in another process) holds the lock; retry later, or raise the
    timeout if the protected work legitimately takes longer.
    """
