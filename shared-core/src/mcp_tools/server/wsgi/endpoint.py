"""The protected MCP endpoint for WSGI frameworks (Flask, Django under WSGI).

:class:`WsgiMcpEndpoint` authenticates in the calling worker thread (the synchronous
verifier, no event loop involved), then hands the request, with the verified identity, to
the SDK's ASGI endpoint through :class:`~mcp_tools.server.wsgi.AsgiBridge`.

Two ways to put it in front of clients:

* as a WSGI application of its own (:meth:`WsgiMcpEndpoint.__call__`), usually through
  :class:`WsgiMcpDispatcher`, which routes the MCP path to it before the framework builds
  its request, runs its middleware and resolves its URLs (the fast path, the adapters'
  default); the request is described once: the ASGI scope from the environ, the core request
  from the scope, the body read and bounded once;
* from a native view: the adapter calls :meth:`WsgiMcpEndpoint.handle` with the core request
  it built and turns the result into a native response (streaming the body when it is a
  :class:`~mcp_tools.server.wsgi.BridgeResponse`).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from mcp_tools.asgi import Receive, Scope, Send, body_too_large_response, request_from_scope
from mcp_tools.http import Request, Response, json_response
from mcp_tools.server.endpoint import McpEndpoint
from mcp_tools.server.wsgi.bridge import AsgiBridge
from mcp_tools.server.wsgi.environ import InvalidBody, build_scope, read_wsgi_body
from mcp_tools.server.wsgi.errors import UnsupportedServerError, unsupported_server_response
from mcp_tools.server.wsgi.response import BridgeResponse, status_line, strip_hop_by_hop

if TYPE_CHECKING:
    from wsgiref.types import StartResponse, WSGIApplication, WSGIEnvironment

__all__ = ["WsgiMcpDispatcher", "WsgiMcpEndpoint"]


class WsgiMcpEndpoint:
    """Serve an :class:`McpEndpoint` from WSGI worker threads.

    The bridge's event-loop thread starts on the first authenticated request (or
    :meth:`start`), is rebuilt after ``fork()``, and stops at interpreter exit or
    :meth:`shutdown`. With ``inline``, requests for which ``endpoint.loop_free()`` holds run
    on the worker thread's own event loop (no hop; see ``AsgiBridge.handle_inline``).
    """

    def __init__(
        self,
        endpoint: McpEndpoint,
        *,
        startup_timeout: float = 10.0,
        response_timeout: float | None = None,
        inline: bool = True,
    ) -> None:
        self.endpoint = endpoint
        self.inline = inline
        self.bridge = AsgiBridge(
            factory=self._factory,
            startup_timeout=startup_timeout,
            response_timeout=response_timeout,
            max_body_size=endpoint.max_request_body_size,
            stateful=not endpoint.stateless,
            sse=not endpoint.json_response,
        )

    def _factory(self) -> tuple[Any, Any]:
        endpoint = self.endpoint

        async def app(scope: Scope, receive: Receive, send: Send) -> None:
            # only requests authorize_sync admitted arrive here (body bounded, read whole)
            await endpoint.authorized_app(scope, receive, send)

        return app, endpoint.run()

    def handle(self, environ: WSGIEnvironment, request: Request) -> Response | BridgeResponse:
        """Check ``request`` (built by the adapter from ``environ``, body read) and serve it.

        Returns a core :class:`Response` for refusals (403/401/405/413...) and a streaming
        :class:`BridgeResponse` from the SDK otherwise; both carry CORS headers for an
        allowed browser ``Origin``.
        """
        return self._serve(environ, request, None)

    def serve(self, environ: WSGIEnvironment) -> Response | BridgeResponse:
        """Describe the request from ``environ`` (scope, then core request; body read and
        bounded) and serve it as :meth:`handle` does."""
        scope = build_scope(environ)
        limit = self.endpoint.max_request_body_size
        try:
            body = read_wsgi_body(environ, limit)
        except InvalidBody as exc:
            if exc.status == 413:
                return body_too_large_response(limit)
            return json_response({"error": "invalid_request", "error_description": str(exc)}, status=400)
        try:
            return self._serve(environ, request_from_scope(scope, body), scope)
        except UnsupportedServerError as exc:
            return unsupported_server_response(exc)

    def _serve(
        self, environ: WSGIEnvironment, request: Request, scope: Scope | None
    ) -> Response | BridgeResponse:
        endpoint = self.endpoint
        # A scope built here came with a body read under the limit: no second size check.
        result = endpoint.authorize_sync(request, body_checked=scope is not None)
        cors = endpoint.cors_headers(request)
        if result.response is not None:
            result.response.headers.extend(cors)
            return result.response
        assert result.token is not None
        identity = endpoint.identity_scope(result.token)
        if scope is None:
            scope = build_scope(environ, identity)
        else:
            scope.update(identity)
        if self.inline and self.bridge.running and endpoint.loop_free(request):
            bridged = self.bridge.handle_inline(environ, body=request.body, scope=scope)
        else:
            bridged = self.bridge.handle(environ, body=request.body, scope=scope)
        bridged.headers.extend(cors)
        return bridged

    def __call__(self, environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        """Serve the MCP endpoint as a WSGI application (mount it at the MCP path)."""
        response = self.serve(environ)
        if isinstance(response, BridgeResponse):
            return response.start(start_response)
        start_response(status_line(response.status), strip_hop_by_hop(response.headers))
        return [response.body]

    def start(self) -> None:
        """Start the event-loop thread now (e.g. in a gunicorn ``post_fork`` hook)."""
        self.bridge.start()

    def shutdown(self, timeout: float = 5.0) -> None:
        """Stop the event-loop thread (tests; interpreter exit does it too)."""
        self.bridge.shutdown(timeout)


class WsgiMcpDispatcher:
    """WSGI middleware: requests for the MCP path go to the endpoint, everything else to ``app``.

    The MCP endpoint does its own Host/Origin, CORS, size and bearer checks, so it needs
    nothing from the framework; routing it here skips the framework's request object, URL
    resolution and middleware, which cost more than the rest of the adapter together. The
    flip side: the framework's request hooks and middleware (``before_request``, Django
    middleware, rate limiters living there) do not see MCP requests; wrap this dispatcher in
    WSGI middleware of your own to cover them, or serve the endpoint as an ordinary view.

    Args:
        app: the framework's WSGI application.
        endpoint: the MCP endpoint.
        path: the MCP path as the framework sees it (``PATH_INFO``, below ``SCRIPT_NAME``).
    """

    def __init__(self, app: WSGIApplication, endpoint: WsgiMcpEndpoint, path: str) -> None:
        self.app = app
        self.endpoint = endpoint
        self.path = path

    def __call__(self, environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        """Route one WSGI request: the MCP path to the endpoint, anything else to the app."""
        if environ.get("PATH_INFO") == self.path:
            return self.endpoint(environ, start_response)
        return self.app(environ, start_response)
