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

import contextlib
import dataclasses
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from mcp_tools.asgi import Receive, Scope, Send, body_too_large_response, request_from_scope
from mcp_tools.http import Request, Response, json_response
from mcp_tools.server.endpoint import McpEndpoint
from mcp_tools.server.options import DEFAULT_BODY_TIMEOUT, DEFAULT_RESPONSE_TIMEOUT
from mcp_tools.server.wsgi.bridge import AsgiBridge
from mcp_tools.server.wsgi.environ import (
    InvalidBody,
    build_scope,
    declared_length,
    discard_wsgi_body,
    read_wsgi_body,
    server_threads,
)
from mcp_tools.server.wsgi.errors import UnsupportedServerError, unsupported_server_response
from mcp_tools.server.wsgi.response import BridgeResponse, status_line, strip_hop_by_hop

if TYPE_CHECKING:
    from wsgiref.types import StartResponse, WSGIApplication, WSGIEnvironment

    from mcp.server.auth.provider import AccessToken

__all__ = ["DEFAULT_WSGI_MAX_STREAMS", "WsgiMcpDispatcher", "WsgiMcpEndpoint"]

DISCARD_GRACE = 1.0
"""Seconds a refused request's unread body may still take to arrive before it is given up on."""

DEFAULT_WSGI_MAX_STREAMS = 2
"""Open GET streams per process when the server's thread count is unknown (waitress has 4)."""


class WsgiMcpEndpoint:
    """Serve an :class:`McpEndpoint` from WSGI worker threads.

    The bridge's event-loop thread starts on the first authenticated request (or
    :meth:`start`), is rebuilt after ``fork()``, and stops at interpreter exit or
    :meth:`shutdown`. With ``inline``, requests for which ``endpoint.loop_free()`` holds run
    on the worker thread's own event loop (no hop; see ``AsgiBridge.handle_inline``).

    Each open GET event stream holds a worker thread, so the endpoint's overall stream limit
    (``endpoint.limits.max_streams``) is ``max_streams`` or, by default, half the server's
    threads where the server tells (gunicorn's ``--threads``, learnt on the first request it
    routes here), else :data:`DEFAULT_WSGI_MAX_STREAMS`.
    """

    def __init__(
        self,
        endpoint: McpEndpoint,
        *,
        startup_timeout: float = 10.0,
        response_timeout: float | None = DEFAULT_RESPONSE_TIMEOUT,
        inline: bool = True,
        max_streams: int | None = None,
        body_timeout: float = DEFAULT_BODY_TIMEOUT,
    ) -> None:
        if max_streams is not None and max_streams < 0:
            raise ValueError("max_streams must be 0 or more (or None: from the server's threads)")
        self.endpoint = endpoint
        self.inline = inline
        self.body_timeout = body_timeout
        self.max_streams = max_streams
        self._streams_sized = max_streams is not None
        if max_streams is not None:
            endpoint.limits.max_streams = max_streams
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
        """Describe the request from ``environ`` (scope, then core request) and serve it as
        :meth:`handle` does, reading the body only once the token is known good.

        Order: ``Content-Length`` (400/413), Host/Origin, method and the bearer token with the
        endpoint's scopes, all from the headers; then the body, read within ``body_timeout``
        seconds in total (408 after); then the scopes of the tools it calls (403). A client that
        trickles its body without a valid token never holds the worker thread.
        """
        endpoint = self.endpoint
        limit = endpoint.max_request_body_size
        scope = build_scope(environ)
        try:
            declared_length(environ, limit)
        except InvalidBody as exc:
            discard_wsgi_body(environ, min(DISCARD_GRACE, self.body_timeout))
            return _body_refusal(exc, limit)
        if not self._streams_sized:
            self.size_streams(environ)
        head = request_from_scope(scope)
        result = endpoint.authorize_head_sync(head)
        grace = min(DISCARD_GRACE, self.body_timeout)
        if endpoint.wants_form_check(head, result):  # a form body within the grace: token in it?
            with contextlib.suppress(InvalidBody):
                form = dataclasses.replace(head, body=read_wsgi_body(environ, limit, grace))
                result = endpoint.form_token_refusal(form) or result
        if result.response is not None:
            discard_wsgi_body(environ, grace)
            result.response.headers.extend(endpoint.cors_headers(head))
            return result.response
        assert result.token is not None
        try:
            body = read_wsgi_body(environ, limit, self.body_timeout)
        except InvalidBody as exc:
            return _body_refusal(exc, limit)
        request = dataclasses.replace(head, body=body)  # headers parsed once, for both
        refused = endpoint.check_tool_scopes(request, result.token)
        if refused is not None:
            refused.headers.extend(endpoint.cors_headers(request))
            return refused
        try:
            return self._bridge_admitted(environ, request, scope, result.token)
        except UnsupportedServerError as exc:
            return unsupported_server_response(exc)

    def _serve(
        self, environ: WSGIEnvironment, request: Request, scope: Scope | None
    ) -> Response | BridgeResponse:
        endpoint = self.endpoint
        if not self._streams_sized:
            self.size_streams(environ)
        # A scope built here came with a body read under the limit: no second size check.
        result = endpoint.authorize_sync(request, body_checked=scope is not None)
        if result.response is not None:
            result.response.headers.extend(endpoint.cors_headers(request))
            return result.response
        assert result.token is not None
        return self._bridge_admitted(environ, request, scope, result.token)

    def _bridge_admitted(
        self, environ: WSGIEnvironment, request: Request, scope: Scope | None, token: AccessToken
    ) -> BridgeResponse:
        endpoint = self.endpoint
        cors = endpoint.cors_headers(request)
        identity = endpoint.sdk_scope(request, token)
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
        if not self._streams_sized:
            self.size_streams(environ, start_response)
        response = self.serve(environ)
        if isinstance(response, BridgeResponse):
            return response.start(start_response)
        start_response(status_line(response.status), strip_hop_by_hop(response.headers))
        return [response.body]

    def size_streams(self, environ: WSGIEnvironment, start_response: object = None) -> int:
        """Set the overall stream limit from the server serving ``environ`` (see the class)."""
        threads = server_threads(environ, start_response)
        limit = threads // 2 if threads is not None else DEFAULT_WSGI_MAX_STREAMS
        self.endpoint.limits.max_streams = limit
        self._streams_sized = True
        return limit

    def start(self) -> None:
        """Start the event-loop thread now (e.g. in a gunicorn ``post_fork`` hook)."""
        self.bridge.start()

    def shutdown(self, timeout: float = 5.0) -> None:
        """Stop the event-loop thread (tests; interpreter exit does it too)."""
        self.bridge.shutdown(timeout)


def _body_refusal(exc: InvalidBody, limit: int) -> Response:
    if exc.status == 413:
        return body_too_large_response(limit)
    if exc.status == 408:
        return json_response({"error": "request_timeout", "error_description": str(exc)}, status=408)
    return json_response({"error": "invalid_request", "error_description": str(exc)}, status=400)


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
