"""The three MCP servers of the demo, one per framework, each built with its adapter.

Every builder imports its framework inside the function: importing the demo (which the
``mcp-tools`` command line does to register ``mcp-tools demo``) loads no framework, and the demo
without an adapter still starts far enough to explain what to install. Each server has the
tools of :mod:`mcp_tools_demo.tools`, requires
``notes:read`` for every call and ``notes:write`` for ``add_note``.
"""

from __future__ import annotations

import secrets
import sys
import types
from typing import Any

from mcp_tools.server.verifiers.jwt import JWTVerifier

from .tools import READ_SCOPE, build_mcp_server

__all__ = ["FRAMEWORKS", "django_mcp_app", "fastapi_mcp_app", "flask_mcp_app"]

#: (framework, adapter distribution, adapter import, framework import) in start order.
FRAMEWORKS = (
    ("fastapi", "mcp-tools-fastapi", "mcp_tools_fastapi", "fastapi"),
    ("flask", "mcp-tools-flask", "mcp_tools_flask", "flask"),
    ("django", "mcp-tools-django", "mcp_tools_django", "django"),
)


def _index_text(framework: str, resource_url: str) -> str:
    return (
        f"This is the {framework} MCP server of the mcp-tools demo.\n"
        f"MCP endpoint (OAuth-protected): {resource_url}\n"
        f"Protected resource metadata: {resource_url.rsplit('/', 1)[0]}/.well-known/oauth-protected-resource/"
        f"{resource_url.rsplit('/', 1)[1]}\n"
    )


def fastapi_mcp_app(*, resource_url: str, issuer: str, verifier: JWTVerifier) -> Any:
    """A FastAPI app (ASGI) serving the demo MCP server at ``resource_url``."""
    from fastapi import FastAPI
    from fastapi.responses import PlainTextResponse

    from mcp_tools_fastapi import create_mcp_router

    server, tool_scopes = build_mcp_server("fastapi")
    app = FastAPI(title="mcp-tools demo (FastAPI)", docs_url=None, redoc_url=None, openapi_url=None)
    app.include_router(
        create_mcp_router(
            server,
            verifier=verifier,
            resource_url=resource_url,
            authorization_servers=[issuer],
            scopes=[READ_SCOPE],
            tool_scopes=tool_scopes,
            resource_name="mcp-tools demo (FastAPI)",
        )
    )

    @app.get("/")
    async def index() -> PlainTextResponse:
        return PlainTextResponse(_index_text("FastAPI", resource_url))

    return app


def flask_mcp_app(*, resource_url: str, issuer: str, verifier: JWTVerifier) -> Any:
    """A Flask app (WSGI) serving the demo MCP server through :class:`mcp_tools_flask.McpTools`."""
    from flask import Flask

    from mcp_tools_flask import McpTools

    server, tool_scopes = build_mcp_server("flask")
    app = Flask("mcp_tools_demo_flask")
    app.config.update(
        MCP_TOOLS_SERVER=server,
        MCP_TOOLS_VERIFIER=verifier,
        MCP_TOOLS_RESOURCE_URL=resource_url,
        MCP_TOOLS_AUTHORIZATION_SERVERS=[issuer],
        MCP_TOOLS_SCOPES=[READ_SCOPE],
        MCP_TOOLS_TOOL_SCOPES=tool_scopes,
        MCP_TOOLS_RESOURCE_NAME="mcp-tools demo (Flask)",
    )
    McpTools(app)

    @app.get("/")
    def index() -> tuple[str, int, dict[str, str]]:
        return _index_text("Flask", resource_url), 200, {"Content-Type": "text/plain; charset=utf-8"}

    return app


DJANGO_URLCONF = "mcp_tools_demo_django_urls"


def django_mcp_app(*, resource_url: str, issuer: str, verifier: JWTVerifier) -> Any:
    """A Django project (ASGI, :func:`mcp_tools_django.asgi.get_asgi_application`) configured in memory.

    Django's settings are global to the process, so this can be called once per process.
    """
    import django
    from django.conf import settings
    from django.http import HttpRequest, HttpResponse
    from django.urls import include, path

    if settings.configured:
        raise RuntimeError(
            "Django is already configured in this process; the demo configures its own project"
        )
    server, tool_scopes = build_mcp_server("django")
    urls = types.ModuleType(DJANGO_URLCONF)
    sys.modules[DJANGO_URLCONF] = urls
    settings.configure(
        DEBUG=True,  # http on 127.0.0.1 is accepted as a resource URL under DEBUG only
        SECRET_KEY=secrets.token_urlsafe(32),
        ALLOWED_HOSTS=["127.0.0.1"],
        INSTALLED_APPS=["mcp_tools_django"],
        MIDDLEWARE=["django.middleware.common.CommonMiddleware"],
        ROOT_URLCONF=DJANGO_URLCONF,
        DATABASES={},
        USE_TZ=True,
        MCP_TOOLS={
            "SERVER": server,
            "TOOL_SCOPES": tool_scopes,
            "RESOURCE_URL": resource_url,
            "AUTHORIZATION_SERVERS": [issuer],
            "VERIFIER": verifier,
            "SCOPES": [READ_SCOPE],
            "RESOURCE_NAME": "mcp-tools demo (Django)",
        },
    )
    django.setup()

    def index(_request: HttpRequest) -> HttpResponse:
        return HttpResponse(_index_text("Django", resource_url), content_type="text/plain; charset=utf-8")

    urls.urlpatterns = [path("", index), path("", include("mcp_tools_django.urls"))]  # type: ignore[attr-defined]

    from mcp_tools_django.asgi import get_asgi_application

    return get_asgi_application()
