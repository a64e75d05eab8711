"""Configuration of the development authorization server, validated once at start."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from .resource import InvalidTargetError, check_resource_uri

__all__ = ["DEFAULT_SCOPES", "DEFAULT_USER", "OFFLINE_ACCESS", "Settings"]

#: Scopes offered when none are configured.
DEFAULT_SCOPES: tuple[str, ...] = ("mcp",)
#: The ``sub`` of tokens issued in auto-approve mode unless ``login_hint`` names another.
DEFAULT_USER = "dev-user"
#: Always accepted (MCP clients MAY ask for it); refresh tokens do not depend on it.
OFFLINE_ACCESS = "offline_access"

_SCOPE_TOKEN = re.compile(r"^[\x21\x23-\x5B\x5D-\x7E]+$")  # RFC 6749 §3.3 scope-token


@dataclass(frozen=True)
class Settings:
    """Validated settings; see :class:`~mcp_tools.devserver.DevAuthorizationServer`."""

    scopes: tuple[str, ...]
    auto_approve: bool
    default_user: str
    access_token_ttl: int
    refresh_token_ttl: int
    code_ttl: int
    resources: frozenset[str] | None
    default_resource: str | None

    @classmethod
    def build(
        cls,
        *,
        scopes: Sequence[str],
        auto_approve: bool,
        default_user: str,
        access_token_ttl: int,
        refresh_token_ttl: int,
        code_ttl: int,
        resources: Sequence[str] | None,
        default_resource: str | None,
    ) -> Settings:
        if isinstance(scopes, str):
            scopes = scopes.split()
        names: list[str] = []
        for scope in [*scopes, OFFLINE_ACCESS]:
            if not isinstance(scope, str) or not _SCOPE_TOKEN.match(scope):
                raise ValueError(f"invalid scope name {scope!r}")
            if scope not in names:
                names.append(scope)
        for name, value in (
            ("access_token_ttl", access_token_ttl),
            ("refresh_token_ttl", refresh_token_ttl),
            ("code_ttl", code_ttl),
        ):
            if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
                raise ValueError(f"{name} must be a positive number of seconds")
        if not default_user or not isinstance(default_user, str):
            raise ValueError("default_user must be a non-empty string")
        allowed: frozenset[str] | None = None
        try:
            if resources is not None:
                if isinstance(resources, str):
                    resources = [resources]
                allowed = frozenset(check_resource_uri(r) for r in resources)
            if default_resource is not None:
                check_resource_uri(default_resource, allowed)
        except InvalidTargetError as exc:
            raise ValueError(f"invalid resource setting: {exc.description}") from None
        return cls(
            scopes=tuple(names),
            auto_approve=bool(auto_approve),
            default_user=default_user,
            access_token_ttl=access_token_ttl,
            refresh_token_ttl=refresh_token_ttl,
            code_ttl=code_ttl,
            resources=allowed,
            default_resource=default_resource,
        )
