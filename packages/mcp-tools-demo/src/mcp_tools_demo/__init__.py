"""``mcp-tools demo``: the whole picture on one machine, with no accounts anywhere.

It starts, on 127.0.0.1, the development authorization server (:mod:`mcp_tools.devserver`),
one OAuth-protected MCP server per framework (FastAPI, Flask, Django, each built with its
adapter) and the *connector*, a small FastAPI web app where a user picks an MCP server,
signs in and consents, then lists and calls its tools (:mod:`mcp_tools.client`). See
``docs/demo.md``.

Development only. This distribution (``mcp-tools-demo``) depends on ``mcp-tools-fastapi``,
``mcp-tools-flask``, ``mcp-tools-django`` and ``uvicorn``, and registers the ``demo`` subcommand
of the core's ``mcp-tools`` command line through the ``mcp_tools.cli`` entry point group
(:mod:`mcp_tools_demo.cli`). Nothing imports this package: it sits above the adapters. The
frameworks are imported inside functions and the names below on first use, so ``mcp-tools
--help`` loads none of them.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .runner import (
        Demo,
        DemoError,
        DemoOptions,
        discover_authorization_server,
        missing_requirements,
        run_demo,
    )

__all__ = [
    "Demo",
    "DemoError",
    "DemoOptions",
    "discover_authorization_server",
    "missing_requirements",
    "run_demo",
]


def __getattr__(name: str) -> Any:
    """Import :mod:`.runner` on first use: ``mcp-tools`` loads this package (through the entry
    point of :mod:`.cli`) for every subcommand, and the runner brings in the SDK and the client."""
    if name in __all__:
        from . import runner

        return getattr(runner, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
