"""Bearer-token protection for ordinary Django views, sync or async.

::

    @mcp_auth_required(scopes=["notes:read"])
    def notes(request):
        return JsonResponse({"sub": request.mcp_token.subject})

The token is verified with the ``MCP_TOOLS`` verifier and bound to ``RESOURCE_URL``; failures
answer 401 (with the RFC 6750/9728 ``WWW-Authenticate`` challenge) or 403
(``insufficient_scope``), as the MCP endpoint does. The verified
:class:`~mcp.server.auth.provider.AccessToken` is ``request.mcp_token``.

These decorators do not exempt the view from CSRF protection: bearer tokens are not ambient
credentials, so add ``@csrf_exempt`` yourself to unsafe-method views called by non-browser
clients.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from typing import Any, TypeVar, cast

from asgiref.sync import iscoroutinefunction
from django.http import HttpRequest

from mcp_tools.http import Request
from mcp_tools.server.bearer import BearerGuard, mcp_auth_clerk_guard, mcp_auth_guard
from mcp_tools.server.verifiers.base import McpTokenVerifier
from mcp_tools_django.runtime import get_resource_server
from mcp_tools_django.views import to_core_request, to_django_response

__all__ = ["mcp_auth", "mcp_auth_clerk", "mcp_auth_required"]

V = TypeVar("V", bound=Callable[..., Any])


def _core_request(request: HttpRequest) -> Request:
    # The body matters only for the "token in a form body" refusal (RFC 6750 §2.2 is not offered).
    form = (request.content_type or "") == "application/x-www-form-urlencoded"
    return to_core_request(request, body=request.body if form else b"")


def _protect(view: V, guard_for: Callable[[], BearerGuard]) -> V:
    if iscoroutinefunction(view):

        @functools.wraps(view)
        async def async_wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> Any:
            result = await guard_for().authenticate(_core_request(request))
            if result.response is not None:
                return to_django_response(result.response)
            request.mcp_token = result.token  # type: ignore[attr-defined]
            return await view(request, *args, **kwargs)

        return cast(V, async_wrapper)

    @functools.wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> Any:
        result = guard_for().authenticate_sync(_core_request(request))
        if result.response is not None:
            return to_django_response(result.response)
        request.mcp_token = result.token  # type: ignore[attr-defined]
        return view(request, *args, **kwargs)

    return cast(V, wrapper)


def mcp_auth_required(view: V | None = None, *, scopes: Sequence[str] | None = None) -> Any:
    """Protect a view with the ``MCP_TOOLS`` verifier; ``scopes`` default to ``SCOPES``.

    Usable bare (``@mcp_auth_required``) or with arguments. Settings are read per request,
    so ``override_settings`` applies.
    """

    def guard_for() -> BearerGuard:
        base = get_resource_server().guard
        if scopes is None:
            return base
        url, metadata_url = base.resource_url, base.resource_metadata_url
        return mcp_auth_guard(
            base.verifier, resource_url=url, scopes=scopes, resource_metadata_url=metadata_url
        )

    def decorate(inner: V) -> V:
        return _protect(inner, guard_for)

    return decorate(view) if view is not None else decorate


def mcp_auth(
    verifier: McpTokenVerifier,
    *,
    resource_url: str,
    scopes: Sequence[str] = (),
    resource_metadata_url: str | None = None,
) -> Callable[[V], V]:
    """The TS ``mcpAuth``: a decorator protecting a view with an explicit ``verifier``
    (no ``MCP_TOOLS`` needed). Sets ``request.mcp_token``."""
    guard = mcp_auth_guard(
        verifier, resource_url=resource_url, scopes=scopes, resource_metadata_url=resource_metadata_url
    )
    return lambda view: _protect(view, lambda: guard)


def mcp_auth_clerk(
    *,
    resource_url: str,
    scopes: Sequence[str] = (),
    secret_key: str | None = None,
    publishable_key: str | None = None,
) -> Callable[[V], V]:
    """The TS ``mcpAuthClerk``: :func:`mcp_auth` with a Clerk verifier
    (``CLERK_SECRET_KEY`` / ``CLERK_PUBLISHABLE_KEY`` from the environment by default)."""
    guard = mcp_auth_clerk_guard(
        resource_url=resource_url, scopes=scopes, secret_key=secret_key, publishable_key=publishable_key
    )
    return lambda view: _protect(view, lambda: guard)
