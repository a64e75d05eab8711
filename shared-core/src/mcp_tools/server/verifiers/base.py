"""Common ground for OAuth 2.0 bearer token verifiers (RFC 6750 resource servers).

Every verifier in :mod:`mcp_tools.server.verifiers` writes its logic once, as a generator
(:meth:`McpTokenVerifier._verify_flow`) that yields the outbound HTTP requests it needs
(see :mod:`mcp_tools._outbound`). The same generator is then driven

* by :meth:`McpTokenVerifier.verify_token` for async code (FastAPI, the MCP SDK, which
  treats any object with that coroutine as a ``mcp.server.auth.provider.TokenVerifier``), and
* by :meth:`McpTokenVerifier.verify_token_sync` for threaded WSGI code (Django, Flask).

Outcome contract, shared by every verifier:

* a valid token gives an :class:`~mcp.server.auth.provider.AccessToken`;
* anything wrong with the *token* (bad signature, expired, foreign audience, revoked,
  garbage, non-ASCII, oversized) gives ``None``; no exception is raised for bad tokens;
* an *infrastructure* failure (the JWKS, introspection or Clerk endpoint cannot be reached
  or answers with a server error) raises :class:`TokenVerificationUnavailable`, so that
  adapters can answer ``503`` rather than wrongly telling a client its token is bad.

Tokens are never logged and never appear in exception messages.
"""

from __future__ import annotations

import hashlib
import re
import threading
from abc import ABC, abstractmethod
from collections import OrderedDict
from collections.abc import Callable, Generator
from typing import Any, TypeGuard, TypeVar

from mcp.server.auth.provider import AccessToken

from mcp_tools._outbound import (
    Flow,
    OutboundError,
    OutboundRequest,
    OutboundResponse,
    run_async,
    run_sync,
)

__all__ = [
    "MAX_TOKEN_LENGTH",
    "McpTokenVerifier",
    "TokenVerificationUnavailable",
]

T = TypeVar("T")

#: Tokens longer than this many characters are refused without any work.
MAX_TOKEN_LENGTH = 8192

_VISIBLE_ASCII = re.compile(r"[\x21-\x7e]+")


class TokenVerificationUnavailable(Exception):
    """Verification could not be carried out because a dependency is down.

    Raised (never returned) by ``verify_token`` / ``verify_token_sync`` when the JWKS,
    introspection or Clerk endpoint is unreachable, times out, or answers with an
    unexpected status. It says nothing about the token, so callers should answer
    ``503 Service Unavailable`` and not ``401``. The message never contains the token.
    """


def is_number(value: object) -> TypeGuard[int | float]:
    """A finite JSON number usable as a NumericDate (``bool`` and NaN excluded)."""
    return (
        isinstance(value, int | float)
        and not isinstance(value, bool)
        and value == value
        and abs(value) < 1e15
    )


def plausible_token(token: object) -> bool:
    """Cheap shape check run before any verification work.

    A bearer token is a non-empty string of visible ASCII characters (``0x21``-``0x7E``) no
    longer than :data:`MAX_TOKEN_LENGTH`. Anything else cannot be a valid token.
    """
    if not isinstance(token, str) or not token or len(token) > MAX_TOKEN_LENGTH:
        return False
    # One regex match, not a per-character loop: this runs on every request.
    return _VISIBLE_ASCII.fullmatch(token) is not None


def _resume(first: OutboundRequest, flow: Flow[T]) -> Flow[T]:
    """Wrap a flow that has already yielded ``first`` so a driver can take it over."""
    request = first
    while True:
        try:
            response: OutboundResponse = yield request
        except GeneratorExit:
            flow.close()
            raise
        except BaseException as exc:  # thrown in by the driver; hand it to the real flow
            try:
                request = flow.throw(exc)
            except StopIteration as stop:
                return stop.value  # type: ignore[no-any-return]
            continue
        try:
            request = flow.send(response)
        except StopIteration as stop:
            return stop.value  # type: ignore[no-any-return]


def _unavailable(exc: OutboundError) -> TokenVerificationUnavailable:
    return TokenVerificationUnavailable(f"token verification endpoint unreachable: {exc}")


class McpTokenVerifier(ABC):
    """Base class of the bundled verifiers.

    Satisfies the MCP SDK's ``TokenVerifier`` protocol (``async verify_token``) and adds
    :meth:`verify_token_sync` for WSGI code. Subclasses implement only
    :meth:`_verify_flow`.

    ``session`` (a ``requests.Session``) and ``http_client`` (an ``httpx2.AsyncClient``)
    are optional connection pools for the sync and async drivers; without them each
    network call opens its own connection. Verifications that need no network call
    (a JWT whose signing key is cached) never create a client at all.
    """

    #: Seconds of clock skew tolerated on ``exp`` (and ``nbf``); the
    #: :class:`~mcp_tools.server.bearer.BearerGuard` rechecks ``expires_at`` with this same value.
    leeway: float = 0

    def __init__(self, *, session: Any = None, http_client: Any = None) -> None:
        self._session = session
        self._http_client = http_client

    @abstractmethod
    def _verify_flow(self, token: str) -> Flow[AccessToken | None]:
        """Verify ``token``; yield :class:`OutboundRequest` objects for network calls.

        Called only with tokens that passed :func:`plausible_token`. Must return ``None``
        for a bad token and raise :class:`TokenVerificationUnavailable` for outages.
        """

    def cached_token(self, token: str) -> AccessToken | None:
        """The result for ``token`` if it is known without running the flow (a cache hit), else ``None``.

        A public hook: checked before :meth:`_verify_flow` on every call, and by
        :class:`~mcp_tools.server.bearer.BearerGuard` before it verifies at all. Verifiers with
        a result cache override it so a repeat token costs a dictionary lookup, not a generator
        run. It is called only with plausible tokens and must never block or raise.
        """
        return None

    def _start(self, token: str) -> tuple[bool, Any]:
        """Run the flow up to its first network request.

        Returns ``(True, result)`` when the flow finished without the network, else
        ``(False, flow)`` with a flow ready to be handed to a driver.
        """
        flow = self._verify_flow(token)
        try:
            first = next(flow)
        except StopIteration as stop:
            return True, stop.value
        return False, _resume(first, flow)

    def _begin(self, token: str) -> tuple[bool, Any]:
        """What both drivers do first: an implausible token is ``None``, a cached one answers,
        else :meth:`_start` (done with its result, or the flow to drive)."""
        if not plausible_token(token):
            return True, None
        hit = self.cached_token(token)
        if hit is not None:
            return True, hit
        return self._start(token)

    def verify_token_sync(self, token: str) -> AccessToken | None:
        """Verify ``token`` from synchronous code (blocking I/O with ``requests``).

        Returns the access token, or ``None`` when the token is not acceptable. Raises
        :class:`TokenVerificationUnavailable` when verification cannot be carried out.
        """
        done, value = self._begin(token)
        if done:
            return value  # type: ignore[no-any-return]
        try:
            result: AccessToken | None = run_sync(value, session=self._session)
            return result
        except OutboundError as exc:
            raise _unavailable(exc) from None

    async def verify_token(self, token: str) -> AccessToken | None:
        """Verify ``token`` from async code (non-blocking I/O with ``httpx2``).

        Same contract as :meth:`verify_token_sync`; this is the method the MCP SDK's
        ``TokenVerifier`` protocol asks for.
        """
        done, value = self._begin(token)
        if done:
            return value  # type: ignore[no-any-return]
        try:
            result: AccessToken | None = await run_async(value, client=self._http_client)
            return result
        except OutboundError as exc:
            raise _unavailable(exc) from None


class TokenCache:
    """A thread-safe, size-bounded cache of verification results keyed by token digest.

    Keys are the SHA-256 digest of the token, so the cache's key space never holds raw
    tokens. Each entry carries its own absolute expiry (seconds on ``clock``); the least
    recently used entry is evicted when ``max_entries`` is reached. An entry may also carry
    a ``tag`` (any object, compared by identity): :meth:`get` with another tag is a miss, so
    a JWT verified with one key set is never reused once the key set has been replaced.
    Only successful verifications are ever put here.
    """

    def __init__(self, max_entries: int, clock: Callable[[], float]) -> None:
        if max_entries < 1:
            raise ValueError("max_entries must be at least 1")
        self._max = max_entries
        self._clock = clock
        self._lock = threading.Lock()
        self._entries: OrderedDict[str, tuple[float, AccessToken, object]] = OrderedDict()

    @staticmethod
    def digest(token: str) -> str:
        return hashlib.sha256(token.encode("utf-8")).hexdigest()

    def get(self, token: str, tag: object = None) -> AccessToken | None:
        key = self.digest(token)
        now = self._clock()
        with self._lock:
            entry = self._entries.get(key)
            if entry is None:
                return None
            if entry[0] <= now or entry[2] is not tag:
                del self._entries[key]
                return None
            self._entries.move_to_end(key)
            return entry[1]

    def put(self, token: str, value: AccessToken, until: float, tag: object = None) -> None:
        if until <= self._clock():
            return
        key = self.digest(token)
        with self._lock:
            self._entries[key] = (until, value, tag)
            self._entries.move_to_end(key)
            while len(self._entries) > self._max:
                self._entries.popitem(last=False)

    def __len__(self) -> int:
        with self._lock:
            return len(self._entries)

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()


def fetch_flow(request: OutboundRequest) -> Generator[OutboundRequest, OutboundResponse, OutboundResponse]:
    """Yield ``request``; turn a network failure into :class:`TokenVerificationUnavailable`."""
    try:
        response: OutboundResponse = yield request
    except OutboundError as exc:
        raise _unavailable(exc) from None
    return response
