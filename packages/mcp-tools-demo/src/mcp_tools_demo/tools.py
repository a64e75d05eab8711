"""The MCP server every demo framework serves: a few tools, one of them needing an extra scope.

Each framework gets its own :class:`~mcp.server.MCPServer` (and its own notes), built here
so that the three servers behave the same and differ only in the web framework around them.
"""

from __future__ import annotations

import datetime
import threading
from typing import Any

from mcp.server import MCPServer
from mcp.server.auth.middleware.auth_context import get_access_token

from mcp_tools.server.scopes import ToolScopes

__all__ = ["READ_SCOPE", "WRITE_SCOPE", "build_mcp_server"]

#: Every call to a demo MCP server needs this scope.
READ_SCOPE = "notes:read"
#: ``add_note`` also needs this one: without it the call is refused with 403 (step-up).
WRITE_SCOPE = "notes:write"


def build_mcp_server(framework: str) -> tuple[MCPServer[Any], ToolScopes]:
    """A fresh MCP server named after ``framework``, and its per-tool scopes."""
    tool_scopes = ToolScopes()
    notes: dict[str, list[str]] = {}
    lock = threading.Lock()
    mcp: MCPServer[Any] = MCPServer(f"demo-{framework}", version="1.0")

    def owner() -> str:
        token = get_access_token()
        return (token.subject or "") if token else ""

    @mcp.tool()
    def whoami() -> dict[str, Any]:
        """Who is calling: the token's subject, client and scopes, and which framework answers."""
        token = get_access_token()
        return {
            "framework": framework,
            "subject": token.subject if token else None,
            "client_id": token.client_id if token else None,
            "scopes": sorted(token.scopes) if token else [],
        }

    @mcp.tool()
    def echo(text: str) -> str:
        """Return the text, prefixed with the framework that served the call."""
        return f"{framework} echoes: {text}"

    @mcp.tool()
    def server_time() -> str:
        """The server's current time (UTC, ISO 8601)."""
        return datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds")

    @mcp.tool()
    def read_notes() -> list[str]:
        """The caller's notes on this server."""
        with lock:
            return list(notes.get(owner(), []))

    @mcp.tool()
    @tool_scopes.require(WRITE_SCOPE)
    def add_note(text: str) -> str:
        """Add a note for the caller (needs the notes:write scope: the first call asks for consent again)."""
        who = owner()
        with lock:
            notes.setdefault(who, []).append(text)
            count = len(notes[who])
        return f"saved note {count} for {who} on {framework}"

    return mcp, tool_scopes
