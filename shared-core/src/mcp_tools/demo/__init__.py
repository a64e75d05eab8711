"""``mcp-tools demo``: the whole picture on one machine, with no accounts anywhere.

It starts, on 127.0.0.1, the development authorization server (:mod:`mcp_tools.devserver`),
one OAuth-protected MCP server per framework (FastAPI, Flask, Django, each built with its
adapter) and the *connector*, a small FastAPI web app where a user picks an MCP server,
signs in and consents, then lists and calls its tools (:mod:`mcp_tools.client`). See
``docs/demo.md``.

Development only. It needs ``mcp-tools-fastapi``, ``mcp-tools-flask``, ``mcp-tools-django``
and ``uvicorn``; the frameworks are imported inside functions, never when this package is
imported (layering rule 1).
"""

from __future__ import annotations

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
