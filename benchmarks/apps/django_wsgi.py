"""Django under WSGI: ``mcp_tools_django.wsgi`` routes the MCP path ahead of Django."""

from __future__ import annotations

import os

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "benchmarks.apps.django_settings")

from mcp_tools_django.wsgi import get_wsgi_application

application = get_wsgi_application()
