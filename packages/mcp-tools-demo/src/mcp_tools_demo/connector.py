"""The connector: a small FastAPI web app that connects its user to MCP servers.

It uses the client side of mcp-tools exactly as an application would:
:func:`~mcp_tools.client.acreate_dynamically_registered_mcp_client` and
:func:`mcp_tools_fastapi.redirect_to_authorization` to start (discovery, dynamic registration,
PKCE, the signed browser-binding cookie), :func:`mcp_tools_fastapi.complete_oauth_handler` for
the callback, and :func:`~mcp_tools.client.aget_client_by_session_id` plus
``client.connect()`` to list and call tools, with a step-up authorization when a tool needs
a scope the grant lacks. The user's connections (store session ids) live in an ``HttpOnly``
cookie; the page and its forms only show a hash of them.

Routes: ``GET /`` (the page), ``POST /connect``, ``GET /oauth/callback``, ``POST /call``,
``POST /disconnect``, and for scripts ``GET /api/connections`` and ``POST /api/call`` (JSON).
Starting a connection is a ``POST`` of the page's form, which carries a signed double-submit
token (:class:`mcp_tools.client.views.Csrf`: a nonce cookie, and its HMAC in the form), so
another site can neither link to nor post a connection into the user's session; ``GET /connect``
answers ``405``.

FastAPI is imported inside :func:`create_connector_app` only (the core imports no framework
at module level). The module does not use ``from __future__ import annotations``: FastAPI
resolves the views' annotations, which name the lazily imported ``Request``.
"""

import hashlib
import hmac
import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs

from mcp_tools.client import (
    BINDING_COOKIE,
    AuthorizationRequired,
    InsufficientScope,
    McpClient,
    McpClientError,
    UrlGuard,
    acreate_dynamically_registered_mcp_client,
    aget_client_by_session_id,
    verify_browser_binding,
)
from mcp_tools.client.views import CSRF_COOKIE, CSRF_FIELD, csrf_token, new_csrf_nonce
from mcp_tools.stores import BaseStore

from .page import ConnectionView, ToolView, argument_skeleton, render_page, result_view

__all__ = ["CONNECTIONS_COOKIE", "ConnectorConfig", "connection_id", "create_connector_app"]

#: The cookie listing the browser's connections (store session ids, ``.``-separated).
CONNECTIONS_COOKIE = "mcp_demo_connections"
MAX_CONNECTIONS = 12


@dataclass
class ConnectorConfig:
    url: str  # the connector's own base URL (http://127.0.0.1:PORT)
    store: BaseStore
    secret: str
    servers: Sequence[tuple[str, str]]  # (label, MCP URL)
    authorization_server: str
    store_description: str
    url_guard: UrlGuard

    @property
    def callback_url(self) -> str:
        return f"{self.url}/oauth/callback"


def connection_id(session_id: str) -> str:
    """The public handle of a connection: a hash of its (secret) session id."""
    return hashlib.sha256(session_id.encode()).hexdigest()[:16]


def _session_ids(cookie: str | None) -> list[str]:
    return [part for part in (cookie or "").split(".") if part][:MAX_CONNECTIONS]


def _label(config: ConnectorConfig, endpoint: str) -> str:
    for name, url in config.servers:
        if url == endpoint:
            return f"{name} MCP server"
    return "MCP server"


def create_connector_app(config: ConnectorConfig) -> Any:
    """Build the connector's FastAPI application."""
    from fastapi import FastAPI, Request
    from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response

    from mcp_tools_fastapi import complete_oauth_handler, redirect_to_authorization

    app = FastAPI(title="mcp-tools demo connector", docs_url=None, redoc_url=None, openapi_url=None)
    guard = config.url_guard

    def sessions_of(request: Request) -> list[str]:
        return _session_ids(request.cookies.get(CONNECTIONS_COOKIE))

    def remember(response: Response, sessions: list[str]) -> None:
        response.set_cookie(
            CONNECTIONS_COOKIE, ".".join(sessions[-MAX_CONNECTIONS:]), httponly=True, samesite="lax", path="/"
        )

    def find(request: Request, conn_id: str) -> str | None:
        return next((sid for sid in sessions_of(request) if connection_id(sid) == conn_id), None)

    def binding(request: Request) -> str | None:
        return verify_browser_binding(request.cookies.get(BINDING_COOKIE), config.secret)

    def same_origin(request: Request) -> bool:
        origin = request.headers.get("origin")
        return origin is None or origin == config.url

    def csrf_ok(request: Request, fields: dict[str, str]) -> bool:
        nonce = request.cookies.get(CSRF_COOKIE)
        expected = csrf_token(config.secret, nonce) if nonce else ""
        given = fields.get(CSRF_FIELD, "")
        return bool(expected) and hmac.compare_digest(expected.encode(), given.encode("utf-8"))

    async def describe(session_id: str, results: dict[tuple[str, str], dict[str, Any]]) -> ConnectionView:
        conn_id = connection_id(session_id)
        try:
            client = await aget_client_by_session_id(
                session_id=session_id, store=config.store, url_guard=guard
            )
        except McpClientError as exc:
            return ConnectionView(conn_id, "?", "MCP server", error=str(exc))
        view = ConnectionView(conn_id, client.mcp_endpoint, _label(config, client.mcp_endpoint))
        try:
            async with client.connect() as mcp:
                listed = await mcp.list_tools()
        except AuthorizationRequired:
            view.error = "Not authorized (yet): connect again."
            return view
        except (McpClientError, OSError) as exc:
            view.error = f"Could not list the tools: {exc}"
            return view
        for tool in listed.tools:
            view.tools.append(
                ToolView(
                    name=tool.name,
                    description=tool.description or "",
                    arguments=argument_skeleton(tool.input_schema),
                    result=results.get((conn_id, tool.name)),
                )
            )
        return view

    async def page(
        request: Request,
        *,
        message: str | None = None,
        error: str | None = None,
        results: dict[tuple[str, str], dict[str, Any]] | None = None,
        status: int = 200,
        sessions: list[str] | None = None,
    ) -> HTMLResponse:
        views = [
            await describe(sid, results or {})
            for sid in (sessions if sessions is not None else sessions_of(request))
        ]
        nonce = request.cookies.get(CSRF_COOKIE) or new_csrf_nonce()
        body = render_page(
            servers=config.servers,
            authorization_server=config.authorization_server,
            store_description=config.store_description,
            connections=views,
            message=message,
            error=error,
            csrf=csrf_token(config.secret, nonce),
        )
        response = HTMLResponse(body, status_code=status, headers={"Cache-Control": "no-store"})
        response.headers["X-Frame-Options"] = "DENY"
        if request.cookies.get(CSRF_COOKIE) != nonce:
            response.set_cookie(CSRF_COOKIE, nonce, httponly=True, samesite="lax", path="/")
        return response

    async def authorize_again(request: Request, client: McpClient, scope: str | None) -> Response:
        await client.astart_authorization(scope=scope, browser_binding=binding(request))
        return redirect_to_authorization(client, secret=config.secret)

    async def call(
        request: Request, session_id: str, tool: str, arguments: dict[str, Any]
    ) -> Response | dict[str, Any]:
        client = await aget_client_by_session_id(session_id=session_id, store=config.store, url_guard=guard)
        try:
            async with client.connect() as mcp:
                result = await mcp.call_tool(tool, arguments)
        except InsufficientScope as exc:  # step-up: consent to the extra scope, then call again
            return await authorize_again(request, client, exc.scope)
        except AuthorizationRequired:
            return await authorize_again(request, client, None)
        return result_view(result)

    @app.get("/")
    async def index(request: Request, connected: str | None = None) -> HTMLResponse:
        message = None
        if connected:
            message = "Connected. The server's tools are listed below; fill in the arguments and call one."
        return await page(request, message=message)

    async def form(request: Request) -> dict[str, str]:
        fields = parse_qs((await request.body()).decode("utf-8", "replace"), keep_blank_values=True)
        return {key: values[0] for key, values in fields.items()}

    @app.post("/connect")
    async def connect(request: Request) -> Response:
        fields = await form(request)
        if not same_origin(request) or not csrf_ok(request, fields):
            return await page(request, error="Refused: submit the connect form of this page.", status=403)
        endpoint = fields.get("url", "").strip() or dict(config.servers).get(fields.get("server", ""), "")
        if not endpoint:
            return await page(request, error="Pick a server or paste an MCP server URL.", status=400)
        try:
            client = await acreate_dynamically_registered_mcp_client(
                mcp_endpoint=endpoint,
                oauth_redirect_url=config.callback_url,
                mcp_client_name="mcp-tools demo connector",
                mcp_client_version="1.0",
                oauth_client_name="mcp-tools demo connector",
                oauth_client_uri=config.url,
                store=config.store,
                browser_binding=binding(request),
                url_guard=guard,
            )
        except McpClientError as exc:
            return await page(request, error=f"Cannot connect to {endpoint}: {exc}", status=502)
        if client.authorization_url is None:  # a server that needs no authorization
            response: Response = RedirectResponse("/?connected=1", status_code=303)
            remember(response, [*sessions_of(request), client.session_id])
            return response
        return redirect_to_authorization(client, secret=config.secret)

    async def connected(client: McpClient, request: Request) -> Response:
        sessions = [sid for sid in sessions_of(request) if sid != client.session_id]
        response = RedirectResponse(f"/?connected={connection_id(client.session_id)}", status_code=303)
        remember(response, [*sessions, client.session_id])
        return response

    finish = complete_oauth_handler(config.store, connected, secret=config.secret, url_guard=guard)

    @app.get("/oauth/callback")
    async def oauth_callback(request: Request) -> Response:
        response = await finish(request)
        if response.status_code < 400:
            return response
        try:  # show the JSON error ({"error", "code", "message"}) on the page
            detail = json.loads(bytes(response.body))
            text = str(detail.get("message") or detail.get("error") or detail)
        except (ValueError, AttributeError):
            text = f"HTTP {response.status_code}"
        shown = await page(
            request, error=f"The authorization did not complete: {text}", status=response.status_code
        )
        shown.delete_cookie(BINDING_COOKIE, path="/")
        return shown

    @app.post("/call")
    async def call_form(request: Request) -> Response:
        if not same_origin(request):
            return JSONResponse({"error": "cross-origin form refused"}, status_code=403)
        fields = await form(request)
        conn_id, tool = fields.get("conn", ""), fields.get("tool", "")
        session_id = find(request, conn_id)
        if session_id is None:
            return await page(request, error="Unknown connection: connect again.", status=404)
        try:
            arguments = json.loads(fields.get("arguments") or "{}")
            if not isinstance(arguments, dict):
                raise ValueError("the arguments must be a JSON object")
        except ValueError as exc:
            return await page(request, error=f"Arguments of {tool}: {exc}", status=400)
        try:
            outcome = await call(request, session_id, tool, arguments)
        except McpClientError as exc:
            return await page(request, error=f"Calling {tool} failed: {exc}", status=502)
        if isinstance(outcome, Response):
            return outcome
        return await page(request, message=f"Called {tool}.", results={(conn_id, tool): outcome})

    @app.post("/disconnect")
    async def disconnect(request: Request) -> Response:
        if not same_origin(request):
            return JSONResponse({"error": "cross-origin form refused"}, status_code=403)
        conn_id = (await form(request)).get("conn", "")
        response = RedirectResponse("/", status_code=303)
        remember(response, [sid for sid in sessions_of(request) if connection_id(sid) != conn_id])
        return response

    @app.get("/api/connections")
    async def api_connections(request: Request) -> JSONResponse:
        views = [await describe(sid, {}) for sid in sessions_of(request)]
        return JSONResponse(
            [
                {
                    "conn": view.conn_id,
                    "endpoint": view.endpoint,
                    "error": view.error,
                    "tools": [tool.name for tool in view.tools],
                }
                for view in views
            ]
        )

    @app.post("/api/call")
    async def api_call(request: Request) -> Response:
        """``{"conn", "tool", "arguments"}`` -> the result, or ``303`` to the authorization server."""
        if not same_origin(request):
            return JSONResponse({"error": "cross-origin request refused"}, status_code=403)
        try:
            body = json.loads(await request.body())
            conn_id, tool, arguments = str(body["conn"]), str(body["tool"]), dict(body.get("arguments") or {})
        except (ValueError, KeyError, TypeError):
            return JSONResponse({"error": "expected JSON {conn, tool, arguments}"}, status_code=400)
        session_id = find(request, conn_id)
        if session_id is None:
            return JSONResponse({"error": "unknown connection"}, status_code=404)
        try:
            outcome = await call(request, session_id, tool, arguments)
        except McpClientError as exc:
            return JSONResponse({"error": exc.code, "message": str(exc)}, status_code=502)
        return outcome if isinstance(outcome, Response) else JSONResponse(outcome)

    @app.get("/healthz")
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    return app
