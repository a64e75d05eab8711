"""URLconf of the MCP endpoint and its discovery documents: ``path("", include("mcp_tools_django.urls"))``.

Routes (names in the ``mcp_tools`` namespace):

* ``mcp``: the MCP endpoint, at the path of ``RESOURCE_URL`` (or ``MCP_PATH``);
* ``protected-resource``: ``/.well-known/oauth-protected-resource<resource path>`` (RFC 9728);
* ``authorization-server``: ``/.well-known/oauth-authorization-server`` (RFC 8414; 404 unless
  ``AUTHORIZATION_SERVER_METADATA`` is set).

Include it at the root: the paths come from ``RESOURCE_URL``, which is what clients see. They
are computed when this module is imported and again when ``MCP_TOOLS`` changes
(``override_settings``); every other setting is read per request.
"""

from __future__ import annotations

from django.urls import URLPattern, clear_url_caches, path

from mcp_tools.server.metadata import protected_resource_metadata_path
from mcp_tools.server.resource_server import AUTHORIZATION_SERVER_METADATA_PATH
from mcp_tools_django.conf import mcp_settings
from mcp_tools_django.views import (
    authorization_server_metadata_view,
    mcp_view,
    protected_resource_metadata_view,
)

__all__ = ["app_name", "build_urlpatterns", "rebuild", "urlpatterns"]

app_name = "mcp_tools"


def _route(url_path: str) -> str:
    return url_path.lstrip("/")


def build_urlpatterns() -> list[URLPattern]:
    """The routes for the current settings (falls back to ``/mcp`` when ``RESOURCE_URL`` is
    unusable, so ``manage.py check`` can still report the problem)."""
    try:
        mcp_path = mcp_settings.mcp_path
        resource_url = mcp_settings.resource_url
        metadata_path = protected_resource_metadata_path(resource_url or "http://localhost/mcp")
    except Exception:
        mcp_path, metadata_path = "/mcp", "/.well-known/oauth-protected-resource/mcp"
    return [
        path(_route(mcp_path), mcp_view, name="mcp"),
        path(_route(metadata_path), protected_resource_metadata_view, name="protected-resource"),
        path(
            _route(AUTHORIZATION_SERVER_METADATA_PATH),
            authorization_server_metadata_view,
            name="authorization-server",
        ),
    ]


urlpatterns = build_urlpatterns()


def rebuild() -> None:
    """Recompute the routes in place (called when ``MCP_TOOLS`` changes)."""
    urlpatterns[:] = build_urlpatterns()
    clear_url_caches()
