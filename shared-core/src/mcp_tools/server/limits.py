"""Open event streams and stateful sessions, counted per principal and overall.

A 2025-era client keeps a standalone ``GET`` event stream open for the whole life of its
session; under WSGI each one pins a worker thread. Without a limit one token holder could open
as many sessions and streams as the server has threads and leave nothing for anyone else.
:class:`StreamLimits` admits a stream or a new session only while its principal (the verified
token's issuer and subject, or its client id when there is no subject) is under its limits and
the process is under its overall stream limit, and answers otherwise with an OAuth-shaped
refusal (``docs/errors.md``) with ``Retry-After``: a ``GET`` gets 405 ``too_many_streams`` (the
MCP specification allows a ``GET`` only an event stream or 405, which clients take as "no
server-to-client stream here" and carry on without one), a new session 429 ``too_many_requests``.

* A stream is open from its admitted ``GET`` until the SDK's response ends: it completes, the
  client disconnects (the bridge turns a closed WSGI response into ``http.disconnect``), or the
  request fails or is cancelled.
* A session is counted from the request that may open one (a handshake-era ``POST`` without
  ``Mcp-Session-Id``) until the SDK forgets its id: ``DELETE``, idle expiry or a crash. The ids
  come from the SDK's ``Mcp-Session-Id`` response header; they are only counted, never trusted:
  every request is still verified, and counting goes by the verified token, not by the id.

:meth:`StreamLimits.wrap` puts the counting in front of the SDK's ASGI app, so ASGI and WSGI
adapters share it.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Final, TypeAlias

from mcp.server.auth.middleware.bearer_auth import AuthenticatedUser
from mcp.server.auth.provider import AccessToken, principal_components
from mcp_types.version import HANDSHAKE_PROTOCOL_VERSIONS

from mcp_tools.asgi import ASGIApp, Message, Receive, Scope, Send, send_response
from mcp_tools.http import Response, json_response

__all__ = ["RETRY_AFTER", "Principal", "StreamLimits", "principal_of"]

Principal: TypeAlias = tuple[str | None, str, str]
"""``(issuer, "sub" | "client", subject or client id)``: whom the limits count."""

RETRY_AFTER: Final = "10"
"""``Retry-After`` (seconds) of the refusals."""

_SWEEP_EVERY: Final = 256
"""Forget the ids of ended sessions of every principal after this many new sessions."""


def principal_of(token: AccessToken) -> Principal:
    """The principal ``token`` stands for: its subject (per issuer), or its client without one."""
    client_id, issuer, subject = principal_components(token)
    return (issuer, "sub", subject) if subject else (issuer, "client", client_id)


def _refusal(status: int, error: str, description: str) -> Response:
    headers = {"Retry-After": RETRY_AFTER}
    if status == 405:
        headers["Allow"] = "POST, DELETE, OPTIONS"
    return json_response({"error": error, "error_description": description}, status=status, headers=headers)


class StreamLimits:
    """Counts of open streams and sessions; thread-safe (WSGI worker threads, inline loops).

    Args:
        max_streams_per_principal: open ``GET`` streams one principal may hold (``None``: any).
        max_sessions_per_principal: stateful sessions one principal may hold (``None``: any).
        max_streams: open ``GET`` streams in the process (``None``: any). The WSGI endpoint
            sets it from the server's thread count (``WsgiOptions.max_streams``).
    """

    def __init__(
        self,
        *,
        max_streams_per_principal: int | None = None,
        max_sessions_per_principal: int | None = None,
        max_streams: int | None = None,
    ) -> None:
        self.max_streams_per_principal = max_streams_per_principal
        self.max_sessions_per_principal = max_sessions_per_principal
        self.max_streams = max_streams
        self._lock = threading.Lock()
        self._streams: dict[Principal, int] = {}
        self._open_streams = 0
        self._sessions: dict[Principal, set[str]] = {}
        self._opening: dict[Principal, int] = {}
        self._since_sweep = 0

    # -- streams ------------------------------------------------------------------------------

    @property
    def open_streams(self) -> int:
        """Streams open now, over all principals."""
        return self._open_streams

    def streams_of(self, principal: Principal) -> int:
        """Streams ``principal`` holds open now."""
        return self._streams.get(principal, 0)

    def admit_stream(self, principal: Principal) -> Response | None:
        """Count one more open stream for ``principal``, or return the refusal (nothing counted)."""
        with self._lock:
            held = self._streams.get(principal, 0)
            per = self.max_streams_per_principal
            if per is not None and held >= per:
                return _refusal(
                    405, "too_many_streams", f"at most {per} open event streams per user; close one first"
                )
            if self.max_streams is not None and self._open_streams >= self.max_streams:
                return _refusal(
                    405, "too_many_streams", "the server holds as many event streams as it can serve now"
                )
            self._streams[principal] = held + 1
            self._open_streams += 1
            return None

    def release_stream(self, principal: Principal) -> None:
        """The stream :meth:`admit_stream` counted has ended."""
        with self._lock:
            held = self._streams.get(principal, 0) - 1
            if held > 0:
                self._streams[principal] = held
            else:
                self._streams.pop(principal, None)
            self._open_streams = max(0, self._open_streams - 1)

    # -- sessions -----------------------------------------------------------------------------

    def sessions_of(self, principal: Principal, is_open: Callable[[str], bool] = lambda _: True) -> int:
        """Sessions of ``principal`` that are open (by ``is_open``) or being opened now."""
        with self._lock:
            return self._live_sessions(principal, is_open) + self._opening.get(principal, 0)

    def admit_session(self, principal: Principal, is_open: Callable[[str], bool]) -> Response | None:
        """Reserve a session for ``principal`` (a request that may open one), or return the
        refusal. ``is_open(session_id)`` says whether the SDK still holds a session; every
        admission must be followed by :meth:`session_opened`."""
        with self._lock:
            per = self.max_sessions_per_principal
            opening = self._opening.get(principal, 0)
            if per is not None and self._live_sessions(principal, is_open) + opening >= per:
                return _refusal(
                    429, "too_many_requests", f"at most {per} open MCP sessions per user; end one first"
                )
            self._opening[principal] = opening + 1
            return None

    def session_opened(
        self, principal: Principal, session_id: str | None, is_open: Callable[[str], bool]
    ) -> None:
        """The request :meth:`admit_session` reserved for has ended, opening ``session_id``
        (``None``: it opened nothing)."""
        with self._lock:
            opening = self._opening.get(principal, 0) - 1
            if opening > 0:
                self._opening[principal] = opening
            else:
                self._opening.pop(principal, None)
            if session_id is not None:
                self._sessions.setdefault(principal, set()).add(session_id)
                self._since_sweep += 1
                if self._since_sweep >= _SWEEP_EVERY:
                    self._since_sweep = 0
                    for known in list(self._sessions):
                        self._live_sessions(known, is_open)

    def _live_sessions(self, principal: Principal, is_open: Callable[[str], bool]) -> int:
        ids = self._sessions.get(principal)
        if not ids:
            return 0
        ids.intersection_update([sid for sid in ids if is_open(sid)])
        if not ids:
            del self._sessions[principal]
            return 0
        return len(ids)

    # -- ASGI ---------------------------------------------------------------------------------

    def wrap(self, app: ASGIApp, is_open: Callable[[str], bool]) -> ASGIApp:
        """``app`` (the SDK's stateful transport, ``scope["user"]`` set) with the limits in front.

        ``is_open(session_id)``: whether the SDK behind ``app`` still holds that session.
        """
        limits = self

        async def limited(scope: Scope, receive: Receive, send: Send) -> None:
            user = scope.get("user")
            kind = _kind(scope) if isinstance(user, AuthenticatedUser) else None
            if kind is None:
                await app(scope, receive, send)
                return
            assert isinstance(user, AuthenticatedUser)
            principal = principal_of(user.access_token)
            if kind == "stream":
                refused = limits.admit_stream(principal)
                if refused is not None:
                    await send_response(send, refused)
                    return
                try:
                    await app(scope, receive, send)
                finally:
                    limits.release_stream(principal)
                return
            refused = limits.admit_session(principal, is_open)
            if refused is not None:
                await send_response(send, refused)
                return
            opened: list[str] = []

            async def watch(message: Message) -> None:
                if message["type"] == "http.response.start" and message.get("status", 500) < 400:
                    opened.extend(
                        v.decode("latin-1") for k, v in message.get("headers", ()) if k.lower() == _SESSION
                    )
                await send(message)

            try:
                await app(scope, receive, watch)
            finally:
                limits.session_opened(principal, opened[0] if opened else None, is_open)

        return limited


_SESSION: Final = b"mcp-session-id"
_VERSION: Final = b"mcp-protocol-version"


def _kind(scope: Scope) -> str | None:
    """``"stream"`` for a ``GET``, ``"session"`` for a request that may open a session."""
    method = scope.get("method")
    if method == "GET":
        return "stream"
    if method != "POST":
        return None
    version: bytes | None = None
    for name, value in scope.get("headers") or ():
        if name == _SESSION:
            return None
        if name == _VERSION:
            version = value
    if version is not None and version.decode("latin-1") not in HANDSHAKE_PROTOCOL_VERSIONS:
        return None  # the 2026 era opens no session
    return "session"
