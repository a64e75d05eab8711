"""The Django app: ``INSTALLED_APPS = [..., "mcp_tools_django"]``."""

from __future__ import annotations

from django.apps import AppConfig
from django.core import checks


class McpToolsConfig(AppConfig):
    """Registers the ``mcp_tools.*`` system checks (``manage.py check --tag mcp_tools``)."""

    name = "mcp_tools_django"
    label = "mcp_tools"
    verbose_name = "MCP tools"

    def ready(self) -> None:
        from mcp_tools_django.checks import check_mcp_tools

        checks.register(check_mcp_tools, "mcp_tools")
