"""URLconf of the MCP endpoint and its discovery documents: ``path("", include("mcp_tools_django.urls"))``.

Routes in the ``mcp_tools`` namespace: ``mcp`` (the path of ``RESOURCE_URL``, or ``MCP_PATH``),
``protected-resource`` (RFC 9728) and ``authorization-server`` (RFC 8414). Include it at the root
(check ``mcp_tools.E012``): the paths come from ``RESOURCE_URL``, and move when it changes.
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

app_name = "mcp_tools"


def build_urlpatterns() -> list[URLPattern]:
    """The routes for the current settings (``/mcp`` when ``MCP_TOOLS`` is unusable)."""
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
