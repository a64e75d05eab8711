"""mcp_tools.server"""
