"""The MCP endpoint served from WSGI (Flask, Django under WSGI), and the bridge beneath it.

The SDK's streamable HTTP endpoint is ASGI-only and needs one long-lived event loop; a WSGI
server has none. The modules, from the outside in:

* :mod:`.endpoint`: :class:`WsgiMcpEndpoint` (authenticate in the worker thread, then serve
  through the bridge) and :class:`WsgiMcpDispatcher` (the MCP path ahead of the framework);
* :mod:`.bridge`: :class:`AsgiBridge`, an ASGI app served from WSGI worker threads;
* :mod:`.environ`: the environ as an ASGI scope, the body read and bounded;
* :mod:`.loop`: the loop thread and the flow-controlled exchange that streams a response back;
* :mod:`.inline`: loops the worker threads borrow for requests that need no shared loop;
* :mod:`.response` and :mod:`.errors`: what goes back to the WSGI server, refusals included;
* :mod:`.hooks`: fork and exit hooks.

Nothing here imports a web framework. See ``docs/wsgi-bridge.md``.
"""

from __future__ import annotations

from mcp_tools.server.wsgi.bridge import AsgiBridge
from mcp_tools.server.wsgi.endpoint import WsgiMcpDispatcher, WsgiMcpEndpoint
from mcp_tools.server.wsgi.environ import (
    InvalidBody,
    build_scope,
    check_wsgi_server,
    environ_headers,
    read_wsgi_body,
)
from mcp_tools.server.wsgi.errors import (
    BridgeError,
    BridgeStartupError,
    UnsupportedServerError,
    unsupported_server_response,
)
from mcp_tools.server.wsgi.loop import AppFactory
from mcp_tools.server.wsgi.response import HOP_BY_HOP_HEADERS, BridgeResponse, status_line, strip_hop_by_hop

__all__ = [
    "HOP_BY_HOP_HEADERS",
    "AppFactory",
    "AsgiBridge",
    "BridgeError",
    "BridgeResponse",
    "BridgeStartupError",
    "InvalidBody",
    "UnsupportedServerError",
    "WsgiMcpDispatcher",
    "WsgiMcpEndpoint",
    "build_scope",
    "check_wsgi_server",
    "environ_headers",
    "read_wsgi_body",
    "status_line",
    "strip_hop_by_hop",
    "unsupported_server_response",
]
