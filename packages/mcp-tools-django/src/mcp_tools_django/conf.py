"""The ``MCP_TOOLS`` setting: one namespaced dict, read lazily, rebuilt when settings change.

Keys (all optional except where the system checks say otherwise)::

    MCP_TOOLS = {
        "SERVER": "myproject.mcp:server",          # MCPServer / Server / factory, or the object
        "RESOURCE_URL": "https://api.example.com/mcp",
        "AUTHORIZATION_SERVERS": ["https://auth.example.com"],
        "VERIFIER": {"CLASS": "mcp_tools.server.verifiers.jwt.JWTVerifier",
                     "OPTIONS": {"jwks_uri": "https://auth.example.com/.well-known/jwks.json"}},
        "SCOPES": ["mcp:read"],
        "STORE": "redis://localhost:6379/0",
    }

Import strings may be written ``"package.module:attribute"`` or ``"package.module.attribute"``.
Nothing is imported or built until first used; a ``setting_changed`` signal for
``MCP_TOOLS``, ``ALLOWED_HOSTS`` or ``DEBUG`` (``override_settings`` in tests) discards what was
built, so the next request sees the new configuration.
"""

from __future__ import annotations

import importlib
import inspect
import threading
from collections.abc import Callable, Mapping, Sequence
from typing import Any, Final, cast
from urllib.parse import urlsplit

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.core.signals import setting_changed
from django.http.request import split_domain_port, validate_host

from mcp_tools.server.endpoint import DEFAULT_MAX_BODY, ServerSource
from mcp_tools.server.resource_server import ClerkAuthorizationServerMetadata, McpResourceServer
from mcp_tools.server.verifiers.base import McpTokenVerifier
from mcp_tools.server.wsgi import WsgiMcpEndpoint
from mcp_tools.stores.base import BaseStore

__all__ = [
    "DEBUG_RESOURCE_URL",
    "DEFAULTS",
    "McpToolsSettings",
    "get_resource_server",
    "get_store",
    "get_wsgi_endpoint",
    "host_allowed",
    "import_object",
    "load_extras",
    "load_server",
    "load_verifier",
    "mcp_settings",
    "reload",
]

#: The resource URL used when ``RESOURCE_URL`` is missing and ``DEBUG`` is on (``runserver``).
DEBUG_RESOURCE_URL: Final = "http://localhost:8000/mcp"

DEFAULTS: Final[Mapping[str, Any]] = {
    "SERVER": None,
    "RESOURCE_URL": None,
    "AUTHORIZATION_SERVERS": [],
    "VERIFIER": None,
    "SCOPES": [],
    "SCOPES_SUPPORTED": None,
    "TOOL_SCOPES": None,
    "MCP_PATH": None,
    "RESOURCE_NAME": None,
    "RESOURCE_DOCUMENTATION": None,
    "AUTHORIZATION_SERVER_METADATA": None,
    "ALLOWED_HOSTS": None,
    "ALLOWED_ORIGINS": None,
    "STATELESS": True,
    "JSON_RESPONSE": True,
    "MAX_REQUEST_BODY_SIZE": DEFAULT_MAX_BODY,
    "STORE": None,
    "STORE_OPTIONS": {},
}

_RELOAD_ON: Final = frozenset({"MCP_TOOLS", "ALLOWED_HOSTS", "DEBUG"})


class McpToolsSettings:
    """Attribute access to ``settings.MCP_TOOLS`` with defaults (``mcp_settings.RESOURCE_URL``).

    The dict is read on first access and cached until :func:`reload`.
    """

    def __init__(self) -> None:
        self._cache: dict[str, Any] | None = None

    @property
    def user_settings(self) -> dict[str, Any]:
        """``settings.MCP_TOOLS`` as given (``{}`` when absent)."""
        if self._cache is None:
            raw = getattr(settings, "MCP_TOOLS", None)
            if raw is None:
                raw = {}
            if not isinstance(raw, Mapping):
                raise ImproperlyConfigured("settings.MCP_TOOLS must be a dict")
            self._cache = dict(raw)
        return self._cache

    def unknown_keys(self) -> list[str]:
        """Keys of ``MCP_TOOLS`` this package does not know (likely typos)."""
        return sorted(k for k in self.user_settings if k not in DEFAULTS)

    def __getattr__(self, name: str) -> Any:
        if name not in DEFAULTS:
            raise AttributeError(f"unknown MCP_TOOLS setting {name!r}")
        return self.user_settings.get(name, DEFAULTS[name])

    @property
    def resource_url(self) -> str | None:
        """``RESOURCE_URL``, or :data:`DEBUG_RESOURCE_URL` when it is missing under ``DEBUG``."""
        value = self.user_settings.get("RESOURCE_URL")
        if not value and settings.DEBUG:
            return DEBUG_RESOURCE_URL
        return str(value) if value else None

    @property
    def mcp_path(self) -> str:
        """The route of the MCP endpoint: ``MCP_PATH``, else the path of the resource URL."""
        explicit = self.user_settings.get("MCP_PATH")
        if explicit:
            return str(explicit)
        url = self.resource_url
        return (urlsplit(url).path or "/") if url else "/mcp"

    def clear(self) -> None:
        self._cache = None


mcp_settings = McpToolsSettings()


# -- import strings --------------------------------------------------------------------------


def import_object(path: str) -> Any:
    """Import ``"package.module:attr"`` or ``"package.module.attr"`` (dotted attributes allowed
    after the colon). Raises :class:`ImportError` with the path in the message."""
    if not isinstance(path, str) or not path:
        raise ImportError(f"not an import string: {path!r}")
    if ":" in path:
        module_name, _, attr_path = path.partition(":")
    else:
        module_name, _, attr_path = path.rpartition(".")
    if not module_name or not attr_path:
        raise ImportError(f"{path!r} is not 'package.module:attribute'")
    module = importlib.import_module(module_name)
    obj: Any = module
    for part in attr_path.split("."):
        try:
            obj = getattr(obj, part)
        except AttributeError:
            raise ImportError(f"module {module_name!r} has no attribute {attr_path!r}") from None
    return obj


def _resolve(value: Any) -> Any:
    return import_object(value) if isinstance(value, str) else value


def load_server(value: Any = None) -> ServerSource:
    """The ``SERVER`` setting as an SDK server (or a factory, called when the endpoint starts)."""
    from mcp.server.lowlevel.server import Server
    from mcp.server.mcpserver import MCPServer

    value = mcp_settings.SERVER if value is None else value
    if value is None:
        raise ImproperlyConfigured("MCP_TOOLS['SERVER'] is not set (e.g. 'myproject.mcp:server')")
    server = _resolve(value)
    if isinstance(server, (MCPServer, Server)):
        return server
    if callable(server) and not inspect.isclass(server):
        return server  # type: ignore[no-any-return]
    raise ImproperlyConfigured(
        f"MCP_TOOLS['SERVER'] must name an mcp.server.MCPServer, a low-level Server or a factory "
        f"returning one; got {type(server).__name__}"
    )


def _verifier_defaults(factory: Callable[..., Any], options: dict[str, Any]) -> dict[str, Any]:
    """Fill ``audience`` (the resource URL) and ``issuer`` (the single authorization server)
    when the verifier class accepts them and they were not given."""
    try:
        parameters = inspect.signature(factory).parameters
    except (TypeError, ValueError):
        return options
    filled = dict(options)
    if "audience" in parameters and "audience" not in filled and mcp_settings.resource_url:
        filled["audience"] = mcp_settings.resource_url
    servers = mcp_settings.AUTHORIZATION_SERVERS
    single = isinstance(servers, Sequence) and not isinstance(servers, str) and len(servers) == 1
    if "issuer" in parameters and "issuer" not in filled and single:
        filled["issuer"] = servers[0]
    return filled


def load_verifier(value: Any = None) -> McpTokenVerifier:
    """The ``VERIFIER`` setting as a token verifier.

    Accepted: a verifier instance; an import string naming an instance, a class or a factory;
    or ``{"CLASS": <import string or class>, "OPTIONS": {...}}``. Classes and factories are
    called with ``OPTIONS``, plus ``audience=RESOURCE_URL`` and ``issuer=<the authorization
    server>`` when they accept those and ``OPTIONS`` does not set them.
    """
    value = mcp_settings.VERIFIER if value is None else value
    if value is None:
        raise ImproperlyConfigured(
            "MCP_TOOLS['VERIFIER'] is not set (e.g. {'CLASS': "
            "'mcp_tools.server.verifiers.jwt.JWTVerifier', 'OPTIONS': {'jwks_uri': ...}})"
        )
    options: dict[str, Any] = {}
    if isinstance(value, Mapping):
        if "CLASS" not in value:
            raise ImproperlyConfigured("MCP_TOOLS['VERIFIER'] as a dict needs a 'CLASS' entry")
        unknown = set(value) - {"CLASS", "OPTIONS"}
        if unknown:
            names = ", ".join(sorted(unknown))
            raise ImproperlyConfigured(f"MCP_TOOLS['VERIFIER'] has unknown keys: {names}")
        options = dict(value.get("OPTIONS") or {})
        value = value["CLASS"]
    target = _resolve(value)
    verifier = target
    if inspect.isclass(target) or (callable(target) and not hasattr(target, "verify_token")):
        try:
            verifier = target(**_verifier_defaults(target, options))
        except (TypeError, ValueError) as exc:
            raise ImproperlyConfigured(f"MCP_TOOLS['VERIFIER'] could not be created: {exc}") from exc
    if not callable(getattr(verifier, "verify_token", None)):
        raise ImproperlyConfigured(
            f"MCP_TOOLS['VERIFIER'] must be a token verifier (verify_token); got {type(verifier).__name__}"
        )
    return cast(McpTokenVerifier, verifier)


def _load_authorization_server_metadata(value: Any) -> Any:
    if value is None or isinstance(value, Mapping):
        return value
    if value == "clerk":
        return ClerkAuthorizationServerMetadata()
    loaded = _resolve(value)
    return loaded() if inspect.isclass(loaded) else loaded


def _load_tool_scopes(value: Any) -> Mapping[str, Any] | None:
    loaded = _resolve(value)
    if loaded is not None and not isinstance(loaded, Mapping):
        raise ImproperlyConfigured("MCP_TOOLS['TOOL_SCOPES'] must be a mapping (e.g. a ToolScopes)")
    return loaded


def load_extras() -> tuple[Mapping[str, Any] | None, Any]:
    """``TOOL_SCOPES`` and ``AUTHORIZATION_SERVER_METADATA`` as objects (for the checks)."""
    return (
        _load_tool_scopes(mcp_settings.TOOL_SCOPES),
        _load_authorization_server_metadata(mcp_settings.AUTHORIZATION_SERVER_METADATA),
    )


# -- built objects -----------------------------------------------------------------------------

_lock = threading.RLock()
_built: dict[str, Any] = {}


def build_resource_server() -> McpResourceServer:
    """A new :class:`McpResourceServer` from the current settings (raises on bad settings)."""
    resource_url = mcp_settings.resource_url
    if not resource_url:
        raise ImproperlyConfigured(
            "MCP_TOOLS['RESOURCE_URL'] is not set (e.g. 'https://api.example.com/mcp')"
        )
    servers = mcp_settings.AUTHORIZATION_SERVERS
    if not servers or isinstance(servers, str):
        raise ImproperlyConfigured(
            "MCP_TOOLS['AUTHORIZATION_SERVERS'] must be a non-empty list of issuer URLs"
        )
    return McpResourceServer(
        load_server(),
        verifier=load_verifier(),
        resource_url=resource_url,
        authorization_servers=list(servers),
        scopes=list(mcp_settings.SCOPES),
        scopes_supported=mcp_settings.SCOPES_SUPPORTED,
        tool_scopes=_load_tool_scopes(mcp_settings.TOOL_SCOPES),
        mcp_path=mcp_settings.mcp_path,
        resource_name=mcp_settings.RESOURCE_NAME,
        resource_documentation=mcp_settings.RESOURCE_DOCUMENTATION,
        authorization_server_metadata=_load_authorization_server_metadata(
            mcp_settings.AUTHORIZATION_SERVER_METADATA
        ),
        # The Host header is checked by the adapter with Django's ALLOWED_HOSTS semantics
        # (leading-dot subdomains included), before the request reaches the core.
        allowed_hosts=["*"],
        allowed_origins=mcp_settings.ALLOWED_ORIGINS,
        stateless=bool(mcp_settings.STATELESS),
        json_response=bool(mcp_settings.JSON_RESPONSE),
        max_request_body_size=int(mcp_settings.MAX_REQUEST_BODY_SIZE),
    )


def get_resource_server() -> McpResourceServer:
    """The process-wide :class:`McpResourceServer` built from ``MCP_TOOLS`` (built on first use)."""
    server = _built.get("resource_server")
    if server is None:
        with _lock:
            server = _built.get("resource_server")
            if server is None:
                server = _built["resource_server"] = build_resource_server()
    assert isinstance(server, McpResourceServer)
    return server


def get_wsgi_endpoint() -> WsgiMcpEndpoint:
    """The WSGI-side endpoint (the bridge's event-loop thread starts on the first request)."""
    endpoint = _built.get("wsgi")
    if endpoint is None:
        with _lock:
            endpoint = _built.get("wsgi")
            if endpoint is None:
                endpoint = _built["wsgi"] = WsgiMcpEndpoint(get_resource_server().endpoint)
    assert isinstance(endpoint, WsgiMcpEndpoint)
    return endpoint


def get_store(url: str | None = None) -> BaseStore:
    """A store from ``url`` or the ``STORE`` setting (a URL such as ``redis://...``, or an import
    string naming a store or a factory). A new store each call: close it when done."""
    from mcp_tools.stores.url import store_from_url

    value = url if url is not None else mcp_settings.STORE
    if not value:
        raise ImproperlyConfigured("MCP_TOOLS['STORE'] is not set (e.g. 'redis://localhost:6379/0')")
    if isinstance(value, str) and "://" in value:
        return store_from_url(value, **dict(mcp_settings.STORE_OPTIONS or {}))
    store = _resolve(value)
    if callable(store) and not isinstance(store, BaseStore):
        store = store()
    if not isinstance(store, BaseStore):
        raise ImproperlyConfigured(f"MCP_TOOLS['STORE'] did not give a store; got {type(store).__name__}")
    return store


def allowed_host_patterns() -> list[str]:
    """Host patterns for the MCP endpoint: ``MCP_TOOLS['ALLOWED_HOSTS']``, else Django's
    ``ALLOWED_HOSTS`` (with Django's own localhost default under ``DEBUG``)."""
    explicit = mcp_settings.ALLOWED_HOSTS
    patterns = list(explicit) if explicit is not None else list(settings.ALLOWED_HOSTS)
    if settings.DEBUG and not patterns:
        patterns = [".localhost", "127.0.0.1", "[::1]"]
    return patterns


_HOST_MEMO_SIZE = 256
_host_memo: dict[str, bool] = {}  # Host header value -> decision; emptied by reload()


def host_allowed(host: str | None) -> bool:
    """Whether a ``Host`` header value is admitted, with Django's ``ALLOWED_HOSTS`` semantics.

    Decisions are remembered per header value (at most 256, then forgotten wholesale, so a
    client sending random Host values costs no memory) until the settings change.
    """
    if not host:
        return False
    known = _host_memo.get(host)
    if known is not None:
        return known
    domain, _port = split_domain_port(host)
    allowed = bool(domain) and validate_host(domain, allowed_host_patterns())
    if len(_host_memo) >= _HOST_MEMO_SIZE:
        _host_memo.clear()
    _host_memo[host] = allowed
    return allowed


def reload() -> None:
    """Forget the cached settings and built objects (stopping a running WSGI bridge)."""
    _host_memo.clear()
    with _lock:
        mcp_settings.clear()
        wsgi = _built.pop("wsgi", None)
        _built.clear()
    if isinstance(wsgi, WsgiMcpEndpoint):
        wsgi.shutdown(timeout=5.0)


def _on_setting_changed(*, setting: str, **_kwargs: Any) -> None:
    if setting in _RELOAD_ON:
        reload()
        if setting == "MCP_TOOLS":
            from mcp_tools_django import urls

            urls.rebuild()


setting_changed.connect(_on_setting_changed, dispatch_uid="mcp_tools_django.conf.reload")
