"""The client views contract for Django: a real browser session, oidc-provider, the example MCP server."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from django.core.handlers.wsgi import WSGIHandler
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.middleware.csrf import get_token
from django.test.utils import override_settings
from django.urls import clear_url_caches, path

from mcp_tools.client import McpClient, get_client_by_session_id
from mcp_tools.stores import MemoryStore
from mcp_tools_django import complete_oauth_handler, connect_handler
from tests.contract.client_views import (  # noqa: F401 - fixtures
    GUARD,
    SECRET,
    ClientViewsContract,
    auth_server,
    mcp_server,
    oauth_as_installed,
)
from tests.django import client_urls
from tests.support.servers import free_port, wsgi_thread


@pytest.fixture(scope="module")
def web_app() -> Iterator[tuple[str, MemoryStore]]:
    store = MemoryStore()
    port = free_port()
    base = f"http://127.0.0.1:{port}"

    def connected(client: McpClient, request: HttpRequest) -> HttpResponse:
        return JsonResponse({"session_id": client.session_id})

    def connect_form(request: HttpRequest) -> HttpResponse:  # the app's page: {% csrf_token %} in a form
        token = get_token(request)
        hidden = f'<input type="hidden" name="csrfmiddlewaretoken" value="{token}">'
        return HttpResponse(f'<form method="post" action="/connect">{hidden}<input name="mcp_endpoint">')

    def notes(request: HttpRequest) -> HttpResponse:
        client = get_client_by_session_id(session_id=request.GET["session_id"], store=store, url_guard=GUARD)
        return JsonResponse(client.call_tool_sync("read_notes", {}).structured_content)

    client_urls.urlpatterns[:] = [
        path(
            "connect",
            connect_handler(
                store,
                secret=SECRET,
                oauth_redirect_url=f"{base}/oauth/callback",
                mcp_client_name="django-app",
                mcp_client_version="1.0",
                url_guard=GUARD,
            ),
        ),
        path("oauth/callback", complete_oauth_handler(store, connected, secret=SECRET, url_guard=GUARD)),
        path("connect-form", connect_form),
        path("notes", notes),
    ]
    with override_settings(ROOT_URLCONF="tests.django.client_urls", ALLOWED_HOSTS=["127.0.0.1"]):
        clear_url_caches()
        with wsgi_thread(WSGIHandler(), port):
            yield base, store
    clear_url_caches()


class TestDjangoClientViews(ClientViewsContract):
    pass
