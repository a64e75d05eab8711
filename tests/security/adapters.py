"""Every adapter, built the way the contract suite builds it, behind one ``ContractClient`` shape.

``open_adapter(kind)`` yields a client for ``fastapi``, ``flask``, ``django-wsgi`` or
``django-asgi``; ``stateless=False`` turns on 2025-era ``Mcp-Session-Id`` sessions (JSON
responses) and ``verifier=`` swaps the contract verifier (JWKS outage tests). The WSGI clients
announce a multithreaded server, as gunicorn ``gthread`` does, since stateful sessions need one.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

from django.test import Client as DjangoClient
from django.test import override_settings
from fastapi import FastAPI
from fastapi.testclient import TestClient
from flask import Flask

import tests.django.conftest as django_settings  # configures Django (self-contained, no pytest-django)
from mcp_tools.server.verifiers.base import McpTokenVerifier
from mcp_tools_django import runtime as django_runtime
from mcp_tools_django.asgi import get_asgi_application
from mcp_tools_fastapi import create_mcp_router
from mcp_tools_flask import create_mcp_blueprint
from tests.contract.spec import ORIGIN, ContractSettings
from tests.contract.suite import ContractClient, HttpResult
from tests.django.clients import AsgiContractClient, DjangoWsgiContractClient
from tests.fastapi.test_contract import StarletteContractClient

ADAPTERS = ("fastapi", "flask", "django-wsgi", "django-asgi")

#: What a threaded WSGI server (gunicorn gthread, waitress) puts in ``environ``.
THREADED: dict[str, Any] = {"wsgi.multithread": True, "wsgi.multiprocess": False}


class FlaskThreadedClient:
    """The contract's Flask client, with the environ of a threaded WSGI server."""

    def __init__(self, app: Flask) -> None:
        self._client = app.test_client()

    def request(
        self, method: str, path: str, *, headers: dict[str, str] | None = None, body: bytes | None = None
    ) -> HttpResult:
        response = self._client.open(
            path,
            method=method,
            headers=list((headers or {}).items()),
            data=body,
            base_url=ORIGIN,
            environ_overrides=THREADED,
        )
        return HttpResult(
            status=response.status_code,
            headers={k.lower(): v for k, v in response.headers.items()},
            body=response.get_data(),
        )


class DjangoThreadedClient(DjangoWsgiContractClient):
    """The contract's Django WSGI client, with the environ of a threaded WSGI server."""

    def __init__(self, host: str = "api.example.com") -> None:
        super().__init__(host)
        environ: dict[str, Any] = {"HTTP_HOST": host, **THREADED}
        self.client = DjangoClient(enforce_csrf_checks=True, **environ)


def _fastapi_app(settings: ContractSettings, *, stateless: bool) -> FastAPI:
    app = FastAPI()
    app.include_router(
        create_mcp_router(
            settings.server,
            verifier=settings.verifier,
            resource_url=settings.resource_url,
            authorization_servers=settings.authorization_servers,
            scopes=settings.scopes,
            tool_scopes=settings.tool_scopes,
            authorization_server_metadata=settings.authorization_server_metadata,
            stateless=stateless,
        )
    )
    return app


def _flask_app(settings: ContractSettings, *, stateless: bool) -> tuple[Flask, Any]:
    app = Flask(__name__)
    blueprint = create_mcp_blueprint(
        settings.server,
        verifier=settings.verifier,
        resource_url=settings.resource_url,
        authorization_servers=settings.authorization_servers,
        scopes=settings.scopes,
        tool_scopes=settings.tool_scopes,
        authorization_server_metadata=settings.authorization_server_metadata,
        stateless=stateless,
    )
    app.register_blueprint(blueprint)
    return app, blueprint


class _VerifierHolder:
    """Named by import string in ``MCP_TOOLS["VERIFIER"]`` when a test swaps the verifier."""

    verifier: McpTokenVerifier | None = None


holder = _VerifierHolder()


def current_verifier() -> McpTokenVerifier:
    assert holder.verifier is not None
    return holder.verifier


def django_mcp_tools(*, stateless: bool, verifier: McpTokenVerifier | None) -> dict[str, Any]:
    settings: dict[str, Any] = dict(django_settings.BASE_MCP_TOOLS)
    settings["STATELESS"] = stateless
    if verifier is not None:
        holder.verifier = verifier
        settings["VERIFIER"] = "tests.security.adapters:current_verifier"
    return settings


@contextlib.contextmanager
def open_adapter(
    kind: str, *, stateless: bool = True, verifier: McpTokenVerifier | None = None
) -> Iterator[ContractClient]:
    """A contract client for adapter ``kind``; everything it started is stopped on exit."""
    settings = ContractSettings()
    if verifier is not None:
        settings.verifier = verifier  # type: ignore[assignment]
    if kind == "fastapi":
        with TestClient(_fastapi_app(settings, stateless=stateless), base_url=ORIGIN) as client:
            yield StarletteContractClient(client)
    elif kind == "flask":
        app, blueprint = _flask_app(settings, stateless=stateless)
        try:
            yield FlaskThreadedClient(app)
        finally:
            blueprint.shutdown()
    elif kind == "django-wsgi":
        with override_settings(MCP_TOOLS=django_mcp_tools(stateless=stateless, verifier=verifier)):
            try:
                yield DjangoThreadedClient()
            finally:
                django_runtime.reload()  # stops this configuration's bridge thread
    elif kind == "django-asgi":
        with override_settings(MCP_TOOLS=django_mcp_tools(stateless=stateless, verifier=verifier)):
            try:
                with TestClient(get_asgi_application(), base_url=ORIGIN) as client:
                    yield AsgiContractClient(client)
            finally:
                django_runtime.reload()
    else:
        raise ValueError(kind)
