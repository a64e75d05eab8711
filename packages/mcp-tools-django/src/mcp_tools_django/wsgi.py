"""Serve a Django project under WSGI with the MCP endpoint routed at the WSGI level.

``myproject/wsgi.py``::

    import os
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "myproject.settings")
    from mcp_tools_django.wsgi import get_wsgi_application
    application = get_wsgi_application()

:class:`McpWsgiApplication` wraps Django's WSGI handler: the MCP path goes straight to the core's
:class:`~mcp_tools.server.wsgi.WsgiMcpEndpoint` (the one :func:`~mcp_tools_django.views.mcp_view`
uses), with no Django request, URL resolution or middleware; everything else goes to Django.
``route_mcp=False`` or ``MCP_TOOLS["WSGI_DISPATCH"] = False`` leaves the MCP path to your URLconf.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

from django.core.wsgi import get_wsgi_application as get_django_wsgi_application

from mcp_tools_django.runtime import get_resource_server, get_wsgi_endpoint

if TYPE_CHECKING:
    from wsgiref.types import StartResponse, WSGIApplication, WSGIEnvironment


class McpWsgiApplication:
    """The MCP endpoint plus a Django project (see the module docstring); ``route_mcp``
    defaults to ``MCP_TOOLS["WSGI_DISPATCH"]``."""

    def __init__(self, django_app: WSGIApplication, *, route_mcp: bool | None = None) -> None:
        self.django_app = django_app
        self.route_mcp = route_mcp

    def __call__(self, environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        # The resource server is rebuilt when settings change: read it per request.
        server = get_resource_server()
        route = server.options.wsgi.dispatch if self.route_mcp is None else self.route_mcp
        if route and environ.get("PATH_INFO") == server.mcp_path:
            return get_wsgi_endpoint()(environ, start_response)
        return self.django_app(environ, start_response)


def get_wsgi_application(*, route_mcp: bool | None = None) -> McpWsgiApplication:
    """Django's WSGI application (``django.setup()`` included) wrapped by :class:`McpWsgiApplication`."""
    return McpWsgiApplication(get_django_wsgi_application(), route_mcp=route_mcp)
