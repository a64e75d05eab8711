"""Each reach into SDK or standard-library internals (``mcp_tools._compat``) pinned by a test.

When one of these fails after an upgrade, the private attribute moved or changed meaning:
fix ``mcp_tools/_compat.py`` (the only place that reads it), not the callers.
"""

from __future__ import annotations

import asyncio
import subprocess
import sys
import textwrap
import threading

from mcp.server.lowlevel.server import Server
from mcp.server.lowlevel.server import lifespan as default_lifespan
from mcp.server.mcpserver import MCPServer
from mcp.server.mcpserver.tools import Tool

from mcp_tools import _compat


def test_lowlevel_server_is_the_one_the_sdk_serves() -> None:
    server = MCPServer("compat")
    lowlevel = _compat.lowlevel_server(server)
    assert isinstance(lowlevel, Server)
    assert lowlevel.name == "compat"
    # McpEndpoint.loop_free compares it with the SDK's default lifespan
    assert lowlevel.lifespan is default_lifespan
    # the SDK's own transport is built on the same object
    server.streamable_http_app(stateless_http=True, json_response=True)
    assert server.session_manager.app is lowlevel


def test_get_tool_reads_the_registry_and_the_fields_loop_free_uses() -> None:
    server = MCPServer("compat")

    @server.tool()
    def sync_tool() -> str:
        return "s"

    @server.tool()
    async def async_tool() -> str:
        return "a"

    sync, async_ = _compat.get_tool(server, "sync_tool"), _compat.get_tool(server, "async_tool")
    assert isinstance(sync, Tool)
    assert isinstance(async_, Tool)
    assert (sync.is_async, async_.is_async) == (False, True)
    assert sync.resolved_params == {}
    assert _compat.get_tool(server, "missing") is None


def test_running_loop_is_none_outside_and_the_loop_inside() -> None:
    assert _compat.running_loop() is None

    async def inside() -> bool:
        return _compat.running_loop() is asyncio.get_running_loop()

    assert asyncio.run(inside())


def test_register_before_thread_join_runs_before_non_daemon_threads_are_joined() -> None:
    assert callable(getattr(threading, "_register_atexit", None)), "threading._register_atexit is gone"
    script = textwrap.dedent(
        """
        import threading
        from mcp_tools import _compat

        stop = threading.Event()
        threading.Thread(target=stop.wait).start()  # not a daemon: Python joins it at exit
        _compat.register_before_thread_join(stop.set)
        print("exiting")
        """
    )
    # With a plain atexit hook the thread would never be released and the process would hang.
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "exiting"


def test_open_session_check_reads_the_managers_session_table() -> None:
    from mcp.server.streamable_http_manager import StreamableHTTPSessionManager

    manager = StreamableHTTPSessionManager(app=_compat.lowlevel_server(MCPServer("compat")))
    is_open = _compat.open_session_check(manager)
    assert not is_open("s1")
    # the table the manager fills when it admits a session and empties when it discards one
    manager._server_instances["s1"] = object()  # type: ignore[assignment]
    assert is_open("s1")
    manager._server_instances.pop("s1")
    assert not is_open("s1")
