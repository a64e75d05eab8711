"""Every option of McpOptions through ``settings.MCP_TOOLS`` (keys derived from the flat names),
the settings table of docs/django.md against them, and the checks built on the same loading."""

from __future__ import annotations

import pathlib
import re
from typing import Any

from django.core import checks
from django.test import override_settings
from django.urls import include, path

from mcp_tools.options import McpOptions, flat_fields
from mcp_tools_django import hosts
from mcp_tools_django.conf import DJANGO_SETTINGS, setting_key
from mcp_tools_django.handlers import streamable_http_handler
from mcp_tools_django.runtime import get_resource_server, get_wsgi_endpoint
from mcp_tools_django.wsgi import McpWsgiApplication
from tests.contract.options import assert_took_effect, sample_values
from tests.django.conftest import BASE_MCP_TOOLS

DOCS = pathlib.Path(__file__).resolve().parents[2] / "docs" / "django.md"

# What users write as import strings in settings.py (the rest as values: lists, dicts, numbers).
IMPORT_STRINGS = {
    name: f"tests.contract.options:{attr}"
    for name, attr in {
        "server": "SERVER",
        "verifier": "VERIFIER",
        "tool_scopes": "TOOL_SCOPES",
        "event_store": "EVENT_STORE",
    }.items()
}


def every_option() -> dict[str, Any]:
    values = sample_values()
    mcp_tools = {setting_key(name): IMPORT_STRINGS.get(name, value) for name, value in values.items()}
    mcp_tools["ALLOWED_HOSTS"] = ["mcp.example.com", ".proxy.internal"]  # Django's syntax
    return mcp_tools


def test_every_option_is_set_through_mcp_tools() -> None:
    values = sample_values()
    with override_settings(MCP_TOOLS=every_option(), MIDDLEWARE=[]):
        server = get_resource_server()
        assert_took_effect(server, {n: v for n, v in values.items() if n != "allowed_hosts"})
        # ALLOWED_HOSTS keeps Django's syntax: the core gets Django's rule as a predicate
        assert server.options.allowed_hosts is hosts.host_allowed
        assert server.policy.host_allowed("mcp.example.com")
        assert server.policy.host_allowed("a.proxy.internal:8443")
        assert not server.policy.host_allowed("api.example.com")
        wsgi = get_wsgi_endpoint()  # the endpoint served, not only a fresh one
        assert (wsgi.inline, wsgi.bridge.response_timeout, wsgi.bridge.startup_timeout) == (False, 33.0, 4.5)
        # WSGI_DISPATCH=False: the WSGI wrapper leaves the MCP path to Django
        seen: list[str] = []
        app = McpWsgiApplication(lambda environ, start_response: seen.append(environ["PATH_INFO"]) or [])
        app({"PATH_INFO": "/api/mcp"}, lambda status, headers: None)
        assert seen == ["/api/mcp"]
        assert checks.run_checks(tags=["mcp_tools"]) == []


def test_streamable_http_handler_takes_options_and_overrides() -> None:
    values = sample_values()
    options = McpOptions.from_values({n: v for n, v in values.items() if n != "max_sessions"})
    view = streamable_http_handler(options, max_sessions=values["max_sessions"])
    assert_took_effect(view.server, values)
    values.pop("allowed_hosts")
    view = streamable_http_handler(values.pop("server"), **values)
    assert view.server.options.allowed_hosts is hosts.host_allowed  # ALLOWED_HOSTS by default


def test_the_settings_table_lists_every_option() -> None:
    section = DOCS.read_text().split("## Settings (`MCP_TOOLS`)", 1)[1].split("\n## ", 1)[0]
    documented = set(re.findall(r"^\| `([A-Z_]+)`", section, flags=re.MULTILINE))
    expected = {setting_key(name) for name in flat_fields()} | set(DJANGO_SETTINGS)
    assert documented == expected


def _ids(**mcp_tools: Any) -> list[str]:
    with override_settings(MCP_TOOLS={**BASE_MCP_TOOLS, **mcp_tools}):
        return sorted(m.id for m in checks.run_checks(tags=["mcp_tools"]))


def test_other_unusable_options_have_their_own_id() -> None:
    assert _ids(MCP_PATH="mcp") == ["mcp_tools.E011"]
    assert _ids(MAX_REQUEST_BODY_SIZE=0) == ["mcp_tools.E011"]


def test_urls_included_under_a_prefix_are_refused() -> None:
    urlconf = type("Prefixed", (), {"urlpatterns": [path("api/", include("mcp_tools_django.urls"))]})
    with override_settings(ROOT_URLCONF=urlconf):
        messages = checks.run_checks(tags=["mcp_tools"])
    assert [m.id for m in messages] == ["mcp_tools.E012"]
    assert "'/api/mcp'" in messages[0].msg
    assert "path('', include('mcp_tools_django.urls'))" in (messages[0].hint or "")
