"""URLs of the Django interop server: the adapter's MCP endpoint and discovery documents."""

from __future__ import annotations

from django.urls import include, path

urlpatterns = [path("", include("mcp_tools_django.urls"))]
