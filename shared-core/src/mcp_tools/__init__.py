"""mcp-tools: MCP (Model Context Protocol) over OAuth for Python web apps.

The framework-neutral core. ``mcp_tools.server`` holds the resource-server pieces
(metadata documents, token verifiers, the bearer challenge, the MCP endpoint core),
``mcp_tools.client`` the web OAuth flow for connecting to other MCP servers, and
``mcp_tools.stores`` the persistent stores. Framework adapters live in the
``mcp_tools_django``, ``mcp_tools_flask`` and ``mcp_tools_fastapi`` distributions.
"""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("mcp-tools-core")
except PackageNotFoundError:  # pragma: no cover - running from a source tree without install
    __version__ = "0.0.0"

__all__ = ["__version__"]
