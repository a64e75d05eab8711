"""The ``McpTools`` Flask extension: options from ``app.config``, state in ``app.extensions``."""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Final, TypeVar, overload

from flask import Flask, current_app

from mcp_tools.options import McpOptions, flat_fields
from mcp_tools.server.bearer import BearerGuard
from mcp_tools.server.resource_server import McpResourceServer

from .blueprint import McpBlueprint, create_mcp_blueprint
from .views import protect_view

__all__ = ["EXTENSION_KEY", "FLASK_DEFAULTS", "McpTools", "McpToolsState", "config_key"]

F = TypeVar("F", bound=Callable[..., Any])

EXTENSION_KEY: Final = "mcp_tools"
#: The settings only Flask has, beside every option of :class:`~mcp_tools.options.McpOptions`.
FLASK_DEFAULTS: Final = {"blueprint_name": "mcp_tools"}


def config_key(name: str) -> str:
    """The ``app.config`` key of a setting: ``MCP_TOOLS_<FLAT NAME>`` (``MCP_TOOLS_WSGI_INLINE``)."""
    return f"MCP_TOOLS_{name.upper()}"


@dataclass(frozen=True)
class McpToolsState:
    """What :meth:`McpTools.init_app` stores in ``app.extensions["mcp_tools"]``."""

    extension: McpTools
    blueprint: McpBlueprint

    @property
    def resource_server(self) -> McpResourceServer:
        return self.blueprint.resource_server

    @property
    def options(self) -> McpOptions:
        return self.blueprint.resource_server.options

    @property
    def guard(self) -> BearerGuard:
        return self.blueprint.resource_server.guard


class McpTools:
    """Serve an OAuth-protected MCP endpoint from a Flask app.

    ``McpTools(app, **overrides)``, or ``mcp_tools = McpTools(**overrides)`` then
    ``mcp_tools.init_app(app)``. Each option of :class:`~mcp_tools.options.McpOptions` (by flat
    name) comes from the keyword argument, else ``app.config["MCP_TOOLS_<NAME>"]``, else its
    default; strings are loaded as :meth:`McpOptions.from_values` describes.
    """

    def __init__(self, app: Flask | None = None, **overrides: Any) -> None:
        unknown = sorted(set(overrides) - set(flat_fields()) - set(FLASK_DEFAULTS))
        if unknown:
            raise TypeError(f"unknown McpTools settings: {', '.join(unknown)}")
        self.overrides = overrides
        self._states: list[McpToolsState] = []
        self._lock = threading.Lock()
        if app is not None:
            self.init_app(app)

    def setting(self, app: Flask, name: str) -> Any:
        """One setting for ``app`` as given (argument, else ``app.config``; ``None``: not set)."""
        value = self.overrides.get(name)
        return app.config.get(config_key(name)) if value is None else value

    def options_for(self, app: Flask) -> McpOptions:
        """The effective options for ``app`` (arguments > ``app.config`` > defaults), validated."""
        values = {name: self.setting(app, name) for name in flat_fields()}

        def describe(name: str) -> str:  # as the user spelled it, for error messages
            given = self.overrides.get(name) is not None
            return f"McpTools({name}=...)" if given else f"app.config[{config_key(name)!r}]"

        return McpOptions.from_values(values, describe=describe)

    def init_app(self, app: Flask) -> None:
        """Register the MCP blueprint (and the ``flask mcp-tools`` commands) on ``app``."""
        if EXTENSION_KEY in app.extensions:
            raise RuntimeError("mcp-tools is already initialised on this app")
        name = self.setting(app, "blueprint_name") or FLASK_DEFAULTS["blueprint_name"]
        blueprint = create_mcp_blueprint(self.options_for(app), name=name)
        app.register_blueprint(blueprint)
        state = McpToolsState(extension=self, blueprint=blueprint)
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
        """Protect an ordinary view with the endpoint's verifier, audience and challenge.

        ``@mcp_tools.require_auth`` or ``@mcp_tools.require_auth(scopes=[...])`` (default: the
        endpoint's scopes); read the token from :data:`~mcp_tools_flask.current_token`. The app
        is looked up per request, so this works before ``init_app`` and with several apps.
        """

        def decorate(fn: F) -> F:
            return protect_view(fn, lambda: self.state().guard, scopes)

        return decorate(view) if view is not None else decorate

    def shutdown(self, app: Flask | None = None, timeout: float = 5.0) -> None:
        """Stop the bridge thread of ``app`` (default: of every app this extension serves);
        interpreter exit does it too."""
        with self._lock:
            states = [self.state(app)] if app is not None else list(self._states)
        for state in states:
            state.blueprint.shutdown(timeout)
