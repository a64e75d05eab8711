"""Outbound HTTP, written once and driven either synchronously or asynchronously.

Logic that must call the network (JWKS fetches, token introspection, Clerk's API, OAuth
discovery) is written as a *generator* that yields :class:`OutboundRequest` objects and
receives :class:`OutboundResponse` objects back. :func:`run_sync` drives such a generator
with ``requests`` (for Django and Flask views) and :func:`run_async` with the SDK's
``httpx2`` (for FastAPI), so each piece of logic exists once.

Example::

    def fetch_json(url: str) -> Flow[dict]:
        response = yield OutboundRequest("GET", url)
        return response.json()

    data = run_sync(fetch_json("https://..."))
    data = await run_async(fetch_json("https://..."))
"""

from __future__ import annotations

import json
from collections.abc import Generator, Mapping
from dataclasses import dataclass, field
from typing import Any, TypeVar

__all__ = [
    "DEFAULT_TIMEOUT",
    "Flow",
    "OutboundError",
    "OutboundRequest",
    "OutboundResponse",
    "run_async",
    "run_sync",
]

T = TypeVar("T")

DEFAULT_TIMEOUT = 10.0


class OutboundError(Exception):
    """A network call failed (connection refused, DNS, timeout). The message names the URL."""


@dataclass(frozen=True)
class OutboundRequest:
    method: str
    url: str
    headers: Mapping[str, str] = field(default_factory=dict)
    data: Mapping[str, str] | None = None  # form-encoded body
    json_body: Any = None
    timeout: float = DEFAULT_TIMEOUT
    follow_redirects: bool = False


@dataclass(frozen=True)
class OutboundResponse:
    status: int
    headers: Mapping[str, str]
    content: bytes

    def json(self) -> Any:
        """Decode the body as JSON; raises ``ValueError`` on anything else."""
        return json.loads(self.content)


Flow = Generator[OutboundRequest, OutboundResponse, T]


def _kwargs(request: OutboundRequest) -> dict[str, Any]:
    """The keyword arguments ``requests`` and ``httpx2`` share for ``request``."""
    return {
        "headers": dict(request.headers),
        "data": request.data,
        "json": request.json_body,
        "timeout": request.timeout,
    }


def _response(r: Any) -> OutboundResponse:
    return OutboundResponse(r.status_code, {k.lower(): v for k, v in r.headers.items()}, r.content)


def _failed(flow: Flow[T], request: OutboundRequest, exc: Exception) -> OutboundRequest:
    """Throw the failure of ``request`` into ``flow``; the next request it makes."""
    return flow.throw(OutboundError(f"{request.method} {request.url} failed: {exc}"))


def run_sync(flow: Flow[T], session: Any = None) -> T:
    """Drive ``flow`` with ``requests`` (blocking). ``session`` may be a ``requests.Session``."""
    import requests

    http = session or requests
    try:
        request = next(flow)
        while True:
            try:
                r = http.request(
                    request.method, request.url, allow_redirects=request.follow_redirects, **_kwargs(request)
                )
            except requests.RequestException as exc:
                request = _failed(flow, request, exc)
            else:
                request = flow.send(_response(r))
    except StopIteration as stop:
        return stop.value  # type: ignore[no-any-return]


async def run_async(flow: Flow[T], client: Any = None) -> T:
    """Drive ``flow`` with ``httpx2.AsyncClient`` (non-blocking)."""
    import httpx2

    owned = client is None
    http = client or httpx2.AsyncClient()
    try:
        request = next(flow)
        while True:
            try:
                r = await http.request(
                    request.method, request.url, follow_redirects=request.follow_redirects, **_kwargs(request)
                )
            except httpx2.HTTPError as exc:
                request = _failed(flow, request, exc)
            else:
                request = flow.send(_response(r))
    except StopIteration as stop:
        return stop.value  # type: ignore[no-any-return]
    finally:
        if owned:
            await http.aclose()
