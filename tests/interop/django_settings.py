"""Django settings serving the interop server (``DJANGO_SETTINGS_MODULE=tests.interop.django_settings``)."""

from __future__ import annotations

from tests.interop import conformance_server as cs

SECRET_KEY = "mcp-tools-interop-only"
DEBUG = False
ALLOWED_HOSTS = ["127.0.0.1", "localhost"]
INSTALLED_APPS = ["mcp_tools_django"]
MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
]
ROOT_URLCONF = "tests.interop.django_urls"
DATABASES: dict[str, dict[str, str]] = {}
USE_TZ = True

MCP_TOOLS = {
    "SERVER": "tests.interop.conformance_server:server",
    "VERIFIER": "tests.interop.django_settings:VERIFIER",
    "RESOURCE_URL": cs.resource_url(),
    "AUTHORIZATION_SERVERS": cs.issuers(),
    "SCOPES": cs.SCOPES,
    "RESOURCE_NAME": "mcp-tools interop",
    "STATELESS": not cs.STATEFUL,
    "JSON_RESPONSE": not cs.STATEFUL,
}

VERIFIER = cs.build_verifier()
