"""The MCP streamable HTTP endpoint core, shared by every framework adapter.

:class:`McpEndpoint` wraps the SDK's :class:`~mcp.server.streamable_http_manager.StreamableHTTPSessionManager`
with what a protected resource needs before a request reaches the SDK:

1. ``Origin``/``Host`` validation (403/421, before any token work);
2. method and body-size checks (405/413, JSON bodies);
3. bearer authentication with :class:`~mcp_tools.server.bearer.BearerGuard`, including per-tool
   scopes (401/403 with a correct ``WWW-Authenticate``);
4. the verified :class:`~mcp.server.auth.provider.AccessToken` handed to the SDK, so tools see it
   through ``get_access_token()`` and stateful sessions stay bound to the principal that opened
   them (a session id never authenticates: every request is verified).

It is an ASGI application (FastAPI and Django under ASGI route to it directly); WSGI adapters
call :meth:`McpEndpoint.authorize_sync` in the framework and serve :attr:`McpEndpoint.authorized_app`
through :mod:`mcp_tools.server.wsgi`.

The session manager can be started once per instance (an SDK rule), so :meth:`McpEndpoint.run`
builds a fresh one each time it is entered: two test clients in a row work.
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
from collections.abc import AsyncIterator, Iterable, Mapping, Sequence
from typing import Any

from mcp.server.auth.middleware.auth_context import auth_context_var
from mcp.server.auth.middleware.bearer_auth import AuthenticatedUser
from mcp.server.auth.provider import AccessToken
from mcp.server.lowlevel.server import Server
from mcp.server.lowlevel.server import lifespan as default_lifespan
from mcp.server.mcpserver import MCPServer
from mcp.server.streamable_http_manager import (
    StreamableHTTPSessionManager,
)
from mcp.server.transport_security import RequestBodyLimitMiddleware
from mcp_types.version import HANDSHAKE_PROTOCOL_VERSIONS

from mcp_tools._compat import get_tool, lowlevel_server, open_session_check
from mcp_tools.asgi import (
    ASGIApp,
    BodyTooLarge,
    Message,
    Receive,
    Scope,
    Send,
    body_too_large_response,
    json_error_send,
    read_body,
    replay_receive,
    request_from_scope,
    send_response,
)
from mcp_tools.http import Request, Response, json_response
from mcp_tools.server.bearer import AuthResult, BearerGuard, insufficient_scope_response
from mcp_tools.server.inflight import RPC_ID_SCOPE_KEY, InFlightIds
from mcp_tools.server.limits import StreamLimits
from mcp_tools.server.options import ServerSource, TransportOptions
from mcp_tools.server.origin import HostOriginPolicy
from mcp_tools.server.rpc import peek_rpc
from mcp_tools.server.scopes import scopes_for_request

__all__ = ["MCP_CORS_ALLOW_HEADERS", "McpEndpoint", "ServerSource"]


ALLOWED_METHODS = ("GET", "POST", "DELETE")
MCP_CORS_ALLOW_HEADERS = (
    "Authorization, Content-Type, Accept, Mcp-Session-Id, MCP-Protocol-Version, Mcp-Method, Mcp-Name, "
    "Last-Event-ID"
)
MCP_CORS_EXPOSE_HEADERS = "Mcp-Session-Id, WWW-Authenticate, MCP-Protocol-Version"

#: Methods whose handling by ``MCPServer`` runs no application code.
_LOOP_FREE_METHODS = frozenset({"server/discover", "ping", "tools/list"})


def _resolve_server(source: ServerSource) -> MCPServer[Any] | Server[Any]:
    server: object = source
    if callable(source) and not isinstance(source, (MCPServer, Server)):
        server = source()
    if isinstance(server, (MCPServer, Server)):
        return server
    raise TypeError(
        "server must be an mcp.server.MCPServer, an mcp.server.Server, or a callable returning one; "
        f"got {type(server).__name__}"
    )


def _lowlevel(server: MCPServer[Any] | Server[Any]) -> Server[Any]:
    return lowlevel_server(server) if isinstance(server, MCPServer) else server


class McpEndpoint:
    """An OAuth-protected MCP streamable HTTP endpoint (an ASGI application).

    Args:
        server: the SDK's ``MCPServer`` or low-level ``Server``, or a zero-argument factory
            returning one (called each time the endpoint starts).
        guard: verifies bearer tokens and builds the 401/403 challenges.
        policy: accepted ``Host``/``Origin`` values.
        tool_scopes: extra scopes per tool name (see :class:`~mcp_tools.server.scopes.ToolScopes`).
        transport: how the SDK's transport serves it (:class:`~mcp_tools.server.options.TransportOptions`:
            stateless JSON by default, safe with many workers and WSGI).
    """

    def __init__(
        self,
        server: ServerSource,
        *,
        guard: BearerGuard,
        policy: HostOriginPolicy,
        tool_scopes: Mapping[str, Iterable[str]] | None = None,
        transport: TransportOptions | None = None,
    ) -> None:
        self.server_source = server
        self.guard = guard
        self.policy = policy
        self.tool_scopes: Mapping[str, Iterable[str]] = tool_scopes or {}
        self.transport = transport = transport or TransportOptions()
        # read on every request: kept as plain attributes
        self.stateless = transport.stateless
        self.json_response = transport.json_response
        self.max_request_body_size = transport.max_request_body_size
        self.limits = StreamLimits(
            max_streams_per_principal=transport.max_streams_per_principal,
            max_sessions_per_principal=transport.max_sessions_per_principal,
        )
        """Open streams and sessions per principal (stateful only; the WSGI endpoint sets the
        overall ``max_streams``)."""
        self.in_flight = InFlightIds()
        """JSON-RPC ids being served per stateful session (see :mod:`mcp_tools.server.inflight`)."""
        self._manager: StreamableHTTPSessionManager | None = None
        self._inner: ASGIApp | None = None
        self._authorized: ASGIApp | None = None  # the same without the SDK body limit (authorized_app)
        self._running_pid: int | None = None
        self._running_server: MCPServer[Any] | Server[Any] | None = None

    # -- lifecycle ---------------------------------------------------------------------------

    def _session_manager_for(self, server: MCPServer[Any] | Server[Any]) -> StreamableHTTPSessionManager:
        transport = self.transport
        return StreamableHTTPSessionManager(
            app=_lowlevel(server),
            event_store=transport.event_store,
            json_response=transport.json_response,
            stateless=transport.stateless,
            security_settings=None,  # Host/Origin are checked here, before authentication
            retry_interval=transport.retry_interval,
            session_idle_timeout=transport.session_idle_timeout,
            max_request_body_size=transport.max_request_body_size,
            max_sessions=transport.max_sessions,
        )

    @contextlib.asynccontextmanager
    async def run(self) -> AsyncIterator[McpEndpoint]:
        """Start a fresh session manager for the duration of the block (use it in a lifespan)."""
        if self._manager is not None and self._running_pid == os.getpid():
            raise RuntimeError("this McpEndpoint is already running; enter run() once at a time")
        # A manager inherited through fork() belongs to the parent's event loop: start afresh.
        server = _resolve_server(self.server_source)
        manager = self._session_manager_for(server)
        async with manager.run():
            self._manager = manager
            self._running_pid = os.getpid()
            self._running_server = server
            limited = manager.asgi_app  # the SDK's body-size limit, then its transport
            self._inner = _sdk_app(limited)
            # __call__ reads the whole body under the same limit before the SDK sees it; the
            # SDK's RequestBodyLimitMiddleware would read and buffer it a second time.
            self._authorized = (
                _sdk_app(limited.app) if isinstance(limited, RequestBodyLimitMiddleware) else self._inner
            )
            if not self.stateless:  # streams and sessions exist only then
                is_open = open_session_check(manager)
                self._inner = self.limits.wrap(self._inner, is_open)
                self._authorized = self.limits.wrap(self._authorized, is_open)
                # a JSON-RPC id reused while in flight in a session is answered here, not by the SDK
                self._inner = self.in_flight.wrap(self._inner)
                self._authorized = self.in_flight.wrap(self._authorized)
            try:
                yield self
            finally:
                self._manager = None
                self._inner = self._authorized = None
                self._running_server = None

    @property
    def running(self) -> bool:
        return self._manager is not None

    @property
    def inner_app(self) -> ASGIApp:
        """The SDK app behind the checks; expects ``scope["user"]`` set by :meth:`identity_scope`."""
        return self._require_running(self._inner)

    @property
    def authorized_app(self) -> ASGIApp:
        """:attr:`inner_app` for a request that :meth:`authorize` or :meth:`authorize_sync`
        admitted, its body already read: that check bounds the body by
        ``max_request_body_size``, so the SDK's own limit (a second read and buffer of the
        body) is skipped. The body must be replayed to it whole."""
        return self._require_running(self._authorized)

    @staticmethod
    def _require_running(app: ASGIApp | None) -> ASGIApp:
        if app is None:
            raise RuntimeError(
                "the MCP endpoint is not running: enter McpEndpoint.run() in the app's lifespan "
                "(the framework adapters do this for you)"
            )
        return app

    # -- framework-neutral checks ------------------------------------------------------------

    def precheck(self, request: Request, *, body_checked: bool = False) -> Response | None:
        """Origin/Host, method and size checks that need no token. ``None`` means proceed.

        ``body_checked``: the caller read the body under ``max_request_body_size`` already (the
        endpoint's ASGI and WSGI readers do), so its size is not checked a second time.
        """
        refused = self.policy.check(request)
        if refused is not None:
            return refused
        if request.method == "OPTIONS":
            return self.preflight_response(request)
        if request.method not in ALLOWED_METHODS:
            return json_response(
                {"error": "method_not_allowed", "error_description": f"{request.method} is not supported"},
                status=405,
                headers={"Allow": ", ".join((*ALLOWED_METHODS, "OPTIONS"))},
            )
        if request.method == "GET" and self.stateless:
            # Without sessions nothing can ever be sent on a standalone SSE stream; the SDK
            # would still hold it open (and, under WSGI, a worker thread with it) forever.
            return json_response(
                {
                    "error": "method_not_allowed",
                    "error_description": "this endpoint is stateless: it offers no GET event stream",
                },
                status=405,
                headers={"Allow": "POST, DELETE, OPTIONS"},
            )
        if not body_checked and len(request.body) > self.max_request_body_size:
            return body_too_large_response(self.max_request_body_size)
        return None

    def required_scopes(self, request: Request) -> list[str]:
        """Every scope this request needs: the endpoint's own plus those of the tools it calls."""
        needed = dict.fromkeys(self.guard.required_scopes)
        for scope in scopes_for_request(request, self.tool_scopes):
            needed[scope] = None
        return list(needed)

    def authorize_sync(self, request: Request, *, body_checked: bool = False) -> AuthResult:
        """All checks for ``request`` from synchronous code (Flask, Django under WSGI);
        ``body_checked`` as for :meth:`precheck`."""
        refused = self.precheck(request, body_checked=body_checked)
        if refused is not None:
            return AuthResult(token=None, response=refused)
        return self.guard.authenticate_sync(request, required_scopes=self.required_scopes(request))

    async def authorize(self, request: Request, *, body_checked: bool = False) -> AuthResult:
        """All checks for ``request`` from asynchronous code; ``body_checked`` as for :meth:`precheck`."""
        refused = self.precheck(request, body_checked=body_checked)
        if refused is not None:
            return AuthResult(token=None, response=refused)
        return await self.guard.authenticate(request, required_scopes=self.required_scopes(request))

    def authorize_head_sync(self, head: Request) -> AuthResult:
        """The checks that need no body, from synchronous code, for a request whose body is not
        read yet (``head.body`` empty): Host/Origin, method, then the bearer token with the
        endpoint's own scopes. A slow or hostile client is refused before its body is read;
        :meth:`check_tool_scopes` follows once it is."""
        refused = self.precheck(head, body_checked=True)
        if refused is not None:
            return AuthResult(token=None, response=refused)
        return self.guard.authenticate_sync(head, self.guard.required_scopes, form_body=False)

    async def authorize_head(self, head: Request) -> AuthResult:
        """:meth:`authorize_head_sync` from asynchronous code."""
        refused = self.precheck(head, body_checked=True)
        if refused is not None:
            return AuthResult(token=None, response=refused)
        return await self.guard.authenticate(head, self.guard.required_scopes, form_body=False)

    @staticmethod
    def wants_form_check(head: Request, result: AuthResult) -> bool:
        """Whether a 401 given before the body was read should look at a form-encoded body: a
        form field ``access_token`` is answered ``invalid_request`` (the guard's vocabulary)."""
        if result.response is None or result.response.status != 401:
            return False
        content_type = str(head.headers.get("content-type") or "")
        return content_type.split(";", 1)[0].strip().lower() == "application/x-www-form-urlencoded"

    def form_token_refusal(self, request: Request) -> AuthResult | None:
        """The guard's ``invalid_request`` refusal when the form body of ``request`` (read after
        :meth:`wants_form_check`) carries an ``access_token`` field; ``None`` otherwise."""
        refused = self.guard._extract(request)  # the guard's own bounded form check
        if isinstance(refused, AuthResult) and BearerGuard._token_in_form(request):
            return refused
        return None

    def check_tool_scopes(self, request: Request, token: AccessToken) -> Response | None:
        """The 403 when ``token`` (admitted by :meth:`authorize_head`) lacks a scope of a tool the
        body calls; the challenge lists every scope the request needs. ``None``: proceed."""
        required = self.required_scopes(request)
        if all(scope in token.scopes for scope in required):
            return None
        return insufficient_scope_response(
            resource_metadata_url=self.guard.resource_metadata_url, required_scopes=tuple(required)
        )

    def loop_free(self, request: Request) -> bool:
        """True when serving ``request`` runs no application coroutine, so it may run on any loop.

        That is a 2026-era (stateless, single exchange) ``POST`` answered as JSON by a running
        ``MCPServer`` with the SDK's default lifespan, for ``tools/call`` of a synchronous tool
        without resolvers (the SDK runs it in a worker thread wherever the loop is), or for
        ``tools/list``, ``server/discover`` or ``ping``. The WSGI adapters serve such requests
        on the worker thread's own loop instead of hopping to the bridge's loop thread; anything
        else (async tools, a lifespan whose state may hold loop-bound resources, SSE, sessions,
        the 2025 era, a low-level ``Server`` with its own handlers) keeps the single shared loop.
        """
        server = self._running_server
        if (
            not isinstance(server, MCPServer)
            or self._running_pid != os.getpid()
            or not self.json_response
            or request.method != "POST"
        ):
            return False
        version = request.headers.get("mcp-protocol-version")
        if version is None or version in HANDSHAKE_PROTOCOL_VERSIONS:
            return False
        if lowlevel_server(server).lifespan is not default_lifespan:
            return False
        rpc = peek_rpc(request)  # the body as the scope check already parsed it
        if rpc.method in _LOOP_FREE_METHODS:
            return True
        if rpc.method != "tools/call" or rpc.tool is None:
            return False
        tool = get_tool(server, rpc.tool)
        return tool is not None and not tool.is_async and not tool.resolved_params

    def sdk_scope(self, request: Request, token: AccessToken) -> dict[str, Any]:
        """ASGI scope entries for an admitted ``request``: the verified token
        (:meth:`identity_scope`) and, for a stateful endpoint (where ids in flight are tracked),
        the JSON-RPC id its body carries."""
        entries = self.identity_scope(token)
        if not self.stateless:  # a stateless call is never told apart by its id: no parse for it
            entries[RPC_ID_SCOPE_KEY] = peek_rpc(request).request_id
        return entries

    @staticmethod
    def identity_scope(token: AccessToken) -> dict[str, Any]:
        """ASGI scope entries that hand the verified token to the SDK."""
        return {"user": AuthenticatedUser(token)}

    def cors_headers(self, request: Request) -> list[tuple[str, str]]:
        """CORS headers for a request from an allowed browser ``Origin`` (empty otherwise)."""
        origin = request.headers.get("origin")
        if not origin or not self.policy.origin_allowed(origin):
            return []
        return [
            ("Access-Control-Allow-Origin", origin),
            ("Access-Control-Expose-Headers", MCP_CORS_EXPOSE_HEADERS),
            ("Vary", "Origin"),
        ]

    def preflight_response(self, request: Request) -> Response:
        """The answer to a CORS preflight (``OPTIONS``) on the MCP path."""
        headers = self.cors_headers(request)
        if headers:
            headers += [
                ("Access-Control-Allow-Methods", ", ".join(ALLOWED_METHODS)),
                ("Access-Control-Allow-Headers", MCP_CORS_ALLOW_HEADERS),
                ("Access-Control-Max-Age", "86400"),
            ]
        return Response(status=204, headers=headers)

    # -- ASGI --------------------------------------------------------------------------------

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            raise RuntimeError(f"McpEndpoint serves HTTP only, not {scope['type']!r}")
        limit = self.max_request_body_size
        head = request_from_scope(scope)
        if _declared_length(head) > limit:
            await send_response(send, body_too_large_response(limit))
            return
        # the token first: an unauthenticated client's body is never read
        result = await self.authorize_head(head)
        if self.wants_form_check(head, result):
            with contextlib.suppress(BodyTooLarge):
                form = dataclasses.replace(head, body=await read_body(receive, limit))
                result = self.form_token_refusal(form) or result
        if result.response is not None:
            result.response.headers.extend(self.cors_headers(head))
            await send_response(send, result.response)
            return
        assert result.token is not None
        try:
            body = await read_body(receive, limit)
        except BodyTooLarge:
            await send_response(send, body_too_large_response(limit))
            return
        request = dataclasses.replace(head, body=body)  # headers parsed once, for both
        refused = self.check_tool_scopes(request, result.token)
        if refused is not None:
            refused.headers.extend(self.cors_headers(request))
            await send_response(send, refused)
            return
        inner = self._authorized
        if inner is None:
            await send_response(
                send,
                json_response(
                    {
                        "error": "service_unavailable",
                        "error_description": "MCP endpoint not started (its lifespan is not running)",
                    },
                    status=503,
                ),
            )
            return
        extra = self.cors_headers(request)
        inner_scope = dict(scope)
        inner_scope.update(self.sdk_scope(request, result.token))
        await inner(inner_scope, replay_receive(body, receive), _with_headers(send, extra))


def _declared_length(head: Request) -> int:
    """The ``Content-Length`` of ``head`` (0 when absent or unreadable: the server checks it)."""
    try:
        return int(head.headers.get("content-length") or 0)
    except ValueError:
        return 0


def _sdk_app(handle: ASGIApp) -> ASGIApp:
    """The SDK's transport ``handle`` behind the checks, as one ASGI app (one coroutine frame).

    With ``handle = manager.asgi_app`` it does what
    ``AuthContextMiddleware(StreamableHTTPASGIApp(manager))`` does, with :func:`json_error_send`:
    ``scope["user"]`` becomes the SDK's auth context (``get_access_token()`` in tools) and
    error answers get a JSON body. Every suspension of a request (a tool running in a worker
    thread, say) resumes through each frame of the chain, so the chain is kept short.
    """

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        user = scope.get("user")
        if not isinstance(user, AuthenticatedUser):
            await handle(scope, receive, json_error_send(send))
            return
        reset = auth_context_var.set(user)
        try:
            await handle(scope, receive, json_error_send(send))
        finally:
            auth_context_var.reset(reset)

    return app


def _with_headers(send: Send, extra: Sequence[tuple[str, str]]) -> Send:
    if not extra:
        return send
    encoded = [(k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in extra]

    async def _send(message: Message) -> None:
        if message["type"] == "http.response.start":
            message = dict(message)
            message["headers"] = [*message.get("headers", []), *encoded]
        await send(message)

    return _send
