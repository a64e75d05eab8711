"""mcp_tools.stores"""
