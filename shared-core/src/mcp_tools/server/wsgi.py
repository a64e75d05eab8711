"""The protected MCP endpoint for WSGI frameworks (Flask, Django under WSGI).

:class:`WsgiMcpEndpoint` authenticates in the calling worker thread (the synchronous
verifier, no event loop involved), then hands the request, with the verified identity, to
the SDK's ASGI endpoint through :class:`~mcp_tools.server.wsgi_bridge.AsgiBridge`.

Two ways to put it in front of clients:

* as a WSGI application of its own (:meth:`WsgiMcpEndpoint.__call__`), usually through
  :class:`WsgiMcpDispatcher`, which routes the MCP path to it before the framework builds
  its request, runs its middleware and resolves its URLs (the fast path, the adapters'
  default);
* from a native view: the adapter calls :meth:`WsgiMcpEndpoint.handle` and turns the result
  into a native response (streaming the body when it is a
  :class:`~mcp_tools.server.wsgi_bridge.BridgeResponse`).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from mcp_tools.asgi import Receive, Scope, Send, body_too_large_response
from mcp_tools.http import Headers, Request, Response, json_response
from mcp_tools.server.endpoint import McpEndpoint
from mcp_tools.server.wsgi_bridge import (
    AsgiBridge,
    BridgeResponse,
    InvalidBody,
    UnsupportedServerError,
    environ_headers,
    read_wsgi_body,
    status_line,
    strip_hop_by_hop,
)

if TYPE_CHECKING:
    from wsgiref.types import StartResponse, WSGIApplication, WSGIEnvironment

__all__ = ["WsgiMcpDispatcher", "WsgiMcpEndpoint", "request_from_environ", "unsupported_server_response"]

logger = logging.getLogger(__name__)

_PATH_SAFE = "/:@!$&'()*+,;=~-._"


def request_from_environ(environ: WSGIEnvironment, body: bytes = b"") -> Request:
    """A core :class:`~mcp_tools.http.Request` straight from a WSGI ``environ`` (no framework).

    Header names are lower-cased; the URL is rebuilt from ``wsgi.url_scheme``, ``Host`` (or
    ``SERVER_NAME``/``SERVER_PORT``), ``SCRIPT_NAME``, ``PATH_INFO`` and ``QUERY_STRING`` as
    PEP 3333 describes.
    """
    scheme = environ.get("wsgi.url_scheme", "http")
    host = environ.get("HTTP_HOST")
    if not host:
        host = environ.get("SERVER_NAME", "localhost")
        port = str(environ.get("SERVER_PORT", ""))
        if port and port != ("443" if scheme == "https" else "80"):
            host = f"{host}:{port}"
    raw_path = (environ.get("SCRIPT_NAME", "") + environ.get("PATH_INFO", "")) or "/"
    # PEP 3333: the path arrives as latin-1 decoded bytes; re-encode and percent-quote them.
    path = quote(raw_path.encode("latin-1", "replace"), safe=_PATH_SAFE)
    query = environ.get("QUERY_STRING", "")
    url = f"{scheme}://{host}{path}" + (f"?{query}" if query else "")
    return Request(
        method=str(environ.get("REQUEST_METHOD", "GET")).upper(),
        url=url,
        headers=Headers(environ_headers(environ)),
        body=body,
    )


def unsupported_server_response(exc: UnsupportedServerError) -> Response:
    """The 500 for a WSGI server that cannot serve the configured transport (details go to the log)."""
    logger.error("mcp-tools cannot serve this request: %s", exc)
    return json_response(
        {
            "error": "unsupported_server",
            "error_description": "this WSGI server cannot serve the configured MCP transport; "
            "see the server log",
        },
        status=500,
    )


class WsgiMcpEndpoint:
    """Serve an :class:`McpEndpoint` from WSGI worker threads.

    The bridge's event-loop thread starts on the first authenticated request (or
    :meth:`start`), is rebuilt after ``fork()``, and stops at interpreter exit or
    :meth:`shutdown`.
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
        #: Serve requests for which ``endpoint.loop_free()`` holds on the worker thread's own
        #: event loop (no hop to the bridge's loop thread); see ``AsgiBridge.handle_inline``.
        self.inline = inline
        self.bridge = AsgiBridge.from_factory(
            self._factory,
            startup_timeout=startup_timeout,
            response_timeout=response_timeout,
            max_body_size=endpoint.max_request_body_size,
            stateful=not endpoint.stateless,
            sse=not endpoint.json_response,
        )

    def _factory(self) -> tuple[Any, Any]:
        endpoint = self.endpoint

        async def app(scope: Scope, receive: Receive, send: Send) -> None:
            # handle() serves only requests authorize_sync admitted (body bounded, read whole)
            await endpoint.authorized_app(scope, receive, send)

        return app, endpoint.run()

    def handle(self, environ: WSGIEnvironment, request: Request) -> Response | BridgeResponse:
        """Check ``request`` (built by the adapter from ``environ``, body read) and serve it.

        Returns a core :class:`Response` for refusals (403/401/405/413...) and a streaming
        :class:`BridgeResponse` from the SDK otherwise; both carry CORS headers for an
        allowed browser ``Origin``.
        """
        result = self.endpoint.authorize_sync(request)
        cors = self.endpoint.cors_headers(request)
        if result.response is not None:
            result.response.headers.extend(cors)
            return result.response
        assert result.token is not None
        identity = self.endpoint.identity_scope(result.token)
        if self.inline and self.bridge.running and self.endpoint.loop_free(request):
            bridged = self.bridge.handle_inline(environ, body=request.body, extra_scope=identity)
        else:
            bridged = self.bridge.handle(environ, body=request.body, extra_scope=identity)
        bridged.headers.extend(cors)
        return bridged

    def serve(self, environ: WSGIEnvironment) -> Response | BridgeResponse:
        """Read the body (bounded), build the core request from ``environ`` and :meth:`handle` it."""
        try:
            body = read_wsgi_body(environ, self.endpoint.max_request_body_size)
        except InvalidBody as exc:
            if exc.status == 413:
                return body_too_large_response(self.endpoint.max_request_body_size)
            return json_response({"error": "invalid_request", "error_description": str(exc)}, status=400)
        try:
            return self.handle(environ, request_from_environ(environ, body))
        except UnsupportedServerError as exc:
            return unsupported_server_response(exc)

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
        if environ.get("PATH_INFO") == self.path:
            return self.endpoint(environ, start_response)
        return self.app(environ, start_response)
