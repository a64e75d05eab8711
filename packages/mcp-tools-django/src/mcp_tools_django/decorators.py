"""Bearer-token protection for ordinary Django views, sync or async (``@mcp_auth_required``).

Failures answer 401/403 with the RFC 6750/9728 challenge, as the MCP endpoint does; the verified
:class:`~mcp.server.auth.provider.AccessToken` is ``request.mcp_token``. The views are not made
CSRF-exempt: add ``@csrf_exempt`` yourself to unsafe-method views called by non-browser clients.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from typing import Any, TypeVar, cast

from asgiref.sync import iscoroutinefunction
from django.http import HttpRequest

from mcp_tools.http import Request
from mcp_tools.server import handlers
from mcp_tools.server.bearer import BearerGuard, mcp_auth_clerk_guard, mcp_auth_guard
from mcp_tools_django.runtime import get_resource_server
from mcp_tools_django.views import to_core_request, to_django_response

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
    """Protect a view with the ``MCP_TOOLS`` verifier, bare or with ``scopes`` (default:
    ``SCOPES``). Settings are read per request, so ``override_settings`` applies."""

    def guard_for() -> BearerGuard:
        base = get_resource_server().guard
        if scopes is None:
            return base
        url, metadata_url = base.resource_url, base.resource_metadata_url
        return mcp_auth_guard(
            base.verifier, resource_url=url, scopes=scopes, resource_metadata_url=metadata_url
        )

    decorate = functools.partial(_protect, guard_for=guard_for)
    return decorate(view) if view is not None else decorate


class _Guarded:
    """A view decorator: each view it wraps needs a token accepted by ``guard``."""

    def __init__(self, guard: BearerGuard) -> None:
        self.guard = guard

    def __call__(self, view: V, /) -> V:
        return _protect(view, lambda: self.guard)


#: The TS ``mcpAuth``: ``@mcp_auth(verifier, resource_url=..., scopes=[...])`` (no ``MCP_TOOLS``
#: needed); ``mcp_auth_clerk(resource_url=...)`` verifies with Clerk. Both set ``request.mcp_token``.
mcp_auth = handlers.adapt(mcp_auth_guard, _Guarded)
mcp_auth_clerk = handlers.adapt(mcp_auth_clerk_guard, _Guarded)
