"""The blueprint factory and the ``flask mcp-tools`` command group."""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import click
from flask import Blueprint, current_app
from flask import Response as FlaskResponse
from flask.cli import with_appcontext
from flask.sansio.app import App
from mcp.server.streamable_http import EventStore

from mcp_tools.http import Request
from mcp_tools.server.endpoint import DEFAULT_MAX_BODY, ServerSource
from mcp_tools.server.resource_server import (
    AUTHORIZATION_SERVER_METADATA_PATH,
    AuthorizationServerMetadataSource,
    McpResourceServer,
)
from mcp_tools.server.verifiers.base import McpTokenVerifier
from mcp_tools.server.wsgi import WsgiMcpDispatcher, WsgiMcpEndpoint

from .views import MCP_METHODS, McpView, to_core_request, to_flask_response

__all__ = ["McpBlueprint", "create_mcp_blueprint", "discovery_documents"]

CLI_GROUP = "mcp-tools"


class McpBlueprint(Blueprint):
    """A :class:`flask.Blueprint` serving one protected MCP endpoint and its discovery documents.

    ``resource_server`` holds the settings and neutral handlers, ``view`` the MCP view with the
    process's WSGI bridge (started on the first request, rebuilt after ``fork``).
    """

    resource_server: McpResourceServer
    view: McpView
    #: Route the MCP path in a WSGI middleware on ``app.wsgi_app`` (see :func:`create_mcp_blueprint`).
    wsgi_dispatch: bool = True

    def register(self, app: App, options: dict[str, Any]) -> None:
        """Register on ``app``; a ``url_prefix`` is refused (paths come from ``resource_url``)."""
        if options.get("url_prefix"):
            raise ValueError(
                "an MCP blueprint takes its paths from resource_url (clients see them); "
                "register it without url_prefix, or pass path= for the MCP route"
            )
        super().register(app, options)
        if self.wsgi_dispatch and hasattr(app, "wsgi_app"):
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
    server: ServerSource,
    *,
    verifier: McpTokenVerifier,
    resource_url: str,
    authorization_servers: Sequence[str],
    scopes: Sequence[str] = (),
    scopes_supported: Sequence[str] | None = None,
    tool_scopes: Mapping[str, Iterable[str]] | None = None,
    path: str | None = None,
    resource_name: str | None = None,
    resource_documentation: str | None = None,
    authorization_server_metadata: Mapping[str, Any] | AuthorizationServerMetadataSource | None = None,
    allowed_hosts: Sequence[str] | None = None,
    allowed_origins: Sequence[str] | None = None,
    stateless: bool = True,
    json_response: bool = True,
    event_store: EventStore | None = None,
    max_request_body_size: int = DEFAULT_MAX_BODY,
    response_timeout: float | None = None,
    wsgi_dispatch: bool = True,
    name: str = "mcp_tools",
) -> McpBlueprint:
    """A blueprint with the MCP endpoint and its discovery documents (the FastAPI router's twin).

    Routes: ``GET|POST|DELETE|OPTIONS <path>`` (default: the path of ``resource_url``; other
    methods get a JSON 405), ``GET|OPTIONS /.well-known/oauth-protected-resource<path>`` and,
    when ``authorization_server_metadata`` is given, ``GET|OPTIONS
    /.well-known/oauth-authorization-server``. Register it with ``app.register_blueprint(bp)``
    (no ``url_prefix``). ``stateless``/``json_response`` default to stateless JSON, which is
    correct on every WSGI server; ``response_timeout`` bounds the wait for the SDK's response
    headers. ``name`` must be unique per app when several endpoints are served.

    ``wsgi_dispatch=True`` (default): registering the blueprint also wraps ``app.wsgi_app`` in
    a :class:`~mcp_tools.server.wsgi.WsgiMcpDispatcher`, which answers requests for the MCP
    path before Flask builds a request context (the endpoint does its own Host/Origin, CORS,
    size and bearer checks); that roughly halves what an MCP call costs in Flask. Flask's
    ``before_request``/``after_request`` hooks and error handlers then do not run for the MCP
    path. ``False`` serves it as an ordinary view instead (``MCP_TOOLS_WSGI_DISPATCH = False``
    with the extension), e.g. when a ``before_request`` rate limiter must see MCP calls.
    """
    resource_server = McpResourceServer(
        server,
        verifier=verifier,
        resource_url=resource_url,
        authorization_servers=authorization_servers,
        scopes=scopes,
        scopes_supported=scopes_supported,
        tool_scopes=tool_scopes,
        mcp_path=path,
        resource_name=resource_name,
        resource_documentation=resource_documentation,
        authorization_server_metadata=authorization_server_metadata,
        allowed_hosts=allowed_hosts,
        allowed_origins=allowed_origins,
        stateless=stateless,
        json_response=json_response,
        event_store=event_store,
        max_request_body_size=max_request_body_size,
    )
    blueprint = McpBlueprint(name, __name__, cli_group=CLI_GROUP)
    blueprint.resource_server = resource_server
    blueprint.view = McpView(WsgiMcpEndpoint(resource_server.endpoint, response_timeout=response_timeout))
    blueprint.wsgi_dispatch = wsgi_dispatch
    blueprint.add_url_rule(resource_server.mcp_path, view_func=blueprint.view)

    def protected_resource(**_: Any) -> FlaskResponse:
        return to_flask_response(
            resource_server.handle_protected_resource(to_core_request(include_body=False))
        )

    for index, metadata_path in enumerate(resource_server.metadata_paths):
        blueprint.add_url_rule(
            metadata_path,
            endpoint=f"protected_resource_{index}",
            view_func=protected_resource,
            methods=MCP_METHODS,
            provide_automatic_options=False,
        )

    if resource_server.serves_authorization_server_metadata:

        def authorization_server() -> FlaskResponse:
            core = to_core_request(include_body=False)
            return to_flask_response(resource_server.handle_authorization_server(core))

        blueprint.add_url_rule(
            AUTHORIZATION_SERVER_METADATA_PATH,
            view_func=authorization_server,
            methods=MCP_METHODS,
            provide_automatic_options=False,
        )
    blueprint.cli.add_command(discovery_command)
    return blueprint


# -- CLI ------------------------------------------------------------------------------------------


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc, "", "", ""))


def discovery_documents(blueprints: Iterable[McpBlueprint]) -> tuple[dict[str, Any], bool]:
    """Every discovery document the blueprints serve, keyed by URL; and whether all were available."""
    documents: dict[str, Any] = {}
    complete = True
    for blueprint in blueprints:
        rs = blueprint.resource_server
        documents[rs.metadata_url] = rs.document
        if rs.serves_authorization_server_metadata:
            url = _origin(rs.resource_url) + AUTHORIZATION_SERVER_METADATA_PATH
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
    seen: dict[int, McpBlueprint] = {}
    for blueprint in current_app.blueprints.values():
        if isinstance(blueprint, McpBlueprint):
            seen.setdefault(id(blueprint), blueprint)
    if not seen:
        raise click.ClickException("this app serves no MCP endpoint (no mcp-tools blueprint is registered)")
    documents, complete = discovery_documents(seen.values())
    click.echo(json.dumps(documents, indent=2))
    if not complete:
        raise click.exceptions.Exit(1)
