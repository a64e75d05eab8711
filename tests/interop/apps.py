"""The interop server (:mod:`tests.interop.conformance_server`) under each adapter.

Started as subprocesses by :mod:`tests.interop.conftest`, configured from the environment:

* FastAPI: ``uvicorn --factory tests.interop.apps:create_fastapi``
* Flask: ``gunicorn -k gthread 'tests.interop.apps:create_flask()'``
* Django: ``DJANGO_SETTINGS_MODULE=tests.interop.django_settings`` with
  ``gunicorn -k gthread tests.interop.apps:django_wsgi`` or ``uvicorn tests.interop.apps:django_asgi``
  (the latter two are attributes built lazily, so importing this module needs no Django set-up).
"""

from __future__ import annotations

from typing import Any

from tests.interop import conformance_server as cs


def create_fastapi() -> Any:
    from fastapi import FastAPI

    from mcp_tools_fastapi import create_mcp_router

    app = FastAPI(title="mcp-tools interop")
    app.include_router(
        create_mcp_router(
            cs.server,
            verifier=cs.build_verifier(),
            resource_url=cs.resource_url(),
            authorization_servers=cs.issuers(),
            scopes=cs.SCOPES,
            resource_name="mcp-tools interop",
            stateless=not cs.STATEFUL,
            json_response=not cs.STATEFUL,
        )
    )
    return app


def create_flask() -> Any:
    from flask import Flask

    from mcp_tools_flask import McpTools

    app = Flask("mcp_tools_interop")
    app.config.update(
        MCP_TOOLS_SERVER=cs.server,
        MCP_TOOLS_VERIFIER=cs.build_verifier(),
        MCP_TOOLS_RESOURCE_URL=cs.resource_url(),
        MCP_TOOLS_AUTHORIZATION_SERVERS=cs.issuers(),
        MCP_TOOLS_SCOPES=cs.SCOPES,
        MCP_TOOLS_RESOURCE_NAME="mcp-tools interop",
        MCP_TOOLS_STATELESS=not cs.STATEFUL,
        MCP_TOOLS_JSON_RESPONSE=not cs.STATEFUL,
    )
    McpTools(app)
    return app


def __getattr__(name: str) -> Any:
    if name == "django_wsgi":
        from django.core.wsgi import get_wsgi_application

        return get_wsgi_application()
    if name == "django_asgi":
        from mcp_tools_django.asgi import get_asgi_application

        return get_asgi_application()
    raise AttributeError(name)
