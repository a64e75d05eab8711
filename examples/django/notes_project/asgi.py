"""ASGI entry point: ``uvicorn notes_project.asgi:application`` (from examples/django).

The wrapper owns the lifespan (starting the MCP session manager) and serves the MCP path
directly; every other path goes to Django.
"""

from __future__ import annotations

import os

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "notes_project.settings")

from mcp_tools_django.asgi import get_asgi_application

application = get_asgi_application()
