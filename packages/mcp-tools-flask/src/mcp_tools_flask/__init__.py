"""Flask adapter of mcp-tools: an OAuth-protected MCP endpoint and its discovery documents.

The logic lives in mcp_tools (the mcp-tools-core distribution); this package only
converts Flask requests and responses, registers routes and reads Flask configuration.
"""

from __future__ import annotations

__all__: list[str] = []
