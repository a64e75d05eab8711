"""Django views of the MCP endpoint and its discovery documents, and the two converters.

The views are CSRF-exempt (a stray ``POST`` to a metadata URL gets the JSON 405 of every
adapter, not Django's CSRF page). :func:`mcp_view` runs the SDK behind the core's WSGI bridge;
:func:`mcp_async_view` needs ASGI with :func:`mcp_tools_django.asgi.get_asgi_application`.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator

import anyio
from asgiref.sync import async_to_sync
from django.core.exceptions import ImproperlyConfigured
from django.core.handlers.asgi import ASGIRequest
from django.http import HttpRequest, HttpResponse, HttpResponseBase, StreamingHttpResponse
from django.views.decorators.csrf import csrf_exempt

from mcp_tools.asgi import Message, ResponseCollector
from mcp_tools.http import Headers, Request, Response, json_response
from mcp_tools.server.endpoint import McpEndpoint
from mcp_tools.server.wsgi import BridgeResponse, WsgiMcpEndpoint
from mcp_tools_django.runtime import get_resource_server, get_wsgi_endpoint

logger = logging.getLogger("mcp_tools_django")
_warned_asgi = False


def to_core_request(request: HttpRequest, *, body: bytes = b"") -> Request:
    """Convert a Django request (``body``: read by the caller, with a limit). The raw ``Host``
    is used, not :meth:`HttpRequest.get_host` (its HTML 400): the endpoint's policy checks it."""
    meta = request.META
    host = meta.get("HTTP_HOST") or f"{meta.get('SERVER_NAME', 'localhost')}:{meta.get('SERVER_PORT', '80')}"
    url = f"{request.scheme}://{host}{request.get_full_path()}"
    headers = Headers(request.headers.items())
    return Request(method=request.method or "GET", url=url, headers=headers, body=body)


def to_django_response(response: Response | BridgeResponse) -> HttpResponseBase:
    """Convert a core response; a :class:`BridgeResponse` streams, and closing the Django
    response closes it (Django registers the iterable's ``close``)."""
    native: HttpResponseBase
    if isinstance(response, BridgeResponse):
        native = StreamingHttpResponse(response, status=response.status)
    else:
        native = HttpResponse(response.body, status=response.status)
    del native["Content-Type"]  # only what the core set
    for name, value in response.headers:
        native[name] = f"{native[name]}, {value}" if native.has_header(name) else value
    return native


def serve_mcp(request: HttpRequest, endpoint: WsgiMcpEndpoint) -> HttpResponseBase:
    """Serve one MCP request from sync Django code: through the bridge, or under ASGI on the
    serving loop when the wrapper's lifespan runs the endpoint there (one endpoint, one loop)."""
    global _warned_asgi
    if isinstance(request, ASGIRequest):
        if endpoint.endpoint.running and not endpoint.bridge.running:
            return async_to_sync(_serve_asgi)(request, endpoint.endpoint)
        if not _warned_asgi:
            _warned_asgi = True
            logger.warning(
                "the MCP endpoint is served through the WSGI bridge under ASGI; serve the project "
                "with mcp_tools_django.asgi.get_asgi_application() to avoid the thread hop"
            )
    environ = {**request.META, "wsgi.url_scheme": request.scheme}  # META: the WSGI environ, or a copy
    if not isinstance(request, ASGIRequest):  # the token before the body, read with a deadline
        return to_django_response(endpoint.serve({**environ, "wsgi.input": request}))
    body = request.read(endpoint.endpoint.max_request_body_size + 1)
    return to_django_response(endpoint.handle(environ, to_core_request(request, body=body)))


@csrf_exempt
def mcp_view(request: HttpRequest) -> HttpResponseBase:
    """The MCP endpoint configured by ``MCP_TOOLS`` (every method; the core answers 405)."""
    return serve_mcp(request, get_wsgi_endpoint())


async def mcp_async_view(request: HttpRequest) -> HttpResponseBase:
    """The MCP endpoint as an async view, for Django middleware on MCP requests under ASGI with
    ``get_asgi_application(route_mcp=False)`` (its lifespan starts the endpoint; refused under WSGI)."""
    if not isinstance(request, ASGIRequest):
        raise ImproperlyConfigured(
            "mcp_async_view cannot work under WSGI: Django runs async views there in a new event "
            "loop per request, where the MCP session manager cannot live. Route the MCP path to "
            "mcp_tools_django.views.mcp_view (the default in mcp_tools_django.urls)."
        )
    endpoint = get_resource_server().endpoint
    if not endpoint.running:
        raise ImproperlyConfigured(
            "the MCP endpoint is not running: serve the project with "
            "mcp_tools_django.asgi.get_asgi_application(), whose lifespan starts it"
        )
    return await _serve_asgi(request, endpoint)


# Marked by hand: Django 4.2's csrf_exempt wraps any view in a sync function.
mcp_async_view.csrf_exempt = True  # type: ignore[attr-defined]


async def _serve_asgi(request: ASGIRequest, endpoint: McpEndpoint) -> HttpResponseBase:
    """Run ``endpoint`` on this event loop; return when its headers are known, then stream."""
    # read(), not .body: DATA_UPLOAD_MAX_MEMORY_SIZE must not cap MCP bodies (the endpoint's
    # own limit answers 413)
    body: bytes | None = request.read(endpoint.max_request_body_size + 1)
    sender, receiver = anyio.create_memory_object_stream[bytes](16)
    started = anyio.Event()

    async def relay(chunk: bytes, end: bool) -> None:
        await sender.send(chunk)
        if end:  # the response is complete: the stream ends, whatever the endpoint does next
            sender.close()

    response = ResponseCollector(relay, started.set)

    async def receive() -> Message:
        nonlocal body
        if body is not None:
            chunk, body = body, None
            return {"type": "http.request", "body": chunk, "more_body": False}
        await anyio.sleep_forever()
        raise AssertionError("unreachable")

    async def run() -> None:
        try:
            async with sender:
                await endpoint(dict(request.scope), receive, response.send)
        finally:
            started.set()

    runner = asyncio.ensure_future(run())
    await started.wait()
    if response.status is None:  # the endpoint ended without starting a response
        receiver.close()
        await asyncio.wait([runner])
        if not runner.cancelled() and runner.exception() is not None:
            logger.error("the MCP endpoint failed before its response", exc_info=runner.exception())
        return to_django_response(json_response({"error": "internal_error"}, status=500))

    async def chunks() -> AsyncIterator[bytes]:
        try:
            async with receiver:
                async for chunk in receiver:
                    yield chunk
        finally:
            if not runner.done():  # the client went away: stop the endpoint
                runner.cancel()

    native = StreamingHttpResponse(chunks(), status=response.status)
    del native["Content-Type"]
    for name, value in response.headers:
        native[name] = f"{native[name]}, {value}" if native.has_header(name) else value
    return native


@csrf_exempt
def protected_resource_metadata_view(request: HttpRequest) -> HttpResponseBase:
    """RFC 9728 protected resource metadata (``GET``/``HEAD``/``OPTIONS``; JSON 405 otherwise)."""
    server = get_resource_server()
    return to_django_response(server.handle_protected_resource(to_core_request(request)))


@csrf_exempt
def authorization_server_metadata_view(request: HttpRequest) -> HttpResponseBase:
    """RFC 8414 metadata when ``AUTHORIZATION_SERVER_METADATA`` is set (JSON 404 otherwise)."""
    server = get_resource_server()
    return to_django_response(server.handle_authorization_server(to_core_request(request)))
