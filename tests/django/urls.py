"""URLconf of the Django tests: the app's routes plus views exercising the decorators and factories."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.urls import include, path

from mcp_tools.server.verifiers.jwt import JWTVerifier
from mcp_tools_django.decorators import mcp_auth, mcp_auth_required
from mcp_tools_django.handlers import (
    metadata_cors_options_handler,
    protected_resource_handler,
    streamable_http_handler,
)
from mcp_tools_django.views import mcp_async_view
from tests.contract.spec import ISSUER, RESOURCE, WRITE_SCOPE, ContractSettings, make_verifier, public_jwks


@mcp_auth_required
def me(request: HttpRequest) -> JsonResponse:
    token = request.mcp_token  # type: ignore[attr-defined]
    return JsonResponse({"sub": token.subject, "scopes": token.scopes})


@mcp_auth_required(scopes=[WRITE_SCOPE])
def write(request: HttpRequest) -> JsonResponse:
    return JsonResponse({"sub": request.mcp_token.subject})  # type: ignore[attr-defined]


@mcp_auth_required(scopes=[])
async def async_me(request: HttpRequest) -> JsonResponse:
    return JsonResponse({"sub": request.mcp_token.subject, "async": True})  # type: ignore[attr-defined]


@mcp_auth(make_verifier(), resource_url=RESOURCE, scopes=["mcp:read"])
def explicit(request: HttpRequest) -> JsonResponse:
    return JsonResponse({"sub": request.mcp_token.subject})  # type: ignore[attr-defined]


def plain_post(request: HttpRequest) -> HttpResponse:
    return HttpResponse("ok")


_hand = ContractSettings()
TS_RESOURCE = "https://api.example.com/ts/mcp"

urlpatterns = [
    path("api/me", me),
    path("api/write", write),
    path("api/async-me", async_me),
    path("api/explicit", explicit),
    path("api/plain", plain_post),
    path("async-mcp", mcp_async_view),
    path("ts/prm", protected_resource_handler(ISSUER, resource_url=RESOURCE)),
    path("ts/options", metadata_cors_options_handler()),
    path(
        "ts/mcp",
        streamable_http_handler(
            _hand.server,
            verifier=JWTVerifier(issuer=ISSUER, audience=TS_RESOURCE, keys=public_jwks()),
            resource_url=TS_RESOURCE,
            authorization_servers=[ISSUER],
            scopes=["mcp:read"],
            tool_scopes=_hand.tool_scopes,
        ),
    ),
    path("", include("mcp_tools_django.urls")),
]
