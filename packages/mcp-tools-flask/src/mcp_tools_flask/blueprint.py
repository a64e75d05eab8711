"""The blueprint factory and the ``flask mcp-tools`` command group."""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any
from urllib.parse import urljoin

import click
from flask import Blueprint, current_app
from flask.cli import with_appcontext
from flask.sansio.app import App

from mcp_tools.http import Request
from mcp_tools.options import McpOptions
from mcp_tools.server.endpoint import ServerSource
from mcp_tools.server.resource_server import AUTHORIZATION_SERVER_METADATA_PATH, McpResourceServer
from mcp_tools.server.wsgi import WsgiMcpDispatcher

from .views import MCP_METHODS, McpView, view_of

__all__ = ["McpBlueprint", "create_mcp_blueprint", "discovery_documents"]


class McpBlueprint(Blueprint):
    """A :class:`flask.Blueprint` serving one protected MCP endpoint and its discovery documents:
    ``resource_server`` holds the options and neutral handlers, ``view`` the MCP view with the
    process's WSGI bridge (started on the first request, rebuilt after ``fork``)."""

    resource_server: McpResourceServer
    view: McpView

    def register(self, app: App, options: dict[str, Any]) -> None:
        """Register on ``app``; a ``url_prefix`` is refused (paths come from ``resource_url``)."""
        if options.get("url_prefix"):
            raise ValueError(
                "an MCP blueprint takes its paths from resource_url (clients see them); "
                "register it without url_prefix, or pass mcp_path= for the MCP route"
            )
        super().register(app, options)
        if self.resource_server.options.wsgi.dispatch and hasattr(app, "wsgi_app"):
            # Middleware installed later (ProxyFix, say) wraps this one and still runs first.
            app.wsgi_app = WsgiMcpDispatcher(
                app.wsgi_app, self.view.wsgi_endpoint, self.resource_server.mcp_path
            )

    def start(self) -> None:
        """Start the bridge's event-loop thread now (e.g. in a gunicorn ``post_fork`` hook)."""
        self.view.start()

    def shutdown(self, timeout: float = 5.0) -> None:
        """Stop the bridge's event-loop thread; in-flight MCP requests are cancelled."""
        self.view.shutdown(timeout)


def create_mcp_blueprint(
    options_or_server: McpOptions | ServerSource, /, *, name: str = "mcp_tools", **overrides: Any
) -> McpBlueprint:
    """A blueprint with the MCP endpoint and its discovery documents.

    Takes an :class:`~mcp_tools.options.McpOptions`, or the server, plus options by flat name
    (``verifier=``, ``resource_url=``, ``authorization_servers=``, ``wsgi_dispatch=``...).
    Routes: every method on the MCP path (unsupported ones get a JSON 405), the protected
    resource metadata and, with ``authorization_server_metadata``, the authorization server
    metadata. Register it without ``url_prefix``; ``name`` must be unique per app.

    With ``wsgi_dispatch`` (default) registering also wraps ``app.wsgi_app`` in a
    :class:`~mcp_tools.server.wsgi.WsgiMcpDispatcher`, which answers the MCP path before Flask
    builds a request (Flask's request hooks then do not run for it); ``False`` serves it as a view.
    """
    rs = McpResourceServer(options_or_server, **overrides)
    blueprint = McpBlueprint(name, __name__, cli_group="mcp-tools")
    blueprint.resource_server = rs
    blueprint.view = McpView(rs.wsgi_endpoint())
    blueprint.add_url_rule(rs.mcp_path, view_func=blueprint.view)
    for index, path in enumerate(rs.metadata_paths):
        view = view_of(rs.handle_protected_resource, f"protected_resource_{index}", MCP_METHODS)
        blueprint.add_url_rule(path, view_func=view)
    if rs.serves_authorization_server_metadata:
        view = view_of(rs.handle_authorization_server, "authorization_server", MCP_METHODS)
        blueprint.add_url_rule(AUTHORIZATION_SERVER_METADATA_PATH, view_func=view)
    blueprint.cli.add_command(discovery_command)
    return blueprint


def discovery_documents(blueprints: Iterable[McpBlueprint]) -> tuple[dict[str, Any], bool]:
    """Every discovery document the blueprints serve, keyed by URL; and whether all were available."""
    documents: dict[str, Any] = {}
    complete = True
    for blueprint in blueprints:
        rs = blueprint.resource_server
        documents[rs.metadata_url] = rs.document
        if rs.serves_authorization_server_metadata:
            url = urljoin(rs.resource_url, AUTHORIZATION_SERVER_METADATA_PATH)
            answer = rs.handle_authorization_server(Request("GET", url))
            complete = complete and answer.status == 200
            documents[url] = (
                answer.json() if answer.status == 200 else {"status": answer.status, **answer.json()}
            )
    return documents, complete


@click.command("discovery")
@with_appcontext
def discovery_command() -> None:
    """Print the discovery documents this app serves (JSON, keyed by URL)."""
    blueprints = {id(bp): bp for bp in current_app.blueprints.values() if isinstance(bp, McpBlueprint)}
    if not blueprints:
        raise click.ClickException("this app serves no MCP endpoint (no mcp-tools blueprint is registered)")
    documents, complete = discovery_documents(blueprints.values())
    click.echo(json.dumps(documents, indent=2))
    if not complete:
        raise click.exceptions.Exit(1)
