"""Settings of the notes example; the MCP part is the ``MCP_TOOLS`` dict.

Environment:

* ``MCP_RESOURCE_URL``: the URL clients use for the MCP endpoint (default
  ``http://127.0.0.1:8000/mcp``, what ``manage.py runserver`` serves);
* ``MCP_ISSUER``: the authorization server's issuer (default ``https://auth.example.com``);
* ``MCP_JWKS_URI``: its JWKS URL, or ``MCP_JWKS``: a JWKS document as JSON (tests);
* ``DJANGO_DEBUG``: ``1`` (default) or ``0``.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from urllib.parse import urlsplit

BASE_DIR = Path(__file__).resolve().parent.parent

SECRET_KEY = os.environ.get("DJANGO_SECRET_KEY", "example-only-not-secret")
DEBUG = os.environ.get("DJANGO_DEBUG", "1") == "1"

RESOURCE_URL = os.environ.get("MCP_RESOURCE_URL", "http://127.0.0.1:8000/mcp")
ISSUER = os.environ.get("MCP_ISSUER", "https://auth.example.com")
ALLOWED_HOSTS = [urlsplit(RESOURCE_URL).hostname or "localhost", "localhost", "127.0.0.1"]

INSTALLED_APPS = ["mcp_tools_django"]
MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
]
ROOT_URLCONF = "notes_project.urls"
WSGI_APPLICATION = "notes_project.wsgi.application"
DATABASES: dict[str, dict[str, str]] = {}
USE_TZ = True

_verifier_options: dict[str, object] = {
    "jwks_uri": os.environ.get("MCP_JWKS_URI", f"{ISSUER}/.well-known/jwks.json")
}
if os.environ.get("MCP_JWKS"):
    _verifier_options = {"keys": json.loads(os.environ["MCP_JWKS"])}

MCP_TOOLS = {
    "SERVER": "notes_project.mcp_server:server",
    "TOOL_SCOPES": "notes_project.mcp_server:tool_scopes",
    "RESOURCE_URL": RESOURCE_URL,
    "AUTHORIZATION_SERVERS": [ISSUER],
    # issuer and audience are filled in from AUTHORIZATION_SERVERS and RESOURCE_URL
    "VERIFIER": {"CLASS": "mcp_tools.server.verifiers.jwt.JWTVerifier", "OPTIONS": _verifier_options},
    "SCOPES": ["notes:read"],
    "RESOURCE_NAME": "Notes",
    "STORE": os.environ.get("MCP_STORE", f"sqlite:///{BASE_DIR / 'mcp-store.db'}"),
}

LOGGING = {
    "version": 1,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "loggers": {"mcp_tools_django": {"handlers": ["console"], "level": "WARNING"}},
}
