"""The session record: typed in Python, stored with the TypeScript package's camelCase layout.

A connection lives in the store under ``session_<id>`` (the TypeScript key scheme, next to
``state_<state>`` and ``pkce_verifier_<state>``). Its JSON keys are those of the TypeScript
``ClientData`` (``mcpEndpoint``, ``oauthRedirectUrl``, ``clientId``, ``accessToken``,
``authComplete``...) plus the fields this package adds (``pendingAuth``, ``expiresAt``,
``tokenResponse``...), so a Python and a Node app can share one store.

:class:`SessionRecord` is that record with snake_case attributes: each attribute's JSON key is
its name in camelCase (``oauth_redirect_url`` <-> ``oauthRedirectUrl``). :meth:`~SessionRecord.to_json`
leaves out attributes that are ``None`` (as ``JSON.stringify`` drops ``undefined``), and keys
this version does not know (written by the TypeScript package or a newer version) are kept in
:attr:`~SessionRecord.extra` and written back unchanged. A value of the wrong JSON type for its
attribute is kept in ``extra`` too, so reading a record never loses data.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, fields
from typing import Any, ClassVar, Self

from mcp_tools.stores.base import JsonInput, JsonValue

from ._steps import Flow, StoreRead, StoreUpdate

__all__ = [
    "ClientConfig",
    "PendingAuth",
    "SessionRecord",
    "binding_hash",
    "read_session",
    "session_key",
    "update_session",
]


def session_key(session_id: str) -> str:
    """The store key of a session record (TS scheme)."""
    return f"session_{session_id}"


def binding_hash(binding: str) -> str:
    """What the store keeps of a browser binding value (never the value itself)."""
    return hashlib.sha256(binding.encode("utf-8")).hexdigest()


def _camel(name: str) -> str:
    first, *rest = name.split("_")
    return first + "".join(part.title() for part in rest)


def _is_str(value: object) -> bool:
    return isinstance(value, str)


def _is_bool(value: object) -> bool:
    return isinstance(value, bool)


def _is_number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_object(value: object) -> bool:
    return isinstance(value, dict)


# Field metadata: the JSON type an attribute accepts when read (other types go to ``extra``).
_STR = {"check": _is_str}
_BOOL = {"check": _is_bool}
_INT = {"check": _is_int}
_NUMBER = {"check": _is_number}
_OBJECT = {"check": _is_object}


class _JsonObject:
    """``to_json``/``from_json`` for a dataclass whose fields map to camelCase JSON keys."""

    #: Whether ``None`` attributes are written as JSON ``null`` (else left out).
    _WRITE_NULLS: ClassVar[bool] = False
    extra: dict[str, JsonValue]

    def to_json(self) -> dict[str, JsonValue]:
        """The JSON object to store (unknown keys first, then the known ones)."""
        data = dict(self.extra)
        for spec in fields(self):  # type: ignore[arg-type]
            if spec.name == "extra":
                continue
            value = getattr(self, spec.name)
            if value is not None or self._WRITE_NULLS:
                data[_camel(spec.name)] = self._encode(spec.name, value)
        return data

    def _encode(self, name: str, value: Any) -> JsonValue:
        return value  # type: ignore[no-any-return]

    @classmethod
    def _decode(cls, name: str, value: JsonValue) -> Any:
        return value

    @classmethod
    def from_json(cls, data: Mapping[str, JsonValue]) -> Self:
        """Read a stored object; keys of unknown name or type go to ``extra``."""
        specs = {_camel(spec.name): spec for spec in fields(cls) if spec.name != "extra"}  # type: ignore[arg-type]
        known: dict[str, Any] = {}
        extra: dict[str, JsonValue] = {}
        for key, value in data.items():
            spec = specs.get(key)
            if spec is None:
                extra[key] = value
            elif value is None:
                continue  # null reads as absent: the attribute keeps its default
            elif spec.metadata["check"](value):
                known[spec.name] = cls._decode(spec.name, value)
            else:
                extra[key] = value  # of an unexpected type: kept as it is, never interpreted
        return cls(**known, extra=extra)  # type: ignore[call-arg]


@dataclass(kw_only=True)
class PendingAuth(_JsonObject):
    """One authorization waiting for its callback (``pendingAuth[<state>]`` in the record).

    Written by leg 1 with every key (``null`` included), consumed by leg 2.
    """

    _WRITE_NULLS: ClassVar[bool] = True

    issuer: str | None = field(default=None, metadata=_STR)
    #: The authorization server metadata the user was sent to (RFC 8414 names).
    authorization_server: dict[str, JsonValue] = field(default_factory=dict, metadata=_OBJECT)
    client_id: str | None = field(default=None, metadata=_STR)
    client_secret: str | None = field(default=None, metadata=_STR)
    token_endpoint_auth_method: str | None = field(default=None, metadata=_STR)
    resource: str | None = field(default=None, metadata=_STR)
    resource_metadata_url: str | None = field(default=None, metadata=_STR)
    scope: str | None = field(default=None, metadata=_STR)
    binding_hash: str | None = field(default=None, metadata=_STR)
    expires_at: float = field(default=0.0, metadata=_NUMBER)
    step_up_attempts: int = field(default=0, metadata=_INT)
    extra: dict[str, JsonValue] = field(default_factory=dict)


@dataclass(kw_only=True)
class SessionRecord(_JsonObject):
    """The ``session_<id>`` record of one connection (TS ``ClientData`` and this package's fields)."""

    # -- the application's identity (TS ClientData) --
    mcp_endpoint: str | None = field(default=None, metadata=_STR)
    oauth_redirect_url: str | None = field(default=None, metadata=_STR)
    mcp_client_name: str | None = field(default=None, metadata=_STR)
    mcp_client_version: str | None = field(default=None, metadata=_STR)
    oauth_scopes: str | None = field(default=None, metadata=_STR)
    oauth_client_name: str | None = field(default=None, metadata=_STR)
    oauth_client_uri: str | None = field(default=None, metadata=_STR)
    oauth_public_client: bool | None = field(default=None, metadata=_BOOL)
    client_id: str | None = field(default=None, metadata=_STR)
    client_secret: str | None = field(default=None, metadata=_STR)
    client_metadata_url: str | None = field(default=None, metadata=_STR)
    known_credentials: bool | None = field(default=None, metadata=_BOOL)
    # -- authorizations in flight, by state --
    pending_auth: dict[str, PendingAuth] | None = field(default=None, metadata=_OBJECT)
    # -- the grant (copied from the completed authorization) --
    issuer: str | None = field(default=None, metadata=_STR)
    authorization_server: dict[str, JsonValue] | None = field(default=None, metadata=_OBJECT)
    token_endpoint_auth_method: str | None = field(default=None, metadata=_STR)
    resource: str | None = field(default=None, metadata=_STR)
    resource_metadata_url: str | None = field(default=None, metadata=_STR)
    step_up_attempts: int | None = field(default=None, metadata=_INT)
    requested_scope: str | None = field(default=None, metadata=_STR)
    auth_complete: bool | None = field(default=None, metadata=_BOOL)
    no_auth: bool | None = field(default=None, metadata=_BOOL)
    # -- tokens (TS accessToken/refreshToken, plus what the token endpoint said) --
    access_token: str | None = field(default=None, metadata=_STR)
    refresh_token: str | None = field(default=None, metadata=_STR)
    token_type: str | None = field(default=None, metadata=_STR)
    expires_at: float | None = field(default=None, metadata=_NUMBER)
    scope: str | None = field(default=None, metadata=_STR)
    token_response: dict[str, JsonValue] | None = field(default=None, metadata=_OBJECT)
    extra: dict[str, JsonValue] = field(default_factory=dict)

    @classmethod
    def parse(cls, value: JsonValue) -> SessionRecord | None:
        """The record in a stored value, or ``None`` when it is not a JSON object."""
        return cls.from_json(value) if isinstance(value, dict) else None

    def _encode(self, name: str, value: Any) -> JsonValue:
        if name == "pending_auth":
            return {state: pending.to_json() for state, pending in value.items()}
        return super()._encode(name, value)

    @classmethod
    def _decode(cls, name: str, value: JsonValue) -> Any:
        if name == "pending_auth" and isinstance(value, dict):
            return {
                state: PendingAuth.from_json(pending)
                for state, pending in value.items()
                if isinstance(pending, dict)
            }
        return value

    def set_from(self, other: SessionRecord) -> None:
        """Copy the attributes that are set (not ``None``) in ``other``."""
        for spec in fields(other):
            value = getattr(other, spec.name)
            if value is not None and spec.name != "extra":
                setattr(self, spec.name, value)

    def waiting(self, now: float) -> dict[str, PendingAuth]:
        """The authorizations in flight that have not expired at ``now``."""
        return {state: p for state, p in (self.pending_auth or {}).items() if p.expires_at > now}

    def forget_tokens(self) -> None:
        """Drop the grant (the refresh token was refused): the user must authorize again."""
        self.access_token = self.refresh_token = None
        self.expires_at = None
        self.token_response = None
        self.auth_complete = False

    def apply_tokens(self, tokens: Mapping[str, JsonValue]) -> None:
        """Copy a token response (with ``issued_at``/``expires_at``) into the record.

        A refresh response without a ``refresh_token`` keeps the current one (no rotation).
        """
        refresh = tokens.get("refresh_token") or self.refresh_token
        self.token_response = {**tokens, "refresh_token": refresh} if refresh else dict(tokens)
        access = tokens["access_token"]
        expires = tokens.get("expires_at")
        scope = tokens.get("scope")
        self.access_token = str(access)
        self.token_type = "Bearer"
        self.expires_at = float(expires) if isinstance(expires, int | float) else None
        self.scope = scope if isinstance(scope, str) else None
        self.refresh_token = str(refresh) if refresh else None


@dataclass(frozen=True)
class ClientConfig:
    """How the application identifies itself; persisted in the session record (TS field names)."""

    mcp_endpoint: str
    oauth_redirect_url: str
    mcp_client_name: str
    mcp_client_version: str
    oauth_scopes: str | None = None
    oauth_client_name: str | None = None
    oauth_client_uri: str | None = None
    oauth_public_client: bool | None = None
    client_id: str | None = None
    client_secret: str | None = None
    client_metadata_url: str | None = None

    def record(self) -> SessionRecord:
        """The initial ``session_`` record, with the TypeScript ``ClientData`` keys.

        Every attribute has its namesake in :class:`SessionRecord`.
        """
        values: dict[str, Any] = {spec.name: getattr(self, spec.name) for spec in fields(self)}
        return SessionRecord(**values, known_credentials=True if self.client_id is not None else None)

    @classmethod
    def from_record(cls, record: SessionRecord) -> ClientConfig:
        """Rebuild the configuration from a stored session record."""
        if record.mcp_endpoint is None or record.oauth_redirect_url is None:
            raise ValueError("the session record has no mcpEndpoint or oauthRedirectUrl")
        values: dict[str, Any] = {spec.name: getattr(record, spec.name) for spec in fields(cls)}
        if not record.known_credentials:  # registered during the flow: not part of the configuration
            values["client_id"] = values["client_secret"] = None
        values["mcp_client_name"] = record.mcp_client_name or "mcp-tools"
        values["mcp_client_version"] = record.mcp_client_version or "0"
        return cls(**values)


# -- typed store steps for the record ------------------------------------------------------------


def read_session(session_id: str) -> Flow[SessionRecord | None]:
    """The session's record, or ``None`` when there is none (or it is not a JSON object)."""
    return SessionRecord.parse((yield from StoreRead(session_key(session_id))))


def update_session(
    session_id: str, change: Callable[[SessionRecord | None], SessionRecord]
) -> Flow[SessionRecord]:
    """Atomically replace the record with ``change(current)``; returns the record as stored.

    ``change`` gets a fresh :class:`SessionRecord` each time (it may run more than once) and may
    modify and return it.
    """

    def updater(current: JsonValue) -> JsonInput:
        return change(SessionRecord.parse(current)).to_json()

    stored = SessionRecord.parse((yield from StoreUpdate(session_key(session_id), updater)))
    if stored is None:  # the store returns what updater produced: always an object
        raise TypeError("the store returned a non-object for a session record")
    return stored
