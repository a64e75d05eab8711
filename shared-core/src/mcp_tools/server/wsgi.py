"""The protected MCP endpoint for WSGI frameworks (Flask, Django under WSGI).

:class:`WsgiMcpEndpoint` authenticates in the calling worker thread (the synchronous
verifier, no event loop involved), then hands the request, with the verified identity, to
the SDK's ASGI endpoint through :class:`~mcp_tools.server.wsgi_bridge.AsgiBridge`. Adapters
call :meth:`WsgiMcpEndpoint.handle` from a native view and turn the result into a native
response (streaming the body when it is a :class:`~mcp_tools.server.wsgi_bridge.BridgeResponse`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from mcp_tools.asgi import Receive, Scope, Send
from mcp_tools.http import Request, Response
from mcp_tools.server.endpoint import McpEndpoint
from mcp_tools.server.wsgi_bridge import AsgiBridge, BridgeResponse

if TYPE_CHECKING:
    from wsgiref.types import WSGIEnvironment

__all__ = ["WsgiMcpEndpoint"]


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
            await endpoint.inner_app(scope, receive, send)

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

    def start(self) -> None:
        """Start the event-loop thread now (e.g. in a gunicorn ``post_fork`` hook)."""
        self.bridge.start()

    def shutdown(self, timeout: float = 5.0) -> None:
        """Stop the event-loop thread (tests; interpreter exit does it too)."""
        self.bridge.shutdown(timeout)
