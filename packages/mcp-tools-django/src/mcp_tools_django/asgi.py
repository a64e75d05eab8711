"""Serve a Django project under ASGI with the MCP endpoint composed at the ASGI level.

``myproject/asgi.py``::

    import os
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "myproject.settings")
    from mcp_tools_django.asgi import get_asgi_application
    application = get_asgi_application()

:class:`McpAsgiApplication` wraps Django's ASGI handler: ``lifespan`` starts the SDK's session
manager on the serving loop (with your own ``lifespan=``); the MCP path goes straight to the
core's ASGI :class:`McpEndpoint` (whose policy checks ``ALLOWED_HOSTS``), and so does the metadata
document when your URLconf maps it to :func:`mcp_tools_django.views.protected_resource_metadata_view`;
everything else goes to Django. After a settings change the new endpoint starts on first use.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Awaitable, Callable
from contextlib import AbstractAsyncContextManager
from typing import Any

import anyio
import anyio.abc
from django.conf import settings
from django.core.asgi import get_asgi_application as get_django_asgi_application
from django.http import Http404
from django.urls import resolve

from mcp_tools.asgi import Receive, Scope, Send, request_from_scope, send_response
from mcp_tools.http import Request
from mcp_tools.server.endpoint import McpEndpoint
from mcp_tools.server.resource_server import McpResourceServer
from mcp_tools_django.runtime import get_resource_server
from mcp_tools_django.views import protected_resource_metadata_view

logger = logging.getLogger("mcp_tools_django")

Lifespan = Callable[[], AbstractAsyncContextManager[Any]]
InnerApp = Callable[[Any, Any, Any], Awaitable[None]]


class McpAsgiApplication:
    """The MCP endpoint plus a Django project (see the module docstring). ``lifespan``: a callable
    returning an async context manager, entered after the endpoint started. ``route_mcp=False``
    leaves the MCP path to your URLconf (:func:`mcp_tools_django.views.mcp_async_view`)."""

    def __init__(
        self, django_app: InnerApp, *, lifespan: Lifespan | None = None, route_mcp: bool = True
    ) -> None:
        self.django_app = django_app
        self.lifespan = lifespan
        self.route_mcp = route_mcp
        self._task_group: anyio.abc.TaskGroup | None = None
        self._lock: anyio.Lock | None = None
        self._stop_current: anyio.Event | None = None
        self._running: McpEndpoint | None = None
        # (resource server, ROOT_URLCONF) -> the metadata path served here, or None
        self._metadata_route: tuple[object, object, str | None] | None = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        kind = scope["type"]
        if kind == "http" and self.route_mcp:
            # Inline, not helper calls: this runs on every request, and this frame stays in
            # the await chain of an MCP request for its whole life.
            server = get_resource_server()
            path = scope["path"]
            root = scope.get("root_path")
            if root and path.startswith(root):
                path = path[len(root) :] or "/"
            if path == server.mcp_path:
                endpoint = server.endpoint
                if endpoint is not self._running and self._task_group is not None:
                    await self.start(endpoint)
                await endpoint(scope, receive, send)
                return
            if path == self._metadata_path(server):
                request = request_from_scope(scope)
                # ALLOWED_HOSTS, as Django would: a foreign Host gets the policy's 421 (as without a Host)
                foreign = not server.policy.host_allowed(request.headers.get("host"))
                refused = server.policy.check(Request("GET", "/")) if foreign else None
                await send_response(send, refused or server.handle_protected_resource(request))
                return
        elif kind == "lifespan":
            await self._lifespan(receive, send)
            return
        await self.django_app(scope, receive, send)

    def _metadata_path(self, server: McpResourceServer) -> str | None:
        """The metadata path when the URLconf maps it to our view (checked once per settings)."""
        urlconf = settings.ROOT_URLCONF
        known = self._metadata_route
        if known is not None and known[0] is server and known[1] == urlconf:
            return known[2]
        try:
            match = resolve(server.metadata_path, urlconf)
        except Http404:
            match = None
        ours = match is not None and match.func is protected_resource_metadata_view
        served = server.metadata_path if ours else None
        self._metadata_route = (server, urlconf, served)
        return served

    async def start(self, endpoint: McpEndpoint) -> None:
        """Start ``endpoint`` in the lifespan's task group, stopping the previous one."""
        if self._task_group is None or self._lock is None:
            raise RuntimeError("the ASGI lifespan is not running")
        async with self._lock:
            if endpoint is self._running:
                return
            if endpoint.running:
                raise RuntimeError(
                    "this MCP endpoint is already running in another event loop of this process "
                    "(two ASGI applications, or the WSGI bridge, serving the same MCP_TOOLS?)"
                )
            if self._stop_current is not None:
                self._stop_current.set()
            stop = self._stop_current = anyio.Event()

            async def run(*, task_status: anyio.abc.TaskStatus[None] = anyio.TASK_STATUS_IGNORED) -> None:
                async with endpoint.run():
                    self._running = endpoint
                    task_status.started()
                    try:
                        await stop.wait()
                    finally:
                        if self._running is endpoint:
                            self._running = None

            await self._task_group.start(run)

    async def _lifespan(self, receive: Receive, send: Send) -> None:
        message = await receive()
        assert message["type"] == "lifespan.startup"
        failure: Exception | None = None
        async with anyio.create_task_group() as group:
            self._task_group, self._lock = group, anyio.Lock()
            async with contextlib.AsyncExitStack() as stack:
                try:
                    await self.start(get_resource_server().endpoint)
                    if self.lifespan is not None:
                        await stack.enter_async_context(self.lifespan())
                except Exception as exc:
                    failure = exc
                else:
                    await send({"type": "lifespan.startup.complete"})
                    message = await receive()
                    assert message["type"] == "lifespan.shutdown"
            self._task_group = None
            group.cancel_scope.cancel()  # stops the endpoint(s) started here
        if failure is not None:
            await send({"type": "lifespan.startup.failed", "message": f"{type(failure).__name__}: {failure}"})
            raise failure  # as Starlette does: the server reports it and stops
        await send({"type": "lifespan.shutdown.complete"})


def get_asgi_application(*, lifespan: Lifespan | None = None, route_mcp: bool = True) -> McpAsgiApplication:
    """Django's ASGI application (``django.setup()`` included) wrapped by :class:`McpAsgiApplication`."""
    return McpAsgiApplication(get_django_asgi_application(), lifespan=lifespan, route_mcp=route_mcp)
