"""The MCP server of the example: notes kept per user (the token's subject).

``read_notes`` needs only the endpoint's ``notes:read`` scope; ``add_note`` also needs
``notes:write``, so a token without it gets 403 ``insufficient_scope`` (step-up).
"""

from __future__ import annotations

from typing import Any

from mcp.server import MCPServer
from mcp.server.auth.middleware.auth_context import get_access_token

from mcp_tools.server.scopes import ToolScopes

NOTES: dict[str, list[str]] = {}

tool_scopes = ToolScopes()
server: MCPServer[Any] = MCPServer("notes", version="1.0")


def _owner() -> str:
    token = get_access_token()
    return (token.subject or "") if token else ""


@server.tool()
def read_notes() -> list[str]:
    """The caller's notes."""
    return NOTES.get(_owner(), [])


@server.tool()
@tool_scopes.require("notes:write")
def add_note(text: str) -> str:
    """Add a note for the caller (needs the notes:write scope)."""
    owner = _owner()
    NOTES.setdefault(owner, []).append(text)
    return f"saved note {len(NOTES[owner])} for {owner}"
