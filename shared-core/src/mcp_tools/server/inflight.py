"""JSON-RPC request ids in flight per stateful session: a reused one is answered before the SDK.

The SDK's streamable HTTP transport keys the stream that carries a request's response by the
request's id (``str(id)``), per session. Two concurrent requests with one id in one session
overwrite each other's stream: one of them is never answered (under WSGI a worker thread waits
for it forever) and another may get a 500. The MCP specification forbids reusing an id, but a
server must still answer every request, so :class:`InFlightIds` refuses a request whose id is
already in flight in its session with a JSON-RPC ``-32600`` error echoing the id (HTTP 400,
as the SDK answers other invalid requests), and lets the id be used again once the first
request has been answered.
"""

from __future__ import annotations

import threading
from typing import Any, Final

from mcp_tools.asgi import ASGIApp, Receive, Scope, Send, send_response
from mcp_tools.http import Response, json_response

__all__ = ["RPC_ID_SCOPE_KEY", "InFlightIds", "duplicate_id_response"]

RPC_ID_SCOPE_KEY: Final = "mcp_tools.rpc_id"
"""ASGI scope key holding the JSON-RPC id of the request's body (set by the endpoint's checks)."""

_INVALID_REQUEST: Final = -32600


def duplicate_id_response(request_id: str | int, session_id: str) -> Response:
    """The answer to a request whose id is already in flight in its session."""
    return json_response(
        {
            "jsonrpc": "2.0",
            "id": request_id,
            "error": {
                "code": _INVALID_REQUEST,
                "message": f"Bad Request: request id {request_id!r} is already in flight in this session",
            },
        },
        status=400,
        headers=[("Mcp-Session-Id", session_id)],
    )


def _session_id(scope: Scope) -> str | None:
    for name, value in scope.get("headers", ()):
        if name == b"mcp-session-id":
            return bytes(value).decode("latin-1")
    return None


class InFlightIds:
    """The ``(session id, request id)`` pairs being served; :meth:`wrap` guards an SDK app."""

    def __init__(self) -> None:
        self._held: set[tuple[str, str]] = set()
        self._lock = threading.Lock()  # the WSGI bridge and inline loops run on several threads

    def __len__(self) -> int:
        return len(self._held)

    def claim(self, session_id: str, request_id: str | int) -> bool:
        """Hold the id for the session; ``False`` when it is already held."""
        key = (session_id, str(request_id))  # the SDK's own key: 1 and "1" collide there too
        with self._lock:
            if key in self._held:
                return False
            self._held.add(key)
            return True

    def release(self, session_id: str, request_id: str | int) -> None:
        with self._lock:
            self._held.discard((session_id, str(request_id)))

    def wrap(self, app: ASGIApp) -> ASGIApp:
        """``app`` behind the check: POSTs with a session id and a request id are deduplicated."""

        async def guarded(scope: Scope, receive: Receive, send: Send) -> None:
            request_id: Any = scope.get(RPC_ID_SCOPE_KEY)
            session_id = _session_id(scope) if request_id is not None else None
            if session_id is None or scope.get("method") != "POST":
                await app(scope, receive, send)
                return
            if not self.claim(session_id, request_id):
                await send_response(send, duplicate_id_response(request_id, session_id))
                return
            try:
                await app(scope, receive, send)
            finally:
                self.release(session_id, request_id)

        return guarded
