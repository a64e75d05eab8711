"""Django under ASGI (uvicorn): ``mcp_tools_django.asgi.get_asgi_application()``."""

from __future__ import annotations

import os

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "benchmarks.apps.django_settings")

from mcp_tools_django.asgi import get_asgi_application

application = get_asgi_application()
