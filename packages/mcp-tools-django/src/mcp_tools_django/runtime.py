"""The objects this process serves, built from ``MCP_TOOLS`` on first use and discarded when
``MCP_TOOLS``, ``ALLOWED_HOSTS`` or ``DEBUG`` change (``override_settings``)."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any, Final, TypeVar

from django.core.exceptions import ImproperlyConfigured
from django.core.signals import setting_changed

from mcp_tools.errors import ConfigurationError
from mcp_tools.server.resource_server import McpResourceServer
from mcp_tools.server.wsgi import WsgiMcpEndpoint
from mcp_tools_django import hosts
from mcp_tools_django.loaders import load_options

#: Settings whose change discards what was built.
RELOAD_ON: Final = frozenset({"MCP_TOOLS", "ALLOWED_HOSTS", "DEBUG"})

_T = TypeVar("_T")
_lock = threading.RLock()
_built: dict[str, Any] = {}


def _once(name: str, build: Callable[[], _T]) -> _T:
    with _lock:
        if name not in _built:
            _built[name] = build()
        return _built[name]  # type: ignore[no-any-return]


def build_resource_server() -> McpResourceServer:
    """A new :class:`McpResourceServer` from ``MCP_TOOLS`` (``ImproperlyConfigured`` if unusable)."""
    try:
        return McpResourceServer(load_options())
    except ConfigurationError as exc:
        raise ImproperlyConfigured(str(exc)) from exc


def get_resource_server() -> McpResourceServer:
    """The process-wide :class:`McpResourceServer` built from ``MCP_TOOLS``."""
    server = _built.get("resource_server")
    return server if server is not None else _once("resource_server", build_resource_server)


def get_wsgi_endpoint() -> WsgiMcpEndpoint:
    """Its WSGI-side endpoint (the bridge's event-loop thread starts on the first request)."""
    endpoint = _built.get("wsgi")
    return endpoint if endpoint is not None else _once("wsgi", lambda: get_resource_server().wsgi_endpoint())


def reload() -> None:
    """Forget the built objects and Host decisions (stopping a running WSGI bridge)."""
    hosts.forget()
    with _lock:
        wsgi = _built.pop("wsgi", None)
        _built.clear()
    if isinstance(wsgi, WsgiMcpEndpoint):
        wsgi.shutdown(timeout=5.0)


def _on_setting_changed(*, setting: str, **_kwargs: Any) -> None:
    if setting in RELOAD_ON:
        reload()


setting_changed.connect(_on_setting_changed, dispatch_uid="mcp_tools_django.runtime.reload")
