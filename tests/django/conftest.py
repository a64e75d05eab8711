"""Django settings for the adapter tests (self-contained: no pytest-django).

The base ``MCP_TOOLS`` names the contract server, verifier and tool scopes by import string
(``tests.django.project``); tests change it with ``override_settings``.
"""

from __future__ import annotations

from collections.abc import Iterator

import django
import pytest
from django.conf import settings

from tests.contract.spec import BASE_SCOPE, ISSUER, RESOURCE

BASE_MCP_TOOLS = {
    "SERVER": "tests.django.project:server",
    "VERIFIER": "tests.django.project:verifier",
    "TOOL_SCOPES": "tests.django.project:tool_scopes",
    "AUTHORIZATION_SERVER_METADATA": "tests.django.project:authorization_server_metadata",
    "RESOURCE_URL": RESOURCE,
    "AUTHORIZATION_SERVERS": [ISSUER],
    "SCOPES": [BASE_SCOPE],
}

if not settings.configured:
    settings.configure(
        DEBUG=False,
        SECRET_KEY="mcp-tools-django-tests",
        ALLOWED_HOSTS=["api.example.com", "testserver"],
        INSTALLED_APPS=["mcp_tools_django"],
        ROOT_URLCONF="tests.django.urls",
        MIDDLEWARE=[
            "django.middleware.security.SecurityMiddleware",
            "django.middleware.common.CommonMiddleware",
            "django.middleware.csrf.CsrfViewMiddleware",
        ],
        DATABASES={},
        USE_TZ=True,
        MCP_TOOLS=BASE_MCP_TOOLS,
    )
    django.setup()


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture(autouse=True, scope="session")
def _stop_bridges() -> Iterator[None]:
    yield
    from mcp_tools_django import runtime

    runtime.reload()  # stops the WSGI bridge's loop thread
