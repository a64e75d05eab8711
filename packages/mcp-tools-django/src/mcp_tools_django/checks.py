"""System checks for ``MCP_TOOLS`` (``manage.py check``), with stable ids.

The options are checked by building them as the app does (:func:`.loaders.load_options`); the
first unusable one is reported with the id of its key. The ids (E001 to E012, W001 to W003) and
their meaning are listed in ``docs/django.md``.
"""

from __future__ import annotations

import importlib.util
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

from django.conf import settings
from django.core.checks import CheckMessage, Error, Warning
from django.core.exceptions import ImproperlyConfigured
from django.urls import NoReverseMatch, reverse

from mcp_tools.errors import ConfigurationError
from mcp_tools.options import import_object
from mcp_tools.server.resource import InvalidResourceURLError
from mcp_tools.server.resource_server import McpResourceServer
from mcp_tools_django import conf
from mcp_tools_django.hosts import host_allowed
from mcp_tools_django.loaders import load_options

# The id of each option's problems (by flat name); other options: E011.
_IDS = {"resource_url": 1, "authorization_servers": 4, "server": 5, "verifier": 6, "jwks_uri": 6}
_IDS |= {"tool_scopes": 10, "authorization_server_metadata": 10}
_STORE_DRIVERS = {
    "memory": "",
    "file": "",
    "sqlite": "",
    "redis": "redis",
    "rediss": "redis",
    "unix": "redis",
}
_STORE_DRIVERS |= {"postgres": "psycopg", "postgresql": "psycopg"}


def _error(number: int, msg: str, hint: str | None = None) -> Error:
    return Error(msg, hint=hint, id=f"mcp_tools.E{number:03d}")


def _check_options(raw: Mapping[str, Any]) -> list[CheckMessage]:
    named: list[str] = []  # the option whose problem is reported (the loader spells it for users)

    def describe(name: str) -> str:
        named.append(name)
        return conf.describe(name)

    known = {key: value for key, value in raw.items() if key not in conf.unknown_keys(raw)}
    try:
        server = McpResourceServer(load_options(known, describe=describe))
    except ConfigurationError as exc:
        if isinstance(exc, InvalidResourceURLError):
            return [_error(2, f"MCP_TOOLS['RESOURCE_URL'] is not usable: {exc}")]
        return [_error(_IDS.get(named[0], 11) if named else 11, str(exc))]
    url = server.resource_url
    host = urlsplit(url).hostname or ""
    shown = f"[{host}]" if ":" in host else host
    expected = (server.mcp_path, server.metadata_path)
    try:
        routed = reverse("mcp_tools:mcp"), reverse("mcp_tools:protected-resource")
    except NoReverseMatch:  # not included: routes wired by hand
        routed = expected
    problems = [
        (
            url.startswith("http:") and not settings.DEBUG,
            3,
            f"{url!r} is not https.",
            "http is for DEBUG only.",
        ),
        (
            not host_allowed(shown),
            8,
            f"ALLOWED_HOSTS does not admit {shown!r}, the host of MCP_TOOLS['RESOURCE_URL'].",
            f"Add {shown!r} to ALLOWED_HOSTS (or to MCP_TOOLS['ALLOWED_HOSTS']).",
        ),
        (
            routed != expected,
            12,
            f"mcp_tools_django.urls serves the MCP endpoint at {routed[0]!r}, not at {expected[0]!r} "
            "where MCP_TOOLS['RESOURCE_URL'] puts it, so clients cannot find it or its metadata.",
            "Include it at the root: path('', include('mcp_tools_django.urls')); the paths come from "
            "RESOURCE_URL.",
        ),
    ]
    return [_error(number, msg, hint) for failed, number, msg, hint in problems if failed]


def _check_store(value: Any) -> list[CheckMessage]:
    if (conf.django_setting("STORE_OPTIONS") or {}).get("encryption_keys") == [] and not settings.DEBUG:
        text = "STORE_OPTIONS['encryption_keys'] is []: tokens and client secrets are stored in clear."
        return [Warning(text, hint="Drop it to derive the keys from SECRET_KEY.", id="mcp_tools.W003")]
    if isinstance(value, str) and "://" in value:
        scheme = value.split(":", 1)[0].lower()
        if scheme not in _STORE_DRIVERS:
            hint = "Use memory://, file:///path, sqlite:///path, redis://, rediss:// or postgresql://."
            return [_error(7, f"MCP_TOOLS['STORE'] has an unsupported scheme {scheme!r}.", hint)]
        driver = _STORE_DRIVERS[scheme]
        if driver and importlib.util.find_spec(driver) is None:
            return [_error(7, f"MCP_TOOLS['STORE'] needs the {driver!r} package, which is not installed.")]
    elif isinstance(value, str) and value:
        try:
            import_object(value)
        except ImportError as exc:
            return [_error(7, f"MCP_TOOLS['STORE'] is unusable: {exc}")]
    return []


def check_mcp_tools(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    """Every ``mcp_tools.*`` check (registered by the app config with the ``mcp_tools`` tag)."""
    try:
        raw = conf.user_settings()
    except ImproperlyConfigured as exc:
        return [_error(9, str(exc), "MCP_TOOLS = {'RESOURCE_URL': ..., 'AUTHORIZATION_SERVERS': [...], ...}")]
    messages: list[CheckMessage] = []
    if unknown := conf.unknown_keys(raw):
        messages.append(Warning(f"Unknown MCP_TOOLS keys: {', '.join(unknown)}.", id="mcp_tools.W002"))
    if not raw.get("RESOURCE_URL") and settings.DEBUG:
        text = f"MCP_TOOLS['RESOURCE_URL'] is not set; using {conf.DEBUG_RESOURCE_URL} while DEBUG is on."
        messages.append(Warning(text, hint="Set it to the URL clients use.", id="mcp_tools.W001"))
    return messages + _check_options(raw) + _check_store(raw.get("STORE"))
