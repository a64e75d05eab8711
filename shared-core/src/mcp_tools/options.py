"""The options object of an OAuth-protected MCP endpoint: :class:`McpOptions`.

The public home of :mod:`mcp_tools.server.options`, where it is defined beside the server code it
configures (so the server package never imports upward); see there for the flat names every adapter
derives its configuration keys from.
"""

from __future__ import annotations

from mcp_tools.server import options as _defined
from mcp_tools.server.options import *  # noqa: F403 (the names of mcp_tools.server.options.__all__)

__all__ = list(_defined.__all__)
