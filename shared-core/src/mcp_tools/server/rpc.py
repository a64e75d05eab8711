"""One look at a request's JSON-RPC body before the SDK parses it.

The scope check (which tools does it call?) and the WSGI inline decision (which method, which
tool?) both need it; :func:`peek_rpc` parses the body once per request and keeps the result
on the request.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from mcp_tools.http import Request

__all__ = ["RpcPeek", "peek_rpc"]

_CACHE_KEY = "_mcp_tools_rpc_peek"


@dataclass(frozen=True, slots=True)
class RpcPeek:
    """What the body of an MCP request asks for, as far as the checks before the SDK care.

    ``method`` and ``tool`` (of a ``tools/call``) describe a single JSON-RPC message (``None``
    for a batch or anything unparseable); ``tools`` names every tool the body calls, batches
    included. The protocol era is read from the ``MCP-Protocol-Version`` header, which is what
    the SDK goes by, so a legacy-era request is told apart without parsing its body.
    ``request_id`` is the ``id`` of a single JSON-RPC request (``None`` for a notification):
    the endpoint refuses one already in flight in the same session.
    """

    method: str | None = None
    tool: str | None = None
    tools: tuple[str, ...] = ()
    request_id: str | int | None = field(default=None, compare=False)


_NOTHING = RpcPeek()


def _called_tools(message: Any) -> Iterator[str]:
    if isinstance(message, list):
        for item in message:
            yield from _called_tools(item)
    elif isinstance(message, dict) and message.get("method") == "tools/call":
        params = message.get("params")
        if isinstance(params, dict) and isinstance(params.get("name"), str):
            yield params["name"]


def _peek(body: bytes) -> RpcPeek:
    if not body:
        return _NOTHING
    try:
        message = json.loads(body)
    except (ValueError, UnicodeDecodeError, RecursionError):
        return _NOTHING
    tools = tuple(_called_tools(message))
    if not isinstance(message, dict):
        return RpcPeek(tools=tools) if tools else _NOTHING
    method = message.get("method")
    if not isinstance(method, str):
        return _NOTHING
    ident = message.get("id")
    if isinstance(ident, float) and ident.is_integer():
        ident = int(ident)  # as the SDK's model reads it
    request_id = ident if isinstance(ident, str | int) and not isinstance(ident, bool) else None
    return RpcPeek(method=method, tool=tools[0] if tools else None, tools=tools, request_id=request_id)


def peek_rpc(request: Request) -> RpcPeek:
    """The :class:`RpcPeek` of ``request``'s body, parsed on the first call and then kept.

    Unparseable bodies peek as nothing; the SDK answers them with a JSON-RPC error after
    authentication.
    """
    # Request is a frozen dataclass: its __dict__ takes the cached value the way
    # functools.cached_property would (fields, equality and repr are unaffected).
    cache = request.__dict__
    peek: RpcPeek | None = cache.get(_CACHE_KEY)
    if peek is None:
        peek = cache[_CACHE_KEY] = _peek(request.body)
    return peek
