"""System checks for ``MCP_TOOLS`` (``manage.py check``), with stable ids.

==================  =============================================================================
id                  problem
==================  =============================================================================
mcp_tools.E001      ``RESOURCE_URL`` is missing (outside ``DEBUG``; under ``DEBUG`` W001 notes the
                    development default ``http://localhost:8000/mcp``)
mcp_tools.E002      ``RESOURCE_URL`` is not a usable resource identifier (relative, query, ...)
mcp_tools.E003      ``RESOURCE_URL`` is not ``https`` outside ``DEBUG``
mcp_tools.E004      no authorization server (``AUTHORIZATION_SERVERS`` empty or not a list of URLs)
mcp_tools.E005      ``SERVER`` missing, unimportable or not an MCP server
mcp_tools.E006      ``VERIFIER`` missing, unimportable or failing to build
mcp_tools.E007      ``STORE`` unusable (unknown URL scheme, driver not installed, unimportable)
mcp_tools.E008      ``ALLOWED_HOSTS`` (or ``MCP_TOOLS['ALLOWED_HOSTS']``) does not admit the
                    resource host
mcp_tools.E009      ``MCP_TOOLS`` is not a dict
mcp_tools.E010      ``TOOL_SCOPES`` or ``AUTHORIZATION_SERVER_METADATA`` unusable
mcp_tools.W001      ``RESOURCE_URL`` missing under ``DEBUG``: the development default is used
mcp_tools.W002      unknown keys in ``MCP_TOOLS`` (typos)
==================  =============================================================================
"""

from __future__ import annotations

import importlib.util
from collections.abc import Sequence
from typing import Any
from urllib.parse import urlsplit

from django.conf import settings
from django.core.checks import CheckMessage, Error, Warning

from mcp_tools.server.resource import InvalidResourceURLError, validate_resource_url
from mcp_tools_django import conf
from mcp_tools_django.conf import mcp_settings

__all__ = ["check_mcp_tools"]

_STORE_DRIVERS = {
    "memory": None,
    "file": None,
    "sqlite": None,
    "redis": "redis",
    "rediss": "redis",
    "unix": "redis",
    "postgres": "psycopg",
    "postgresql": "psycopg",
}


def _error(number: int, msg: str, hint: str | None = None) -> Error:
    return Error(msg, hint=hint, id=f"mcp_tools.E{number:03d}")


def _check_resource_url() -> list[CheckMessage]:
    raw = mcp_settings.user_settings.get("RESOURCE_URL")
    if not raw:
        if settings.DEBUG:
            return [
                Warning(
                    f"MCP_TOOLS['RESOURCE_URL'] is not set; using {conf.DEBUG_RESOURCE_URL} "
                    "while DEBUG is on.",
                    hint="Set it to the exact URL clients use for the MCP endpoint.",
                    id="mcp_tools.W001",
                )
            ]
        return [
            _error(
                1,
                "MCP_TOOLS['RESOURCE_URL'] is not set.",
                "Set it to the exact URL clients use, e.g. 'https://api.example.com/mcp'.",
            )
        ]
    try:
        url = validate_resource_url(str(raw))
    except InvalidResourceURLError as exc:
        return [_error(2, f"MCP_TOOLS['RESOURCE_URL'] is not usable: {exc}")]
    messages: list[CheckMessage] = []
    if urlsplit(url).scheme.lower() != "https" and not settings.DEBUG:
        messages.append(
            _error(3, f"MCP_TOOLS['RESOURCE_URL'] {url!r} is not https.", "Plain http is for DEBUG only.")
        )
    return messages


def _check_authorization_servers() -> list[CheckMessage]:
    servers = mcp_settings.AUTHORIZATION_SERVERS
    hint = "Set MCP_TOOLS['AUTHORIZATION_SERVERS'] = ['https://auth.example.com'] (issuer URLs)."
    if not servers:
        return [_error(4, "No authorization server: MCP_TOOLS['AUTHORIZATION_SERVERS'] is empty.", hint)]
    if isinstance(servers, str) or not isinstance(servers, Sequence):
        return [_error(4, "MCP_TOOLS['AUTHORIZATION_SERVERS'] must be a list of issuer URLs.", hint)]
    bad = [s for s in servers if not isinstance(s, str) or urlsplit(s).scheme not in ("http", "https")]
    if bad:
        return [_error(4, f"MCP_TOOLS['AUTHORIZATION_SERVERS'] holds non-URLs: {bad!r}.", hint)]
    return []


def _check_loadable(number: int, loader: Any, what: str) -> list[CheckMessage]:
    try:
        loader()
    except Exception as exc:
        return [_error(number, f"MCP_TOOLS {what} is unusable: {type(exc).__name__}: {exc}")]
    return []


def _check_store() -> list[CheckMessage]:
    value = mcp_settings.STORE
    if not value:
        return []
    if isinstance(value, str) and "://" in value:
        scheme = value.split(":", 1)[0].lower()
        if scheme not in _STORE_DRIVERS:
            return [
                _error(
                    7,
                    f"MCP_TOOLS['STORE'] has an unsupported scheme {scheme!r}.",
                    "Use memory://, file:///path, sqlite:///path, redis://, rediss:// or postgresql://.",
                )
            ]
        driver = _STORE_DRIVERS[scheme]
        if driver is not None and importlib.util.find_spec(driver) is None:
            return [_error(7, f"MCP_TOOLS['STORE'] needs the {driver!r} package, which is not installed.")]
        return []
    try:
        conf.import_object(value) if isinstance(value, str) else value
    except Exception as exc:
        return [_error(7, f"MCP_TOOLS['STORE'] is unusable: {type(exc).__name__}: {exc}")]
    return []


def _check_allowed_hosts() -> list[CheckMessage]:
    url = mcp_settings.resource_url
    try:
        host = urlsplit(url).hostname if url else None
    except ValueError:
        return []
    if not host:
        return []
    shown = f"[{host}]" if ":" in host else host
    if conf.host_allowed(shown):
        return []
    return [
        _error(
            8,
            f"ALLOWED_HOSTS does not admit {shown!r}, the host of MCP_TOOLS['RESOURCE_URL'].",
            f"Add {shown!r} to ALLOWED_HOSTS (or to MCP_TOOLS['ALLOWED_HOSTS']).",
        )
    ]


def check_mcp_tools(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    """Every ``mcp_tools.*`` check (registered by the app config with the ``mcp_tools`` tag)."""
    conf.mcp_settings.clear()
    try:
        unknown = mcp_settings.unknown_keys()
    except Exception as exc:
        return [_error(9, str(exc), "MCP_TOOLS = {'RESOURCE_URL': ..., 'AUTHORIZATION_SERVERS': [...], ...}")]
    messages: list[CheckMessage] = []
    if unknown:
        messages.append(
            Warning(
                f"Unknown MCP_TOOLS keys: {', '.join(unknown)}.",
                hint="Check the spelling.",
                id="mcp_tools.W002",
            )
        )
    messages += _check_resource_url()
    messages += _check_authorization_servers()
    messages += _check_loadable(5, conf.load_server, "['SERVER']")
    messages += _check_loadable(6, conf.load_verifier, "['VERIFIER']")
    messages += _check_store()
    messages += _check_allowed_hosts()
    messages += _check_loadable(10, conf.load_extras, "['TOOL_SCOPES'] or ['AUTHORIZATION_SERVER_METADATA']")
    return messages
