"""Baseline: the bare SDK, ``MCPServer.streamable_http_app()`` without auth, under uvicorn."""

from __future__ import annotations

from benchmarks.common import build_server

app = build_server().streamable_http_app(stateless_http=True, json_response=True)
