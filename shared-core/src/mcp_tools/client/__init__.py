"""mcp_tools.client"""
