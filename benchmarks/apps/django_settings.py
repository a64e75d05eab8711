"""Django settings for the benchmark: the ``MCP_TOOLS`` dict and nothing else of note.

Served as ``benchmarks.apps.django_asgi:application`` (uvicorn) and
``benchmarks.apps.django_wsgi:application`` (gunicorn gthread).
"""

from __future__ import annotations

from benchmarks.common import ISSUER, RESOURCE_URL, SCOPE, env_jwks

SECRET_KEY = "benchmark-only-not-secret"
DEBUG = False
ALLOWED_HOSTS = ["127.0.0.1", "localhost"]
INSTALLED_APPS = ["mcp_tools_django"]
MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
]
ROOT_URLCONF = "benchmarks.apps.django_urls"
DATABASES: dict[str, dict[str, str]] = {}
USE_TZ = True

MCP_TOOLS = {
    "SERVER": "benchmarks.common:build_server",
    "RESOURCE_URL": RESOURCE_URL,
    "AUTHORIZATION_SERVERS": [ISSUER],
    "VERIFIER": {"CLASS": "mcp_tools.server.verifiers.jwt.JWTVerifier", "OPTIONS": {"keys": env_jwks()}},
    "SCOPES": [SCOPE],
}
