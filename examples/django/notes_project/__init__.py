"""A tiny Django project serving an OAuth-protected MCP endpoint with mcp-tools-django."""
