"""Django under WSGI (gunicorn gthread): the package's views through the core's WSGI bridge."""

from __future__ import annotations

import os

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "benchmarks.apps.django_settings")

from django.core.wsgi import get_wsgi_application

application = get_wsgi_application()
