"""The ``McpTools`` Flask extension: configuration from ``app.config``, state in ``app.extensions``."""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Final, TypeVar, overload

from flask import Flask, current_app
from werkzeug.utils import import_string

from mcp_tools.server.bearer import BearerGuard
from mcp_tools.server.endpoint import DEFAULT_MAX_BODY
from mcp_tools.server.resource import ConfigurationError
from mcp_tools.server.resource_server import McpResourceServer
from mcp_tools.server.verifiers.jwt import JWTVerifier

from .blueprint import McpBlueprint, create_mcp_blueprint
from .views import protect_view

__all__ = ["CONFIG_PREFIX", "DEFAULTS", "EXTENSION_KEY", "McpTools", "McpToolsState"]

F = TypeVar("F", bound=Callable[..., Any])

EXTENSION_KEY: Final = "mcp_tools"
CONFIG_PREFIX: Final = "MCP_TOOLS_"
_REQUIRED = object()

#: Every setting, with its default; ``app.config`` key is ``MCP_TOOLS_<NAME>``.
DEFAULTS: Final[dict[str, Any]] = {
    "server": _REQUIRED,  # MCPServer/Server/factory, or "module:attribute"
    "verifier": None,  # token verifier, or "module:attribute"; None: JWT from jwks_uri
    "resource_url": _REQUIRED,
    "authorization_servers": _REQUIRED,
    "jwks_uri": None,
    "issuer": None,  # for the JWT verifier built from jwks_uri; default: first authorization server
    "scopes": (),
    "scopes_supported": None,
    "tool_scopes": None,
    "path": None,
    "resource_name": None,
    "resource_documentation": None,
    "authorization_server_metadata": None,
    "allowed_hosts": None,
    "allowed_origins": None,
    "stateless": True,
    "json_response": True,
    "event_store": None,
    "max_request_body_size": DEFAULT_MAX_BODY,
    "response_timeout": None,
    "wsgi_dispatch": True,  # serve the MCP path ahead of Flask's dispatch (see create_mcp_blueprint)
    "blueprint_name": "mcp_tools",
}
_IMPORTABLE = ("server", "verifier", "tool_scopes", "event_store", "authorization_server_metadata")


@dataclass(frozen=True)
class McpToolsState:
    """What :meth:`McpTools.init_app` stores in ``app.extensions["mcp_tools"]``."""

    extension: McpTools
    blueprint: McpBlueprint
    settings: dict[str, Any]

    @property
    def resource_server(self) -> McpResourceServer:
        return self.blueprint.resource_server

    @property
    def guard(self) -> BearerGuard:
        return self.blueprint.resource_server.guard


class McpTools:
    """Serve an OAuth-protected MCP endpoint from a Flask app.

    ``McpTools(app, **settings)`` or ``mcp_tools = McpTools(**settings)`` then
    ``mcp_tools.init_app(app)`` in an app factory. Each setting (see :data:`DEFAULTS`) comes
    from the keyword argument, else ``app.config["MCP_TOOLS_<NAME>"]``, else its default;
    ``server`` and ``verifier`` may be ``"module:attribute"`` strings. Without a verifier, a
    :class:`~mcp_tools.server.verifiers.jwt.JWTVerifier` is built from ``jwks_uri``.
    """

    def __init__(self, app: Flask | None = None, **overrides: Any) -> None:
        unknown = sorted(set(overrides) - set(DEFAULTS))
        if unknown:
            raise TypeError(f"unknown McpTools settings: {', '.join(unknown)}")
        self.overrides = overrides
        self._states: list[McpToolsState] = []
        self._lock = threading.Lock()
        if app is not None:
            self.init_app(app)

    def settings_for(self, app: Flask) -> dict[str, Any]:
        """The effective settings for ``app`` (arguments > ``app.config`` > defaults), resolved."""
        settings: dict[str, Any] = {}
        for name, default in DEFAULTS.items():
            key = CONFIG_PREFIX + name.upper()
            value = self.overrides.get(name)
            if value is None:
                value = app.config.get(key)
            if value is None:  # None means "not set" at every level
                value = default
            if value is _REQUIRED:
                raise ConfigurationError(f"mcp-tools: set app.config[{key!r}] or pass {name}= to McpTools")
            if name in _IMPORTABLE and isinstance(value, str):
                value = import_string(value)
            settings[name] = value
        if isinstance(settings["authorization_servers"], str):
            settings["authorization_servers"] = [settings["authorization_servers"]]
        if isinstance(settings["scopes"], str):
            settings["scopes"] = settings["scopes"].split()
        if settings["verifier"] is None:
            if not settings["jwks_uri"]:
                raise ConfigurationError(
                    "mcp-tools: set MCP_TOOLS_VERIFIER (a token verifier) or MCP_TOOLS_JWKS_URI"
                )
            settings["verifier"] = JWTVerifier(
                issuer=settings["issuer"] or settings["authorization_servers"][0],
                audience=settings["resource_url"],
                jwks_uri=settings["jwks_uri"],
            )
        return settings

    def init_app(self, app: Flask) -> None:
        """Register the MCP blueprint (and the ``flask mcp-tools`` commands) on ``app``."""
        if EXTENSION_KEY in app.extensions:
            raise RuntimeError("mcp-tools is already initialised on this app")
        settings = self.settings_for(app)
        options = {k: v for k, v in settings.items() if k not in ("jwks_uri", "issuer", "blueprint_name")}
        blueprint = create_mcp_blueprint(**options, name=settings["blueprint_name"])
        app.register_blueprint(blueprint)
        state = McpToolsState(extension=self, blueprint=blueprint, settings=settings)
        app.extensions[EXTENSION_KEY] = state
        with self._lock:
            self._states.append(state)

    def state(self, app: Flask | None = None) -> McpToolsState:
        """This extension's state on ``app`` (default: the current app)."""
        target = app if app is not None else current_app
        state = target.extensions.get(EXTENSION_KEY)
        if not isinstance(state, McpToolsState) or state.extension is not self:
            raise RuntimeError("McpTools.init_app(app) has not been called for this app")
        return state

    @overload
    def require_auth(self, view: F) -> F: ...

    @overload
    def require_auth(self, *, scopes: Sequence[str] | None = None) -> Callable[[F], F]: ...

    def require_auth(
        self, view: Callable[..., Any] | None = None, *, scopes: Sequence[str] | None = None
    ) -> Any:
        """Protect an ordinary view with the MCP endpoint's bearer rules.

        Same verifier, audience and challenge as the endpoint. ``scopes`` are the scopes the
        view needs (default: the endpoint's own). Use ``@mcp_tools.require_auth`` or
        ``@mcp_tools.require_auth(scopes=[...])``; read the token from
        :data:`~mcp_tools_flask.current_token`. The app is looked up per request, so the
        decorator works before ``init_app`` and with several apps.
        """

        def decorate(fn: F) -> F:
            return protect_view(
                fn, lambda: self.state().guard, lambda: list(scopes) if scopes is not None else None
            )

        return decorate(view) if view is not None else decorate

    def shutdown(self, app: Flask | None = None, timeout: float = 5.0) -> None:
        """Stop the bridge thread of ``app`` (default: of every app this extension serves).

        Interpreter exit does this too; call it in tests or before tearing an app down.
        """
        with self._lock:
            states = [self.state(app)] if app is not None else list(self._states)
        for state in states:
            state.blueprint.shutdown(timeout)
