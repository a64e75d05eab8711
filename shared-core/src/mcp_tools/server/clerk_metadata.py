"""OAuth 2.0 Authorization Server Metadata (RFC 8414) and Protected Resource Metadata (RFC 9728) for Clerk.

Clerk is the authorization server; its Frontend API (FAPI) host is encoded in the
application's publishable key and serves ``/.well-known/oauth-authorization-server``. This
module

* decodes the publishable key into the Frontend API URL (:func:`derive_clerk_frontend_api_url`),
  rejecting anything that is not a Clerk publishable key with :class:`InvalidPublishableKeyError`;
* builds the protected resource document of ``@clerk/mcp-tools``
  (:func:`generate_clerk_protected_resource_metadata`);
* fetches Clerk's authorization server metadata with a status check, a timeout and a
  time-limited in-process cache, once for synchronous and asynchronous callers
  (:func:`fetch_clerk_authorization_server_metadata` / :func:`afetch_clerk_authorization_server_metadata`).

The Frontend API base URL used for fetching can be replaced with ``frontend_api_url=`` or the
``CLERK_FRONTEND_API_URL`` environment variable (a proxy, or a local server in tests).
"""

from __future__ import annotations

import base64
import binascii
import copy
import os
import re
import threading
import time
from collections.abc import Callable, Mapping
from typing import Any, Final, TypedDict, Unpack
from urllib.parse import urlsplit

from mcp_tools._outbound import Flow, OutboundError, OutboundRequest, run_async, run_sync
from mcp_tools.server.metadata import generate_protected_resource_metadata
from mcp_tools.server.resource import ConfigurationError

__all__ = [
    "CLERK_SERVICE_DOCUMENTATION",
    "ClerkAuthorizationServerMetadata",
    "ClerkFetchOptions",
    "ClerkMetadataError",
    "InvalidPublishableKeyError",
    "MetadataCache",
    "afetch_clerk_authorization_server_metadata",
    "agenerate_clerk_authorization_server_metadata",
    "clerk_authorization_server_metadata_url",
    "default_metadata_cache",
    "derive_clerk_frontend_api_url",
    "fetch_clerk_authorization_server_metadata",
    "generate_clerk_authorization_server_metadata",
    "generate_clerk_protected_resource_metadata",
]

CLERK_SERVICE_DOCUMENTATION: Final = "https://clerk.com/docs"
PUBLISHABLE_KEY_ENV: Final = "CLERK_PUBLISHABLE_KEY"
FRONTEND_API_URL_ENV: Final = "CLERK_FRONTEND_API_URL"
AUTHORIZATION_SERVER_WELL_KNOWN: Final = "/.well-known/oauth-authorization-server"

_PREFIXES: Final = ("pk_test_", "pk_live_")
_BASE64_RE: Final = re.compile(r"[A-Za-z0-9+/_-]+={0,2}")
_LABEL_RE: Final = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?")


class InvalidPublishableKeyError(ConfigurationError):
    """The value given as a Clerk publishable key is not one.

    The message says what is wrong and never repeats the key.
    """


class ClerkMetadataError(Exception):
    """Clerk's authorization server metadata could not be fetched or is unusable.

    ``url`` is the metadata URL; ``status`` the HTTP status when a response arrived.
    """

    def __init__(self, message: str, *, url: str, status: int | None = None) -> None:
        super().__init__(message)
        self.url = url
        self.status = status


def derive_clerk_frontend_api_url(publishable_key: str) -> str:
    """The Clerk Frontend API URL (``https://<host>``) encoded in a publishable key.

    A publishable key is ``pk_test_`` or ``pk_live_`` followed by the base64 (or base64url,
    padding optional) encoding of the Frontend API host name and a final ``$``. The decoded
    bytes are read as Latin-1, as the TypeScript package's ``atob`` does, so every valid key
    gives the same URL in both. Surrounding whitespace is ignored.

    Unlike the TypeScript package, which decoded anything, this raises
    :class:`InvalidPublishableKeyError` for an empty value, a missing or wrong prefix (a
    secret key ``sk_...`` included), invalid base64, a decoded value without the final ``$``,
    and a decoded host that is not a valid DNS name.

    >>> derive_clerk_frontend_api_url("pk_test_ZXhhbXBsZS5jbGVyay5hY2NvdW50cy5kZXYk")
    'https://example.clerk.accounts.dev'
    """
    if not isinstance(publishable_key, str):
        raise InvalidPublishableKeyError(
            f"the Clerk publishable key must be a string, not {type(publishable_key).__name__}"
        )
    key = publishable_key.strip()
    if not key:
        raise InvalidPublishableKeyError(
            "the Clerk publishable key is empty; copy it from the Clerk dashboard (API keys), "
            "it starts with pk_test_ or pk_live_"
        )
    if key.startswith("sk_"):
        raise InvalidPublishableKeyError(
            "a Clerk secret key (sk_...) was given where the publishable key (pk_test_... or pk_live_...) "
            "is expected; keep the secret key out of metadata and pass the publishable key"
        )
    prefix = next((p for p in _PREFIXES if key.startswith(p)), None)
    if prefix is None:
        raise InvalidPublishableKeyError(
            f"the Clerk publishable key must start with pk_test_ or pk_live_; "
            f"the given value ({len(key)} characters) does not"
        )
    encoded = key[len(prefix) :]
    if not encoded:
        raise InvalidPublishableKeyError(f"the Clerk publishable key has nothing after {prefix!r}")
    unpadded = encoded.rstrip("=")
    if (
        not _BASE64_RE.fullmatch(encoded)
        or len(unpadded) % 4 == 1
        or (len(encoded) != len(unpadded) and len(encoded) % 4 != 0)
    ):
        raise InvalidPublishableKeyError(
            f"the part of the Clerk publishable key after {prefix!r} is not valid base64; "
            "the key is truncated or altered"
        )
    standard = unpadded.replace("-", "+").replace("_", "/")
    try:
        decoded = base64.b64decode(standard + "=" * (-len(standard) % 4), validate=True).decode("latin-1")
    except (binascii.Error, ValueError):
        raise InvalidPublishableKeyError(
            f"the part of the Clerk publishable key after {prefix!r} is not valid base64"
        ) from None
    if not decoded.endswith("$"):
        raise InvalidPublishableKeyError(
            "the Clerk publishable key does not decode to '<host>$' (the final '$' is missing); "
            "the key is truncated or altered"
        )
    host = decoded[:-1]
    labels = host.split(".")
    if (
        len(host) > 253
        or len(labels) < 2
        or not all(_LABEL_RE.fullmatch(label) for label in labels)
        or labels[-1].isdigit()
    ):
        shown = host if len(host) <= 80 else host[:80] + "..."
        raise InvalidPublishableKeyError(
            f"the Clerk publishable key decodes to {shown!r}, which is not a valid host name"
        )
    return "https://" + host


def generate_clerk_protected_resource_metadata(
    publishable_key: str,
    resource_url: str,
    properties: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """The protected resource document of ``@clerk/mcp-tools`` for a Clerk application.

    :func:`~mcp_tools.server.metadata.generate_protected_resource_metadata` with the
    authorization server taken from the publishable key
    (:func:`derive_clerk_frontend_api_url`) and ``service_documentation`` set to
    ``https://clerk.com/docs`` before ``properties`` are applied (so it is the tenth key,
    can be overridden, and further keys follow it).
    """
    auth_server_url = derive_clerk_frontend_api_url(publishable_key)
    merged: dict[str, Any] = {"service_documentation": CLERK_SERVICE_DOCUMENTATION}
    if properties is not None:
        merged.update(properties)
    return generate_protected_resource_metadata(auth_server_url, resource_url, merged)


class MetadataCache:
    """A small thread-safe cache of JSON documents with a time limit per entry.

    Keys are URLs. ``clock`` returns seconds (default :func:`time.monotonic`); tests pass a
    fake clock. Values are copied on the way in and out, so callers may change what they get.
    """

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._lock = threading.Lock()
        self._entries: dict[str, tuple[float, dict[str, Any]]] = {}

    def get(self, key: str) -> dict[str, Any] | None:
        """The cached document for ``key``, or ``None`` when absent or expired."""
        with self._lock:
            entry = self._entries.get(key)
            if entry is None:
                return None
            expires_at, value = entry
            if self._clock() >= expires_at:
                del self._entries[key]
                return None
            return copy.deepcopy(value)

    def set(self, key: str, value: Mapping[str, Any], ttl: float) -> None:
        """Keep ``value`` for ``ttl`` seconds; a ``ttl`` of 0 or less stores nothing."""
        if ttl <= 0:
            return
        with self._lock:
            self._entries[key] = (self._clock() + ttl, copy.deepcopy(dict(value)))

    def clear(self) -> None:
        """Forget every entry."""
        with self._lock:
            self._entries.clear()

    def __len__(self) -> int:
        with self._lock:
            return len(self._entries)


default_metadata_cache: Final = MetadataCache()
"""The process-wide cache used when no ``cache=`` is given."""


def clerk_authorization_server_metadata_url(
    publishable_key: str, *, frontend_api_url: str | None = None
) -> str:
    """The URL of Clerk's authorization server metadata for this application.

    ``<frontend API>/.well-known/oauth-authorization-server``. The frontend API is, in order:
    ``frontend_api_url``, the ``CLERK_FRONTEND_API_URL`` environment variable, or the URL
    decoded from ``publishable_key`` (which is validated in every case).
    """
    derived = derive_clerk_frontend_api_url(publishable_key)
    base = frontend_api_url if frontend_api_url is not None else os.environ.get(FRONTEND_API_URL_ENV) or None
    if base is None:
        base = derived
    else:
        parts = urlsplit(base)
        if parts.scheme not in ("http", "https") or not parts.netloc or parts.query or parts.fragment:
            raise ConfigurationError(
                f"the Clerk frontend API URL {base[:200]!r} must be an absolute http(s) URL "
                "without query or fragment"
            )
    return base.rstrip("/") + AUTHORIZATION_SERVER_WELL_KNOWN


def _fetch_flow(url: str, timeout: float, cache_ttl: float, cache: MetadataCache) -> Flow[dict[str, Any]]:
    """Fetch the JSON object at ``url`` and cache it: the sans-I/O core of both shells."""
    try:
        response = yield OutboundRequest("GET", url, headers={"Accept": "application/json"}, timeout=timeout)
    except OutboundError as exc:
        raise ClerkMetadataError(
            f"could not fetch Clerk authorization server metadata from {url}: {exc}", url=url
        ) from exc
    if not 200 <= response.status < 300:
        snippet = response.content[:200].decode("utf-8", "replace")
        raise ClerkMetadataError(
            f"Clerk authorization server metadata request to {url} answered HTTP {response.status}"
            + (f": {snippet}" if snippet else ""),
            url=url,
            status=response.status,
        )
    try:
        document = response.json()
    except ValueError:
        raise ClerkMetadataError(
            f"Clerk authorization server metadata from {url} is not JSON "
            f"(HTTP {response.status}, Content-Type {response.headers.get('content-type', 'missing')!r})",
            url=url,
            status=response.status,
        ) from None
    if not isinstance(document, dict):
        raise ClerkMetadataError(
            f"Clerk authorization server metadata from {url} is JSON but not an object "
            f"(got {type(document).__name__})",
            url=url,
            status=response.status,
        )
    cache.set(url, document, cache_ttl)
    return document


class ClerkFetchOptions(TypedDict, total=False):
    """Options of the Clerk metadata fetchers: ``timeout`` (seconds, default 5), ``cache_ttl``
    (seconds a document is kept, default 300; 0 disables caching), ``frontend_api_url`` (instead
    of the one the key names) and ``cache`` (default :data:`default_metadata_cache`)."""

    timeout: float
    cache_ttl: float
    frontend_api_url: str | None
    cache: MetadataCache | None


def _prepare(
    publishable_key: str, options: ClerkFetchOptions
) -> tuple[Flow[dict[str, Any]] | None, dict[str, Any] | None]:
    """The fetch flow, or (when the cache answers) ``None`` and the cached document."""
    timeout = options.get("timeout", 5.0)
    cache_ttl = options.get("cache_ttl", 300.0)
    cache = options.get("cache")
    if timeout <= 0:
        raise ValueError(f"timeout must be a positive number of seconds, got {timeout!r}")
    if cache_ttl < 0:
        raise ValueError(f"cache_ttl must be zero (no cache) or positive, got {cache_ttl!r}")
    url = clerk_authorization_server_metadata_url(
        publishable_key, frontend_api_url=options.get("frontend_api_url")
    )
    store = cache if cache is not None else default_metadata_cache
    cached = store.get(url) if cache_ttl > 0 else None
    if cached is not None:
        return None, cached
    return _fetch_flow(url, timeout, cache_ttl, store), None


def fetch_clerk_authorization_server_metadata(
    publishable_key: str,
    **options: Unpack[ClerkFetchOptions],
) -> dict[str, Any]:
    """Clerk's RFC 8414 authorization server metadata for this application (blocking).

    GETs :func:`clerk_authorization_server_metadata_url` with ``requests`` and returns the
    JSON object as Clerk sent it. A successful document is kept for ``cache_ttl`` seconds in
    ``cache`` (default: :data:`default_metadata_cache`), so repeated calls within that time
    make no request; ``cache_ttl=0`` disables caching. Raises :class:`ClerkMetadataError`
    for a network failure or timeout (after ``timeout`` seconds), a non-2xx status, a body
    that is not JSON, or JSON that is not an object; the message names the URL. Raises
    :class:`InvalidPublishableKeyError` for a bad key.
    """
    flow, cached = _prepare(publishable_key, options)
    return run_sync(flow) if flow is not None else cached or {}


async def afetch_clerk_authorization_server_metadata(
    publishable_key: str,
    **options: Unpack[ClerkFetchOptions],
) -> dict[str, Any]:
    """The asynchronous twin of :func:`fetch_clerk_authorization_server_metadata` (``httpx2``)."""
    flow, cached = _prepare(publishable_key, options)
    # a cached document is answered without creating an HTTP client
    return await run_async(flow) if flow is not None else cached or {}


def _key_from_env(publishable_key: str | None) -> str:
    if publishable_key is not None:
        return publishable_key
    value = os.environ.get(PUBLISHABLE_KEY_ENV)
    if not value:
        raise ConfigurationError(
            f"no Clerk publishable key: pass publishable_key=... or set the {PUBLISHABLE_KEY_ENV} "
            "environment variable (it starts with pk_test_ or pk_live_)"
        )
    return value


def generate_clerk_authorization_server_metadata(
    publishable_key: str | None = None,
    **options: Unpack[ClerkFetchOptions],
) -> dict[str, Any]:
    """Clerk's authorization server metadata, to serve at ``/.well-known/oauth-authorization-server``.

    The name the TypeScript README (up to 0.5.0) used; it never shipped there. The key
    defaults to the ``CLERK_PUBLISHABLE_KEY`` environment variable (a
    :class:`~mcp_tools.errors.ConfigurationError` when neither is set); the rest is
    :func:`fetch_clerk_authorization_server_metadata`.
    """
    return fetch_clerk_authorization_server_metadata(_key_from_env(publishable_key), **options)


async def agenerate_clerk_authorization_server_metadata(
    publishable_key: str | None = None,
    **options: Unpack[ClerkFetchOptions],
) -> dict[str, Any]:
    """The asynchronous twin of :func:`generate_clerk_authorization_server_metadata`."""
    return await afetch_clerk_authorization_server_metadata(_key_from_env(publishable_key), **options)


class ClerkAuthorizationServerMetadata:
    """An :class:`AuthorizationServerMetadataSource` proxying a Clerk instance's metadata.

    The publishable key is read from ``publishable_key`` or the ``env_var`` environment
    variable when the source is created, so a missing key fails at start-up. Documents are
    cached for ``cache_ttl`` seconds; failures raise
    :class:`~mcp_tools.server.clerk_metadata.ClerkMetadataError` (adapters answer 502).
    """

    def __init__(
        self,
        publishable_key: str | None = None,
        *,
        env_var: str = "CLERK_PUBLISHABLE_KEY",
        cache_ttl: float = 300.0,
        timeout: float = 5.0,
        frontend_api_url: str | None = None,
    ) -> None:
        key = publishable_key or os.environ.get(env_var)
        if not key:
            raise ConfigurationError(f"{env_var} environment variable is required (or pass publishable_key=)")
        derive_clerk_frontend_api_url(key)  # validate now: a bad key is a start-up error
        self._key = key
        self._options = ClerkFetchOptions(
            cache_ttl=cache_ttl, timeout=timeout, frontend_api_url=frontend_api_url
        )

    def get_sync(self) -> Mapping[str, Any]:
        return fetch_clerk_authorization_server_metadata(self._key, **self._options)

    async def get(self) -> Mapping[str, Any]:
        return await afetch_clerk_authorization_server_metadata(self._key, **self._options)
