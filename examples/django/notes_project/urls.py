"""URLs of the notes example: the MCP endpoint, its discovery documents and one JSON API view."""

from __future__ import annotations

from django.http import HttpRequest, JsonResponse
from django.urls import include, path

from mcp_tools_django.decorators import mcp_auth_required
from notes_project.mcp_server import NOTES


def index(_request: HttpRequest) -> JsonResponse:
    return JsonResponse({"mcp": "/mcp", "metadata": "/.well-known/oauth-protected-resource/mcp"})


@mcp_auth_required(scopes=["notes:read"])
def my_notes(request: HttpRequest) -> JsonResponse:
    """The same notes over a plain JSON API, with the same bearer tokens."""
    subject = request.mcp_token.subject or ""  # type: ignore[attr-defined]
    return JsonResponse({"subject": subject, "notes": NOTES.get(subject, [])})


urlpatterns = [
    path("", index),
    path("api/notes", my_notes),
    path("", include("mcp_tools_django.urls")),
]
