"""Per-tool scopes: a tool may demand OAuth scopes beyond the endpoint's own.

The check happens at the HTTP layer, before the request reaches the SDK, so a caller
without the scopes gets ``403`` with ``error="insufficient_scope"`` and every scope the
call needs in one ``WWW-Authenticate`` challenge: what MCP clients need for step-up
authorization. A second, in-process check guards the tool itself, so a tool marked with
:meth:`ToolScopes.require` refuses to run without the scopes even where the HTTP layer
was bypassed (an in-memory client, a misconfigured route).

Example::

    scopes = ToolScopes()

    @mcp.tool()
    @scopes.require("notes:write")
    def write_note(text: str) -> str: ...

    router = create_mcp_router(mcp, ..., tool_scopes=scopes)
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from typing import Any, TypeVar, cast

from mcp.server.auth.middleware.auth_context import get_access_token

from mcp_tools.http import Request
from mcp_tools.server.rpc import peek_rpc

__all__ = ["InsufficientScopeError", "ToolScopes", "scopes_for_request"]

F = TypeVar("F", bound=Callable[..., Any])


class InsufficientScopeError(PermissionError):
    """Raised inside a tool whose caller's token lacks a required scope."""

    def __init__(self, tool: str, missing: Sequence[str]) -> None:
        self.tool = tool
        self.missing = list(missing)
        super().__init__(f"tool {tool!r} requires scope(s): {' '.join(self.missing)}")


class ToolScopes(Mapping[str, tuple[str, ...]]):
    """A registry of the scopes each tool requires, keyed by tool name."""

    def __init__(self, initial: Mapping[str, Iterable[str]] | None = None) -> None:
        self._scopes: dict[str, tuple[str, ...]] = {}
        for name, scopes in (initial or {}).items():
            self.add(name, *scopes)

    def add(self, tool_name: str, *scopes: str) -> None:
        """Record that ``tool_name`` requires ``scopes`` (added to any already recorded)."""
        for scope in scopes:
            if not scope or any(c.isspace() for c in scope):
                raise ValueError(f"invalid scope {scope!r}: scopes are non-empty and contain no spaces")
        merged = dict.fromkeys((*self._scopes.get(tool_name, ()), *scopes))
        self._scopes[tool_name] = tuple(merged)

    def require(self, *scopes: str, name: str | None = None) -> Callable[[F], F]:
        """Decorator: the tool (named ``name`` or after the function) requires ``scopes``.

        Place it *below* ``@mcp.tool()`` so the SDK registers the checked function.
        """

        def decorate(fn: F) -> F:
            tool_name = name or fn.__name__
            self.add(tool_name, *scopes)
            needed = self._scopes[tool_name]

            def check() -> None:
                token = get_access_token()
                have = set(token.scopes) if token else set()
                missing = [s for s in needed if s not in have]
                if missing:
                    raise InsufficientScopeError(tool_name, missing)

            if inspect.iscoroutinefunction(fn):

                @functools.wraps(fn)
                async def async_wrapper(*args: Any, **kwargs: Any) -> Any:
                    check()
                    return await fn(*args, **kwargs)

                return cast(F, async_wrapper)

            @functools.wraps(fn)
            def wrapper(*args: Any, **kwargs: Any) -> Any:
                check()
                return fn(*args, **kwargs)

            return cast(F, wrapper)

        return decorate

    def __getitem__(self, tool_name: str) -> tuple[str, ...]:
        return self._scopes[tool_name]

    def __iter__(self) -> Iterator[str]:
        return iter(self._scopes)

    def __len__(self) -> int:
        return len(self._scopes)


def scopes_for_request(request: Request, tool_scopes: Mapping[str, Iterable[str]]) -> list[str]:
    """The extra scopes ``request`` needs for the tools it calls, in a stable order.

    The tools come from the body (:func:`~mcp_tools.server.rpc.peek_rpc`, parsed once per
    request); unparseable bodies need nothing extra here, the SDK answers them with a JSON-RPC
    error after authentication. The 2026-07-28 ``Mcp-Method``/``Mcp-Name`` headers are
    honoured too, so a header naming a protected tool cannot dodge the check.
    """
    if not tool_scopes:
        return []
    names = list(peek_rpc(request).tools)
    headers = request.headers
    if headers.get("mcp-method") == "tools/call":
        header_name = headers.get("mcp-name")
        if header_name:
            names.append(header_name)
    needed: dict[str, None] = {}
    for tool in names:
        for scope in tool_scopes.get(tool, ()):
            needed[scope] = None
    return list(needed)
