"""The bridge's errors and its refusals: JSON-RPC error objects without an id, as the SDK sends.

Refusals never carry exception text; details go to the log.
"""

from __future__ import annotations

import json
import logging
from typing import Final

from mcp_tools.http import Response, json_response
from mcp_tools.server.wsgi.response import BridgeResponse

__all__ = [
    "BridgeError",
    "BridgeStartupError",
    "UnsupportedServerError",
    "refusal",
    "unsupported_server_response",
]

logger = logging.getLogger(__name__)

_INVALID_REQUEST: Final = -32600
_INTERNAL_ERROR: Final = -32603


class BridgeError(RuntimeError):
    """Base class of the errors raised by the WSGI bridge."""


class BridgeStartupError(BridgeError):
    """The event-loop thread or the application's lifespan could not be started."""


class UnsupportedServerError(BridgeError):
    """The WSGI server (or worker type) cannot serve the configured MCP transport mode."""


def _document(message: str, code: int) -> bytes:
    return json.dumps({"jsonrpc": "2.0", "id": None, "error": {"code": code, "message": message}}).encode()


_REFUSALS: Final = {
    400: _document("Invalid Content-Length", _INVALID_REQUEST),
    413: _document("Request body too large", _INVALID_REQUEST),
    500: _document("Internal server error", _INTERNAL_ERROR),
    503: _document("Service unavailable", _INTERNAL_ERROR),
    504: _document("Gateway timeout", _INTERNAL_ERROR),
}


def refusal(status: int) -> BridgeResponse:
    """The bridge's own answer with ``status`` (400, 413, 500, 503 or 504), without running the app."""
    body = _REFUSALS[status]
    headers = [("Content-Type", "application/json"), ("Content-Length", str(len(body)))]
    return BridgeResponse.fixed(status, headers, body)


def unsupported_server_response(exc: UnsupportedServerError) -> Response:
    """The 500 for a WSGI server that cannot serve the configured transport (details go to the log)."""
    logger.error("mcp-tools cannot serve this request: %s", exc)
    return json_response(
        {
            "error": "unsupported_server",
            "error_description": "this WSGI server cannot serve the configured MCP transport; "
            "see the server log",
        },
        status=500,
    )
