"""Serve a Django project under WSGI with the MCP endpoint routed at the WSGI level.

``myproject/wsgi.py``::

    import os
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "myproject.settings")
    from mcp_tools_django.wsgi import get_wsgi_application
    application = get_wsgi_application()

:class:`McpWsgiApplication` wraps Django's WSGI handler (the twin of
:mod:`mcp_tools_django.asgi`): requests for the MCP path are checked against
``ALLOWED_HOSTS`` and go straight to the core's :class:`~mcp_tools.server.wsgi.WsgiMcpEndpoint`
(the same endpoint :func:`~mcp_tools_django.views.mcp_view` uses), without a Django request
object, URL resolution or middleware, which cost more than the rest of the call. Everything
else (metadata documents, your views) goes to Django. Django middleware and the
``request_started``/``request_finished`` signals therefore do not see MCP calls; use
``route_mcp=False`` (or Django's own ``get_wsgi_application``) to serve the MCP path through
your URLconf instead.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

from django.core.wsgi import get_wsgi_application as get_django_wsgi_application

from mcp_tools.server.wsgi import status_line
from mcp_tools_django.conf import get_resource_server, get_wsgi_endpoint, host_allowed
from mcp_tools_django.views import host_refused

if TYPE_CHECKING:
    from wsgiref.types import StartResponse, WSGIApplication, WSGIEnvironment

__all__ = ["McpWsgiApplication", "get_wsgi_application"]


class McpWsgiApplication:
    """A WSGI application: the MCP endpoint plus a Django project (see the module docstring).

    Args:
        django_app: Django's WSGI handler (``django.core.wsgi.get_wsgi_application()``).
        route_mcp: ``False`` leaves the MCP path to your URLconf (``mcp_tools_django.urls``).
    """

    def __init__(self, django_app: WSGIApplication, *, route_mcp: bool = True) -> None:
        self.django_app = django_app
        self.route_mcp = route_mcp

    def __call__(self, environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        # Settings are read per request (they are cached by conf and reloaded on change).
        if self.route_mcp and environ.get("PATH_INFO") == get_resource_server().mcp_path:
            if not host_allowed(environ.get("HTTP_HOST")):
                refused = host_refused()
                start_response(status_line(refused.status), refused.headers)
                return [refused.body]
            return get_wsgi_endpoint()(environ, start_response)
        return self.django_app(environ, start_response)


def get_wsgi_application(*, route_mcp: bool = True) -> McpWsgiApplication:
    """Django's WSGI application (``django.setup()`` included) wrapped by :class:`McpWsgiApplication`."""
    return McpWsgiApplication(get_django_wsgi_application(), route_mcp=route_mcp)
