"""WSGI entry point: ``gunicorn -k gthread --threads 8 notes_project.wsgi`` (from examples/django).

``mcp_tools_django.wsgi.get_wsgi_application()`` is Django's WSGI application with the MCP
path routed ahead of Django (no Django request object or middleware for MCP calls); every
other path, the metadata documents included, is served by Django as usual.
"""

from __future__ import annotations

import os

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "notes_project.settings")

from mcp_tools_django.wsgi import get_wsgi_application

application = get_wsgi_application()
