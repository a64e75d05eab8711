"""Benchmarks of mcp-tools (``nox -s bench``); not part of any distribution."""
