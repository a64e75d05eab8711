"""The only place that reaches into private internals of the MCP SDK or the standard library.

Each accessor is pinned by ``tests/core/test_compat.py``, which fails loudly when an upgrade
moves or changes what it reads; fix it here and nowhere else.
"""

from __future__ import annotations

import asyncio
import atexit
import threading
from collections.abc import Callable
from typing import Any

from mcp.server.lowlevel.server import Server
from mcp.server.mcpserver import MCPServer
from mcp.server.mcpserver.tools import Tool
from mcp.server.streamable_http_manager import StreamableHTTPSessionManager

__all__ = ["get_tool", "lowlevel_server", "open_session_check", "register_before_thread_join", "running_loop"]


def lowlevel_server(server: MCPServer[Any]) -> Server[Any]:
    """The low-level ``Server`` inside an ``MCPServer`` (its own ``streamable_http_app()`` reads it too)."""
    lowlevel: Server[Any] = server._lowlevel_server
    return lowlevel


def get_tool(server: MCPServer[Any], name: str) -> Tool | None:
    """The registered tool ``name`` of an ``MCPServer`` (its tool registry is private), or ``None``."""
    return server._tool_manager.get_tool(name)


def open_session_check(manager: StreamableHTTPSessionManager) -> Callable[[str], bool]:
    """``is_open(session_id)``: whether ``manager`` still holds that stateful session (its session
    table is private; it drops an id on ``DELETE``, idle expiry and crashes)."""
    sessions: dict[str, Any] = manager._server_instances
    return sessions.__contains__


def running_loop() -> asyncio.AbstractEventLoop | None:
    """The event loop running in this thread, or ``None`` (without raising, unlike the public call)."""
    return asyncio._get_running_loop()


def register_before_thread_join(hook: Callable[[], None]) -> None:
    """Run ``hook`` at interpreter exit *before* Python joins non-daemon threads.

    A plain ``atexit`` hook runs after that join, too late to stop threads that wait for it
    (anyio's worker threads); ``threading``'s own exit hooks, which ``concurrent.futures``
    uses, run first.
    """
    register = getattr(threading, "_register_atexit", None)
    if register is None:  # pragma: no cover - every supported Python has it
        atexit.register(hook)
        return
    register(hook)
