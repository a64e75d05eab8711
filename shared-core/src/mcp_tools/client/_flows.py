"""The two-leg OAuth flow as sans-I/O generators (driven by :mod:`mcp_tools.client._io`).

Leg 1, :func:`authorize_flow`: discovery and the client identity (:mod:`._discovery`), then the
scope, PKCE and ``state``, and the writes the callback needs. Nothing is written before discovery
has succeeded.

Leg 2, :func:`complete_flow`: consume ``state`` and the PKCE verifier (single use), check the
browser binding and RFC 9207 ``iss``, redeem the code with ``resource``, store the token response;
it returns the record it wrote.

:func:`refresh_flow` refreshes under the per-session lock, once for all concurrent callers.

Every store access is a typed step (:mod:`._steps`) and the session record a
:class:`~mcp_tools.client.record.SessionRecord`.
"""

from __future__ import annotations

import base64
import hmac
import secrets
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from mcp.client.auth import PKCEParameters
from mcp.client.auth.utils import union_scopes
from mcp.shared.auth_utils import resource_url_from_server_url

from mcp_tools._outbound import OutboundRequest, OutboundResponse
from mcp_tools.stores.base import JsonValue

from ._discovery import (
    client_identity,
    discover_authorization_server,
    discover_resource_metadata,
    json_object,
    oauth_error,
    parse_www_authenticate,
    probe,
    with_query,
)
from ._steps import AcquireLock, Fetch, Flow, ReleaseLock, StoreTake, StoreWrite
from .errors import (
    AuthorizationFailed,
    AuthorizationRequired,
    BrowserMismatch,
    ConsentDenied,
    InvalidMetadata,
    InvalidState,
    IssuerMismatch,
    ServerMisconfigured,
    SessionNotFound,
    TokenRequestFailed,
)
from .record import (
    ClientConfig,
    PendingAuth,
    SessionRecord,
    binding_hash,
    read_session,
    session_key,
    update_session,
)

__all__ = [
    "AuthorizationStart",
    "ClientConfig",
    "Completed",
    "authorize_flow",
    "binding_hash",
    "complete_flow",
    "needs_refresh",
    "parse_www_authenticate",
    "refresh_flow",
    "session_key",
]

MAX_STEP_UP_ATTEMPTS = 2


@dataclass(frozen=True)
class AuthorizationStart:
    """Result of leg 1: where to send the user (``None`` when the server needs no authorization).

    ``record`` is the session record as leg 1 stored it.
    """

    session_id: str
    authorization_url: str | None
    state: str | None
    record: SessionRecord


@dataclass(frozen=True)
class Completed:
    """Result of leg 2: the session and the record as stored with its tokens."""

    session_id: str
    record: SessionRecord


def _not_found(session_id: str) -> SessionNotFound:
    return SessionNotFound(f"session {session_id!r} not found in the store", session_id=session_id)


# -- leg 1 ---------------------------------------------------------------------------------------


def _choose_scope(
    challenge: str | None,
    resource_metadata: Mapping[str, Any] | None,
    metadata: Mapping[str, Any],
    config: ClientConfig,
) -> str | None:
    scope: str | None = challenge
    if scope is None and resource_metadata and resource_metadata.get("scopes_supported"):
        scope = " ".join(resource_metadata["scopes_supported"])
    if scope is None:
        scope = config.oauth_scopes
    supported = metadata.get("scopes_supported")
    if (
        scope
        and isinstance(supported, list)
        and "offline_access" in supported
        and "offline_access" not in scope.split()
    ):
        scope += " offline_access"  # SEP-2207: ask for a refresh token where the server has the scope
    return scope


def _step_up(
    previous: SessionRecord, scope: str | None, step_up_scope: str | None, session_id: str
) -> tuple[str | None, int]:
    """The scope to request and the step-up attempt count (SEP-835/2350)."""
    before = previous.requested_scope
    if step_up_scope is None:
        return (union_scopes(before, scope) if before else scope), 0
    # Ask for the union of what was requested before and what is now required.
    scope = union_scopes(before, step_up_scope)
    grew = set((scope or "").split()) - set((before or "").split())
    # A challenge that adds nothing new counts as a retry; three authorizations at most.
    attempts = 0 if grew else (previous.step_up_attempts or 0) + 1
    if attempts >= MAX_STEP_UP_ATTEMPTS:
        raise ServerMisconfigured(
            "the MCP server keeps refusing the scopes it was granted (insufficient_scope after "
            f"{attempts} re-authorizations for the same scopes); giving up instead of sending the "
            "user to consent again",
            session_id=session_id,
        )
    return scope, attempts


def authorize_flow(
    config: ClientConfig,
    session_id: str,
    *,
    binding: str,
    state_ttl: float,
    new_session: bool,
    step_up_scope: str | None = None,
) -> Flow[AuthorizationStart]:
    """Leg 1. Discovery and registration first; the store is written only once all succeeded."""
    status, challenge = yield from probe(config)
    previous = SessionRecord()
    if not new_session:
        stored = yield from read_session(session_id)
        if stored is None:
            raise _not_found(session_id)
        previous = stored
    resource_metadata = yield from discover_resource_metadata(
        config.mcp_endpoint, challenge.get("resource_metadata")
    )
    if 200 <= status < 300 and resource_metadata is None and step_up_scope is None:
        # The server answered without asking for a token and publishes no resource metadata:
        # it needs no authorization. (One that protects only some methods publishes metadata.)
        def no_auth(current: SessionRecord | None) -> SessionRecord:
            record = current or SessionRecord()
            record.set_from(config.record())
            record.auth_complete = record.no_auth = True
            return record

        written = yield from update_session(session_id, no_auth)
        return AuthorizationStart(session_id, None, None, written)
    issuer = str(resource_metadata["authorization_servers"][0]) if resource_metadata else None
    metadata = yield from discover_authorization_server(issuer, config.mcp_endpoint)
    identity = yield from client_identity(config, metadata)

    chosen = _choose_scope(challenge.get("scope"), resource_metadata, metadata, config)
    scope, attempts = _step_up(previous, chosen, step_up_scope, session_id)
    resource = (
        str(resource_metadata["resource"])
        if resource_metadata
        else resource_url_from_server_url(config.mcp_endpoint)
    )
    pkce = PKCEParameters.generate()
    state = secrets.token_urlsafe(32)
    params = {
        "response_type": "code",
        "client_id": identity.client_id,
        "redirect_uri": config.oauth_redirect_url,
        "state": state,
        "code_challenge": pkce.code_challenge,
        "code_challenge_method": "S256",
    }
    if scope:
        params["scope"] = scope
    params["resource"] = resource
    authorization_url = with_query(str(metadata["authorization_endpoint"]), params)

    now = time.time()
    pending = PendingAuth(
        issuer=str(metadata["issuer"]),
        authorization_server=dict(metadata),
        client_id=identity.client_id,
        client_secret=identity.client_secret,
        token_endpoint_auth_method=identity.method,
        resource=resource,
        resource_metadata_url=resource_metadata.get("_url") if resource_metadata else None,
        scope=scope,
        binding_hash=binding_hash(binding),
        expires_at=now + state_ttl,
        step_up_attempts=attempts,
    )

    def add_pending(current: SessionRecord | None) -> SessionRecord:
        record = current or config.record()
        record.pending_auth = {**record.waiting(now), state: pending}
        return record

    written = yield from update_session(session_id, add_pending)
    yield from StoreWrite(f"pkce_verifier_{state}", pkce.code_verifier, state_ttl)
    yield from StoreWrite(f"state_{state}", session_id, state_ttl)  # last: a state always has the rest
    return AuthorizationStart(session_id, authorization_url, state, written)


# -- token endpoint ------------------------------------------------------------------------------


def _token_request(
    endpoint: str, form: dict[str, str], client_id: str, secret: str | None, method: str | None
) -> Fetch:
    headers = {"Accept": "application/json", "Content-Type": "application/x-www-form-urlencoded"}
    if method == "client_secret_basic" and secret:
        pair = f"{quote(client_id, safe='')}:{quote(secret, safe='')}"
        headers["Authorization"] = "Basic " + base64.b64encode(pair.encode("utf-8")).decode("ascii")
    elif method == "client_secret_post" and secret:
        form = {**form, "client_id": client_id, "client_secret": secret}
    else:
        form = {**form, "client_id": client_id}
    return Fetch(OutboundRequest("POST", endpoint, headers=headers, data=form))


def _token_record(
    response: OutboundResponse, endpoint: str, grant: str, requested_scope: str | None, session_id: str
) -> dict[str, JsonValue]:
    if response.status != 200:
        detail = oauth_error(response)
        error = detail[2:].split(" ", 1)[0] if detail else None
        raise TokenRequestFailed(
            f"the token endpoint {endpoint} refused the {grant} grant (HTTP {response.status}{detail})",
            session_id=session_id,
            error=error,
        )
    data = json_object(response, endpoint, "token response")
    if not isinstance(data.get("access_token"), str) or not data["access_token"]:
        raise InvalidMetadata(f"the token response from {endpoint} has no access_token", url=endpoint)
    token_type = data.get("token_type")
    if not isinstance(token_type, str) or token_type.lower() != "bearer":
        raise ServerMisconfigured(
            f"the token endpoint {endpoint} issued a {token_type!r} token; only Bearer tokens are supported",
            url=endpoint,
        )
    now = time.time()
    record: dict[str, JsonValue] = dict(data)
    expires_in = data.get("expires_in")
    if isinstance(expires_in, str) and expires_in.isdigit():
        expires_in = int(expires_in)
    record["issued_at"] = now
    record["expires_at"] = (
        now + expires_in if isinstance(expires_in, int | float) and expires_in > 0 else None
    )
    if not isinstance(record.get("scope"), str):
        record["scope"] = requested_scope
    return record


# -- leg 2 ---------------------------------------------------------------------------------------


def _check_callback(
    pending: PendingAuth,
    session_id: str,
    *,
    binding: str | None,
    iss: str | None,
    error: str | None,
    error_description: str | None,
) -> None:
    """The checks of a callback, in order: browser binding, RFC 9207 ``iss``, the OAuth error."""
    expected = pending.binding_hash
    if expected and (binding is None or not hmac.compare_digest(binding_hash(binding), expected)):
        raise BrowserMismatch(
            "this authorization response arrived in a browser other than the one that started the "
            "connection (missing or different binding cookie); refused to prevent login CSRF. Start the "
            "connection again from this browser.",
            session_id=session_id,
        )
    issuer = str(pending.issuer)
    if iss is not None and iss != issuer:
        raise IssuerMismatch(
            f"the authorization response names issuer {iss!r} but the user was sent to {issuer!r} "
            "(RFC 9207 mix-up defence); refused.",
            session_id=session_id,
        )
    if (
        iss is None
        and pending.authorization_server.get("authorization_response_iss_parameter_supported") is True
    ):
        raise IssuerMismatch(
            f"the authorization response has no 'iss' although {issuer!r} promises one (RFC 9207); refused.",
            session_id=session_id,
        )
    if error is None:
        return
    if error == "access_denied":
        raise ConsentDenied(
            "the user did not grant access at the authorization server; nothing was stored. Offer to "
            "start the connection again.",
            session_id=session_id,
        )
    description = f" ({error_description[:200]})" if error_description else ""
    raise AuthorizationFailed(
        f"the authorization server answered with error {error[:64]!r}{description}",
        session_id=session_id,
        error=error,
    )


def _grant(
    record: SessionRecord, state: str, pending: PendingAuth, tokens: Mapping[str, JsonValue]
) -> SessionRecord:
    """The record once the authorization ``state`` completed with ``tokens``."""
    record.pending_auth = {k: v for k, v in (record.pending_auth or {}).items() if k != state}
    for name in ("issuer", "client_id", "token_endpoint_auth_method", "resource", "resource_metadata_url"):
        value = getattr(pending, name)
        if value is not None:
            setattr(record, name, value)
    record.authorization_server = pending.authorization_server
    record.step_up_attempts = pending.step_up_attempts
    if pending.client_secret is not None:
        record.client_secret = pending.client_secret
    elif not record.known_credentials:
        record.client_secret = None
    record.requested_scope = pending.scope
    record.auth_complete = True
    record.no_auth = None
    record.apply_tokens(tokens)
    return record


def complete_flow(
    state: str,
    code: str | None,
    *,
    binding: str | None,
    iss: str | None,
    error: str | None = None,
    error_description: str | None = None,
) -> Flow[Completed]:
    """Leg 2. Returns the session and the record it wrote; ``state`` and the verifier are consumed
    whatever happens."""
    session_id = yield from StoreTake(f"state_{state}")
    verifier = yield from StoreTake(f"pkce_verifier_{state}")
    if not isinstance(session_id, str):
        raise InvalidState(
            "this authorization response has an unknown, expired or already used state; nothing was done. "
            "Start the connection again."
        )
    record = yield from read_session(session_id)
    if record is None:
        raise _not_found(session_id)
    pending = (record.pending_auth or {}).get(state)
    if pending is None or pending.expires_at <= time.time() or not verifier:
        raise InvalidState(
            "this authorization response belongs to an expired or already completed attempt; start the "
            "connection again.",
            session_id=session_id,
        )
    _check_callback(
        pending, session_id, binding=binding, iss=iss, error=error, error_description=error_description
    )
    if not code:
        raise InvalidState("the authorization response has no code", session_id=session_id)
    endpoint = str(pending.authorization_server["token_endpoint"])
    form = {
        "grant_type": "authorization_code",
        "code": code,
        "redirect_uri": str(record.oauth_redirect_url),
        "code_verifier": str(verifier),
        "resource": str(pending.resource),
    }
    request = _token_request(
        endpoint, form, str(pending.client_id), pending.client_secret, pending.token_endpoint_auth_method
    )
    response = yield from request
    tokens = _token_record(response, endpoint, "authorization_code", pending.scope, session_id)
    written = yield from update_session(
        session_id, lambda current: _grant(current or record, state, pending, tokens)
    )
    return Completed(session_id, written)


# -- refresh -------------------------------------------------------------------------------------


def needs_refresh(record: SessionRecord, skew: float, now: float | None = None) -> bool:
    """Whether the access token expires within ``skew`` seconds (a quarter of its life at most)."""
    expires = record.expires_at
    if expires is None:
        return False
    issued = (record.token_response or {}).get("issued_at")
    lifetime = expires - issued if isinstance(issued, int | float) else skew * 4
    margin = min(skew, max(lifetime, 0) / 4)
    return (now if now is not None else time.time()) >= expires - margin


def refresh_flow(
    session_id: str, used_token: str | None, *, skew: float, lock_timeout: float
) -> Flow[SessionRecord]:
    """Refresh once under the per-session lock; concurrent callers reuse the winner's tokens.

    ``used_token`` is the access token the caller found stale or saw rejected: if the stored one
    differs (and is not about to expire) someone refreshed meanwhile and nothing is sent. A
    refused refresh token (``invalid_grant``) is dropped and :class:`AuthorizationRequired` raised.
    """
    lock = f"refresh_{session_id}"
    yield from AcquireLock(lock, lock_timeout)
    record = yield from read_session(session_id)
    if record is None:
        raise _not_found(session_id)
    current = record.access_token
    if current and current != used_token and not needs_refresh(record, skew):
        yield from ReleaseLock(lock)
        return record
    refresh_token = record.refresh_token
    metadata = record.authorization_server or {}
    if not refresh_token or not metadata.get("token_endpoint"):
        raise AuthorizationRequired(
            "the access token expired and there is no refresh token; the user must authorize again",
            session_id=session_id,
            reason="refresh_failed",
        )
    endpoint = str(metadata["token_endpoint"])
    form = {"grant_type": "refresh_token", "refresh_token": refresh_token}
    if record.resource:
        form["resource"] = record.resource
    request = _token_request(
        endpoint, form, str(record.client_id), record.client_secret, record.token_endpoint_auth_method
    )
    response = yield from request
    if response.status in (400, 401):
        detail = oauth_error(response)
        if detail.startswith(": invalid_grant") or response.status == 401:

            def forget(current: SessionRecord | None) -> SessionRecord:
                fresh = current or record
                if fresh.refresh_token == refresh_token:
                    fresh.forget_tokens()
                return fresh

            yield from update_session(session_id, forget)
            raise AuthorizationRequired(
                f"the authorization server refused the refresh token (HTTP {response.status}{detail}); the "
                "user must authorize again",
                session_id=session_id,
                reason="refresh_failed",
            )
    tokens = _token_record(response, endpoint, "refresh_token", record.scope, session_id)

    def store_tokens(current: SessionRecord | None) -> SessionRecord:
        fresh = current or record
        fresh.apply_tokens(tokens)
        return fresh

    updated = yield from update_session(session_id, store_tokens)
    yield from ReleaseLock(lock)
    return updated
