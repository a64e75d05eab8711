"""URLconf of the MCP endpoint and its discovery documents: ``path("", include("mcp_tools_django.urls"))``.

Routes (names in the ``mcp_tools`` namespace):

* ``mcp``: the MCP endpoint, at the path of ``RESOURCE_URL`` (or ``MCP_PATH``);
* ``protected-resource``: ``/.well-known/oauth-protected-resource<resource path>`` (RFC 9728);
* ``authorization-server``: ``/.well-known/oauth-authorization-server`` (RFC 8414; 404 unless
  ``AUTHORIZATION_SERVER_METADATA`` is set).

Include it at the root (system check ``mcp_tools.E012`` refuses a prefix): the paths come from
``RESOURCE_URL``, which is what clients see. They are computed when this module is imported and
again when ``MCP_TOOLS`` or ``DEBUG`` changes (``override_settings``).
"""

from __future__ import annotations

from typing import Any

from django.core.signals import setting_changed
from django.urls import URLPattern, clear_url_caches, path

from mcp_tools.server.resource_server import AUTHORIZATION_SERVER_METADATA_PATH
from mcp_tools_django.runtime import get_resource_server
from mcp_tools_django.views import (
    authorization_server_metadata_view,
    mcp_view,
    protected_resource_metadata_view,
)

__all__ = ["app_name", "build_urlpatterns", "rebuild", "urlpatterns"]

app_name = "mcp_tools"


def build_urlpatterns() -> list[URLPattern]:
    """The routes for the current settings (``/mcp`` when ``MCP_TOOLS`` is unusable, so that
    ``manage.py check`` can still report the problem)."""
    try:
        server = get_resource_server()
        mcp_path, metadata_path = server.mcp_path, server.metadata_path
    except Exception:
        mcp_path, metadata_path = "/mcp", "/.well-known/oauth-protected-resource/mcp"
    return [
        path(mcp_path.lstrip("/"), mcp_view, name="mcp"),
        path(metadata_path.lstrip("/"), protected_resource_metadata_view, name="protected-resource"),
        path(
            AUTHORIZATION_SERVER_METADATA_PATH.lstrip("/"),
            authorization_server_metadata_view,
            name="authorization-server",
        ),
    ]


urlpatterns = build_urlpatterns()


def rebuild() -> None:
    """Recompute the routes in place."""
    urlpatterns[:] = build_urlpatterns()
    clear_url_caches()


def _on_setting_changed(*, setting: str, **_kwargs: Any) -> None:
    # Connected after the runtime's receiver (this module imports it), so the resource server
    # read here is already the one built from the new settings.
    if setting in ("MCP_TOOLS", "DEBUG"):
        rebuild()


setting_changed.connect(_on_setting_changed, dispatch_uid="mcp_tools_django.urls.rebuild")
