"""The two-leg OAuth flow as sans-I/O generators (driven by :mod:`mcp_tools.client._io`).

Leg 1, :func:`authorize_flow`: probe the MCP endpoint for its 401 challenge, discover the
protected resource metadata (RFC 9728) and the authorization server metadata (RFC 8414 / OpenID
Connect Discovery) in the order the MCP specification prescribes, pick a client identity
(pre-registered, Client ID Metadata Document, or a reused/new dynamic registration), choose the
scope, create PKCE and ``state``, and persist what the callback needs. Nothing is written
before discovery has succeeded.

Leg 2, :func:`complete_flow`: consume ``state`` and the PKCE verifier (single use), check the
browser binding and RFC 9207 ``iss``, redeem the code with ``resource``, store the token response.

:func:`refresh_flow` refreshes under the per-session lock, once for all concurrent callers.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import re
import secrets
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, urlencode, urlsplit, urlunsplit

from mcp.client.auth import PKCEParameters
from mcp.client.auth.utils import (
    build_oauth_authorization_server_metadata_discovery_urls,
    build_protected_resource_metadata_discovery_urls,
    union_scopes,
)
from mcp.shared.auth_utils import check_resource_allowed, resource_url_from_server_url

from mcp_tools._outbound import OutboundRequest, OutboundResponse

from ._io import AcquireLock, Flow, ProbeRequest, ReleaseLock, StoreCall
from .errors import (
    AuthorizationFailed,
    AuthorizationRequired,
    BrowserMismatch,
    ConsentDenied,
    InvalidMetadata,
    InvalidState,
    IssuerMismatch,
    MetadataIssuerMismatch,
    PkceNotSupported,
    ResourceMismatch,
    ServerMisconfigured,
    SessionNotFound,
    TokenRequestFailed,
)

__all__ = [
    "AuthorizationStart",
    "ClientConfig",
    "authorize_flow",
    "binding_hash",
    "complete_flow",
    "needs_refresh",
    "parse_www_authenticate",
    "refresh_flow",
    "session_key",
]

PROTOCOL_VERSION = "2025-11-25"
MAX_STEP_UP_ATTEMPTS = 2
#: Metadata kept with the session so later requests (refresh, re-authorization) need no rediscovery.
_AS_FIELDS = (
    "issuer",
    "authorization_endpoint",
    "token_endpoint",
    "registration_endpoint",
    "scopes_supported",
    "code_challenge_methods_supported",
    "token_endpoint_auth_methods_supported",
    "authorization_response_iss_parameter_supported",
    "client_id_metadata_document_supported",
)


def session_key(session_id: str) -> str:
    """The store key of a session record (TS scheme)."""
    return f"session_{session_id}"


def binding_hash(binding: str) -> str:
    """What the store keeps of a browser binding value (never the value itself)."""
    return hashlib.sha256(binding.encode("utf-8")).hexdigest()


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

    def record(self) -> dict[str, Any]:
        """The initial ``session_`` record, with the TypeScript ``ClientData`` keys."""
        data: dict[str, Any] = {
            "mcpEndpoint": self.mcp_endpoint,
            "oauthRedirectUrl": self.oauth_redirect_url,
            "mcpClientName": self.mcp_client_name,
            "mcpClientVersion": self.mcp_client_version,
        }
        optional = {
            "oauthScopes": self.oauth_scopes,
            "oauthClientName": self.oauth_client_name,
            "oauthClientUri": self.oauth_client_uri,
            "oauthPublicClient": self.oauth_public_client,
            "clientId": self.client_id,
            "clientSecret": self.client_secret,
            "clientMetadataUrl": self.client_metadata_url,
        }
        data.update({k: v for k, v in optional.items() if v is not None})
        if self.client_id is not None:
            data["knownCredentials"] = True
        return data

    @classmethod
    def from_record(cls, record: Mapping[str, Any]) -> ClientConfig:
        """Rebuild the configuration from a stored session record."""
        known = bool(record.get("knownCredentials"))
        return cls(
            mcp_endpoint=str(record["mcpEndpoint"]),
            oauth_redirect_url=str(record["oauthRedirectUrl"]),
            mcp_client_name=str(record.get("mcpClientName", "mcp-tools")),
            mcp_client_version=str(record.get("mcpClientVersion", "0")),
            oauth_scopes=record.get("oauthScopes"),
            oauth_client_name=record.get("oauthClientName"),
            oauth_client_uri=record.get("oauthClientUri"),
            oauth_public_client=record.get("oauthPublicClient"),
            client_id=record.get("clientId") if known else None,
            client_secret=record.get("clientSecret") if known else None,
            client_metadata_url=record.get("clientMetadataUrl"),
        )


@dataclass(frozen=True)
class AuthorizationStart:
    """Result of leg 1: where to send the user (``None`` when the server needs no authorization)."""

    session_id: str
    authorization_url: str | None
    state: str | None


# -- small parsers ---------------------------------------------------------------------------------

_PARAM = re.compile(r'([A-Za-z_][A-Za-z0-9_-]*)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^\s,"]+))')


def parse_www_authenticate(header: str | None) -> dict[str, str]:
    """The auth-params of a ``Bearer`` challenge (quoted or not); empty when there is none."""
    if not header:
        return {}
    match = re.search(r"(?i)\bbearer\b", header)
    if match is None:
        return {}
    params: dict[str, str] = {}
    for found in _PARAM.finditer(header, match.end()):
        name = found.group(1).lower()
        value = found.group(2) if found.group(2) is not None else found.group(3)
        params.setdefault(name, re.sub(r"\\(.)", r"\1", value))
    return params


def _json_object(response: OutboundResponse, url: str, what: str) -> dict[str, Any]:
    try:
        data = json.loads(response.content)
    except (UnicodeDecodeError, ValueError):
        raise InvalidMetadata(
            f"the {what} at {url} is not JSON; the server is misconfigured", url=url
        ) from None
    if not isinstance(data, dict):
        raise InvalidMetadata(f"the {what} at {url} is not a JSON object", url=url)
    return data


def _json_get(url: str) -> OutboundRequest:
    return OutboundRequest(
        "GET", url, headers={"Accept": "application/json", "MCP-Protocol-Version": PROTOCOL_VERSION}
    )


def _with_query(url: str, params: Mapping[str, str]) -> str:
    parts = urlsplit(url)
    query = parts.query + ("&" if parts.query else "") + urlencode(params, quote_via=quote)
    return urlunsplit((parts.scheme, parts.netloc, parts.path, query, ""))


# -- discovery -----------------------------------------------------------------------------------


def _probe(config: ClientConfig) -> Flow[tuple[int, dict[str, str]]]:
    body = {
        "jsonrpc": "2.0",
        "id": 0,
        "method": "initialize",
        "params": {
            "protocolVersion": PROTOCOL_VERSION,
            "capabilities": {},
            "clientInfo": {"name": config.mcp_client_name, "version": config.mcp_client_version},
        },
    }
    response = yield ProbeRequest(
        "POST",
        config.mcp_endpoint,
        headers={"Accept": "application/json, text/event-stream", "Content-Type": "application/json"},
        json_body=body,
    )
    challenge = parse_www_authenticate(response.headers.get("www-authenticate"))
    return response.status, challenge


def _discover_resource_metadata(endpoint: str, header_url: str | None) -> Flow[dict[str, Any] | None]:
    """RFC 9728 metadata: the 401's ``resource_metadata``, then path-aware, then root well-known."""
    for url in build_protected_resource_metadata_discovery_urls(header_url, endpoint):
        response = yield _json_get(url)
        if response.status != 200:
            continue  # not served here (404, a refused redirect, ...): try the next location
        document = _json_object(response, url, "protected resource metadata")
        resource = document.get("resource")
        servers = document.get("authorization_servers")
        if not isinstance(resource, str) or not resource:
            raise InvalidMetadata(f"the protected resource metadata at {url} has no 'resource'", url=url)
        if not check_resource_allowed(resource_url_from_server_url(endpoint), resource):
            raise ResourceMismatch(
                f"the protected resource metadata at {url} describes {resource!r}, not the MCP endpoint "
                f"{endpoint!r} (RFC 9728 section 3.3); refusing to use it",
                url=url,
            )
        if not isinstance(servers, list) or not servers or not all(isinstance(s, str) and s for s in servers):
            raise InvalidMetadata(
                f"the protected resource metadata at {url} lists no 'authorization_servers'", url=url
            )
        scopes = document.get("scopes_supported")
        if scopes is not None and not (isinstance(scopes, list) and all(isinstance(s, str) for s in scopes)):
            raise InvalidMetadata(f"'scopes_supported' in {url} is not a list of strings", url=url)
        document["_url"] = url
        return document
    return None


def _discover_authorization_server(issuer: str | None, endpoint: str) -> Flow[dict[str, Any]]:
    """RFC 8414 / OIDC metadata in the MCP order; exact ``issuer`` match and PKCE S256 required."""
    expected = issuer
    if expected is None:  # 2025-03-26 servers: no resource metadata; the MCP origin is the issuer
        parts = urlsplit(endpoint)
        expected = f"{parts.scheme}://{parts.netloc}"
    tried = []
    for url in build_oauth_authorization_server_metadata_discovery_urls(issuer, endpoint):
        tried.append(url)
        response = yield _json_get(url)
        if 300 <= response.status < 500:
            continue
        if response.status != 200:
            raise ServerMisconfigured(
                f"the authorization server metadata at {url} answered HTTP {response.status}; "
                "try again later",
                url=url,
            )
        document = _json_object(response, url, "authorization server metadata")
        if document.get("issuer") != expected:
            raise MetadataIssuerMismatch(
                f"the authorization server metadata at {url} names issuer {document.get('issuer')!r}, but it "
                f"was fetched for {expected!r}; the issuers must be identical (RFC 8414 section 3.3), so "
                "it is not used",
                url=url,
            )
        methods = document.get("code_challenge_methods_supported")
        if not isinstance(methods, list) or "S256" not in methods:
            raise PkceNotSupported(
                f"the authorization server {expected} does not advertise PKCE S256 "
                "(code_challenge_methods_supported); MCP clients must refuse to proceed without it",
                url=url,
            )
        for name in ("authorization_endpoint", "token_endpoint"):
            if not isinstance(document.get(name), str):
                raise InvalidMetadata(f"the authorization server metadata at {url} has no {name}", url=url)
        return {name: document[name] for name in _AS_FIELDS if name in document}
    raise ServerMisconfigured(
        f"no authorization server metadata found for {expected} (tried {', '.join(tried)})", url=tried[0]
    )


# -- client identity -----------------------------------------------------------------------------


def _registration_key(issuer: str, config: ClientConfig) -> str:
    material = "\n".join(
        [
            issuer,
            config.oauth_redirect_url,
            config.oauth_client_name or config.mcp_client_name,
            config.oauth_client_uri or "",
            config.oauth_scopes or "",
            "public" if config.oauth_public_client else "confidential",
        ]
    )
    return "client_registration_" + hashlib.sha256(material.encode("utf-8")).hexdigest()[:40]


def _usable_registration(record: Any, issuer: str) -> bool:
    if not isinstance(record, dict) or not isinstance(record.get("client_id"), str):
        return False
    if record.get("issuer") != issuer:
        return False  # credentials are bound to the authorization server that issued them
    expires = record.get("client_secret_expires_at")
    return not (isinstance(expires, int | float) and expires and expires <= time.time() + 60)


def _secret_method(metadata: Mapping[str, Any]) -> str:
    supported = metadata.get("token_endpoint_auth_methods_supported")
    if not isinstance(supported, list) or "client_secret_basic" in supported:
        return "client_secret_basic"
    return "client_secret_post" if "client_secret_post" in supported else "client_secret_basic"


def _client_identity(config: ClientConfig, metadata: Mapping[str, Any]) -> Flow[dict[str, Any]]:
    """Pre-registered credentials, else CIMD, else a reused or new dynamic registration."""
    issuer = str(metadata["issuer"])
    if config.client_id is not None:
        method = _secret_method(metadata) if config.client_secret else "none"
        return {"client_id": config.client_id, "client_secret": config.client_secret, "method": method}
    if config.client_metadata_url and metadata.get("client_id_metadata_document_supported") is True:
        return {"client_id": config.client_metadata_url, "client_secret": None, "method": "none"}
    key = _registration_key(issuer, config)
    stored = yield StoreCall("read", (key,))
    if _usable_registration(stored, issuer):
        return _identity_from_registration(stored)
    endpoint = metadata.get("registration_endpoint")
    if not isinstance(endpoint, str):
        raise ServerMisconfigured(
            f"the authorization server {issuer} offers neither dynamic client registration nor Client ID "
            "Metadata Documents; register a client there and use create_known_credentials_mcp_client"
        )
    body: dict[str, Any] = {
        "redirect_uris": [config.oauth_redirect_url],
        "client_name": config.oauth_client_name or config.mcp_client_name,
        "grant_types": ["authorization_code", "refresh_token"],
        "response_types": ["code"],
        "application_type": "web",
    }
    if config.oauth_client_uri:
        body["client_uri"] = config.oauth_client_uri
    if config.oauth_scopes:
        body["scope"] = config.oauth_scopes
    if config.oauth_public_client:
        body["token_endpoint_auth_method"] = "none"
    response = yield OutboundRequest("POST", endpoint, headers={"Accept": "application/json"}, json_body=body)
    if response.status not in (200, 201):
        detail = _oauth_error(response)
        raise ServerMisconfigured(
            f"dynamic client registration at {endpoint} was refused (HTTP {response.status}{detail})",
            url=endpoint,
        )
    document = _json_object(response, endpoint, "registration response")
    if not isinstance(document.get("client_id"), str):
        raise InvalidMetadata(f"the registration response from {endpoint} has no client_id", url=endpoint)
    record: dict[str, Any] = {
        name: document[name]
        for name in ("client_id", "client_secret", "client_secret_expires_at", "token_endpoint_auth_method")
        if name in document
    }
    record["issuer"] = issuer
    record["registered_at"] = time.time()

    def keep_first(current: Any) -> Any:
        return current if _usable_registration(current, issuer) else record

    saved = yield StoreCall("update", (key, keep_first))
    return _identity_from_registration(saved)


def _identity_from_registration(record: Mapping[str, Any]) -> dict[str, Any]:
    secret = record.get("client_secret")
    method = record.get("token_endpoint_auth_method") or ("client_secret_basic" if secret else "none")
    return {"client_id": record["client_id"], "client_secret": secret, "method": method}


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
    status, challenge = yield from _probe(config)
    previous: dict[str, Any] = {}
    if not new_session:
        stored = yield StoreCall("read", (session_key(session_id),))
        if not isinstance(stored, dict):
            raise SessionNotFound(f"session {session_id!r} not found in the store", session_id=session_id)
        previous = stored
    resource_metadata = yield from _discover_resource_metadata(
        config.mcp_endpoint, challenge.get("resource_metadata")
    )
    if 200 <= status < 300 and resource_metadata is None and step_up_scope is None:
        # The server answered without asking for a token and publishes no resource metadata:
        # it needs no authorization. (One that protects only some methods publishes metadata.)
        record = {**config.record(), "authComplete": True, "noAuth": True}
        yield StoreCall("update", (session_key(session_id), lambda current: {**(current or {}), **record}))
        return AuthorizationStart(session_id, None, None)
    issuer = str(resource_metadata["authorization_servers"][0]) if resource_metadata else None
    metadata = yield from _discover_authorization_server(issuer, config.mcp_endpoint)
    identity = yield from _client_identity(config, metadata)

    scope = _choose_scope(challenge.get("scope"), resource_metadata, metadata, config)
    attempts = 0
    if step_up_scope is not None:
        # SEP-835/2350: ask for the union of what was requested before and what is now required.
        before = previous.get("requestedScope")
        scope = union_scopes(before, step_up_scope)
        grew = set((scope or "").split()) - set((before or "").split())
        # A challenge that adds nothing new counts as a retry; three authorizations at most.
        attempts = 0 if grew else int(previous.get("stepUpAttempts", 0)) + 1
        if attempts >= MAX_STEP_UP_ATTEMPTS:
            raise ServerMisconfigured(
                "the MCP server keeps refusing the scopes it was granted (insufficient_scope after "
                f"{attempts} re-authorizations for the same scopes); giving up instead of sending the "
                "user to consent again",
                session_id=session_id,
            )
    elif previous.get("requestedScope"):
        scope = union_scopes(previous.get("requestedScope"), scope)
    resource = (
        str(resource_metadata["resource"])
        if resource_metadata
        else resource_url_from_server_url(config.mcp_endpoint)
    )
    pkce = PKCEParameters.generate()
    state = secrets.token_urlsafe(32)
    params = {
        "response_type": "code",
        "client_id": identity["client_id"],
        "redirect_uri": config.oauth_redirect_url,
        "state": state,
        "code_challenge": pkce.code_challenge,
        "code_challenge_method": "S256",
    }
    if scope:
        params["scope"] = scope
    params["resource"] = resource
    authorization_url = _with_query(str(metadata["authorization_endpoint"]), params)

    now = time.time()
    pending = {
        "issuer": metadata["issuer"],
        "authorizationServer": metadata,
        "clientId": identity["client_id"],
        "clientSecret": identity["client_secret"],
        "tokenEndpointAuthMethod": identity["method"],
        "resource": resource,
        "resourceMetadataUrl": resource_metadata.get("_url") if resource_metadata else None,
        "scope": scope,
        "bindingHash": binding_hash(binding),
        "expiresAt": now + state_ttl,
        "stepUpAttempts": attempts,
    }
    base = config.record()

    def add_pending(current: Any) -> Any:
        record = dict(current) if isinstance(current, dict) else dict(base)
        waiting = {
            k: v
            for k, v in (record.get("pendingAuth") or {}).items()
            if isinstance(v, dict) and float(v.get("expiresAt", 0)) > now
        }
        waiting[state] = pending
        record["pendingAuth"] = waiting
        return record

    yield StoreCall("update", (session_key(session_id), add_pending))
    yield StoreCall("write", (f"pkce_verifier_{state}", pkce.code_verifier, state_ttl))
    yield StoreCall("write", (f"state_{state}", session_id, state_ttl))  # last: a state always has the rest
    return AuthorizationStart(session_id, authorization_url, state)


# -- token endpoint ------------------------------------------------------------------------------


def _oauth_error(response: OutboundResponse) -> str:
    """`` error_code: description`` from an OAuth error body, shortened; empty when absent."""
    try:
        data = json.loads(response.content)
    except (UnicodeDecodeError, ValueError):
        return ""
    if not isinstance(data, dict) or not isinstance(data.get("error"), str):
        return ""
    text = f": {data['error'][:64]}"
    if isinstance(data.get("error_description"), str):
        text += f" ({data['error_description'][:200]})"
    return text


def _token_request(endpoint: str, form: dict[str, str], client: Mapping[str, Any]) -> OutboundRequest:
    headers = {"Accept": "application/json", "Content-Type": "application/x-www-form-urlencoded"}
    method = client.get("tokenEndpointAuthMethod") or "none"
    client_id = str(client["clientId"])
    secret = client.get("clientSecret")
    if method == "client_secret_basic" and secret:
        pair = f"{quote(client_id, safe='')}:{quote(str(secret), safe='')}"
        headers["Authorization"] = "Basic " + base64.b64encode(pair.encode("utf-8")).decode("ascii")
    elif method == "client_secret_post" and secret:
        form = {**form, "client_id": client_id, "client_secret": str(secret)}
    else:
        form = {**form, "client_id": client_id}
    return OutboundRequest("POST", endpoint, headers=headers, data=form)


def _token_record(
    response: OutboundResponse, endpoint: str, grant: str, requested_scope: str | None, session_id: str
) -> dict[str, Any]:
    if response.status != 200:
        detail = _oauth_error(response)
        error = detail[2:].split(" ", 1)[0] if detail else None
        raise TokenRequestFailed(
            f"the token endpoint {endpoint} refused the {grant} grant (HTTP {response.status}{detail})",
            session_id=session_id,
            error=error,
        )
    data = _json_object(response, endpoint, "token response")
    if not isinstance(data.get("access_token"), str) or not data["access_token"]:
        raise InvalidMetadata(f"the token response from {endpoint} has no access_token", url=endpoint)
    token_type = data.get("token_type")
    if not isinstance(token_type, str) or token_type.lower() != "bearer":
        raise ServerMisconfigured(
            f"the token endpoint {endpoint} issued a {token_type!r} token; only Bearer tokens are supported",
            url=endpoint,
        )
    now = time.time()
    record = dict(data)
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


def _apply_tokens(record: dict[str, Any], tokens: Mapping[str, Any]) -> dict[str, Any]:
    """Copy a token response into a session record (TS fields plus the whole response)."""
    refresh = tokens.get("refresh_token") or record.get("refreshToken")  # kept when not rotated
    full = {**tokens, "refresh_token": refresh} if refresh else dict(tokens)
    record.update(
        accessToken=tokens["access_token"],
        tokenType="Bearer",
        expiresAt=tokens.get("expires_at"),
        scope=tokens.get("scope"),
        tokenResponse=full,
    )
    if refresh:
        record["refreshToken"] = refresh
    else:
        record.pop("refreshToken", None)
    return record


# -- leg 2 ---------------------------------------------------------------------------------------


def complete_flow(
    state: str,
    code: str | None,
    *,
    binding: str | None,
    iss: str | None,
    error: str | None = None,
    error_description: str | None = None,
) -> Flow[str]:
    """Leg 2. Returns the session id; ``state`` and the verifier are consumed whatever happens."""
    session_id = yield StoreCall("take", (f"state_{state}",))
    verifier = yield StoreCall("take", (f"pkce_verifier_{state}",))
    if not isinstance(session_id, str):
        raise InvalidState(
            "this authorization response has an unknown, expired or already used state; nothing was done. "
            "Start the connection again."
        )
    record = yield StoreCall("read", (session_key(session_id),))
    if not isinstance(record, dict):
        raise SessionNotFound(f"session {session_id!r} not found in the store", session_id=session_id)
    pending = (record.get("pendingAuth") or {}).get(state)
    if not isinstance(pending, dict) or float(pending.get("expiresAt", 0)) <= time.time() or not verifier:
        raise InvalidState(
            "this authorization response belongs to an expired or already completed attempt; start the "
            "connection again.",
            session_id=session_id,
        )
    expected = pending.get("bindingHash")
    if expected and (binding is None or not hmac.compare_digest(binding_hash(binding), str(expected))):
        raise BrowserMismatch(
            "this authorization response arrived in a browser other than the one that started the "
            "connection (missing or different binding cookie); refused to prevent login CSRF. Start the "
            "connection again from this browser.",
            session_id=session_id,
        )
    metadata = pending.get("authorizationServer") or {}
    issuer = str(pending.get("issuer"))
    if iss is not None and iss != issuer:
        raise IssuerMismatch(
            f"the authorization response names issuer {iss!r} but the user was sent to {issuer!r} "
            "(RFC 9207 mix-up defence); refused.",
            session_id=session_id,
        )
    if iss is None and metadata.get("authorization_response_iss_parameter_supported") is True:
        raise IssuerMismatch(
            f"the authorization response has no 'iss' although {issuer!r} promises one (RFC 9207); refused.",
            session_id=session_id,
        )
    if error is not None:
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
    if not code:
        raise InvalidState("the authorization response has no code", session_id=session_id)
    endpoint = str(metadata["token_endpoint"])
    form = {
        "grant_type": "authorization_code",
        "code": code,
        "redirect_uri": str(record.get("oauthRedirectUrl")),
        "code_verifier": str(verifier),
        "resource": str(pending["resource"]),
    }
    response = yield _token_request(endpoint, form, pending)
    tokens = _token_record(response, endpoint, "authorization_code", pending.get("scope"), session_id)

    def store_tokens(current: Any) -> Any:
        fresh = dict(current) if isinstance(current, dict) else dict(record)
        waiting = dict(fresh.get("pendingAuth") or {})
        waiting.pop(state, None)
        fresh["pendingAuth"] = waiting
        for name in (
            "issuer",
            "authorizationServer",
            "clientId",
            "clientSecret",
            "tokenEndpointAuthMethod",
            "resource",
            "resourceMetadataUrl",
            "stepUpAttempts",
        ):
            if pending.get(name) is not None:
                fresh[name] = pending[name]
            elif name == "clientSecret" and not fresh.get("knownCredentials"):
                fresh.pop(name, None)
        fresh["requestedScope"] = pending.get("scope")
        fresh["authComplete"] = True
        fresh.pop("noAuth", None)
        return _apply_tokens(fresh, tokens)

    yield StoreCall("update", (session_key(session_id), store_tokens))
    return session_id


# -- refresh -------------------------------------------------------------------------------------


def needs_refresh(record: Mapping[str, Any], skew: float, now: float | None = None) -> bool:
    """Whether the access token expires within ``skew`` seconds (a quarter of its life at most)."""
    expires = record.get("expiresAt")
    if not isinstance(expires, int | float):
        return False
    issued = (record.get("tokenResponse") or {}).get("issued_at")
    lifetime = expires - issued if isinstance(issued, int | float) else skew * 4
    margin = min(skew, max(lifetime, 0) / 4)
    return (now if now is not None else time.time()) >= expires - margin


def refresh_flow(
    session_id: str, used_token: str | None, *, skew: float, lock_timeout: float
) -> Flow[dict[str, Any]]:
    """Refresh once under the per-session lock; concurrent callers reuse the winner's tokens.

    ``used_token`` is the access token the caller found stale or saw rejected: if the stored one
    differs (and is not about to expire) someone refreshed meanwhile and nothing is sent. A
    refused refresh token (``invalid_grant``) is dropped and :class:`AuthorizationRequired` raised.
    """
    yield AcquireLock(f"refresh_{session_id}", lock_timeout)
    record = yield StoreCall("read", (session_key(session_id),))
    if not isinstance(record, dict):
        raise SessionNotFound(f"session {session_id!r} not found in the store", session_id=session_id)
    current = record.get("accessToken")
    if current and current != used_token and not needs_refresh(record, skew):
        yield ReleaseLock(f"refresh_{session_id}")
        return record
    refresh_token = record.get("refreshToken")
    metadata = record.get("authorizationServer") or {}
    if not refresh_token or not metadata.get("token_endpoint"):
        raise AuthorizationRequired(
            "the access token expired and there is no refresh token; the user must authorize again",
            session_id=session_id,
            reason="refresh_failed",
        )
    endpoint = str(metadata["token_endpoint"])
    form = {"grant_type": "refresh_token", "refresh_token": str(refresh_token)}
    if record.get("resource"):
        form["resource"] = str(record["resource"])
    response = yield _token_request(endpoint, form, record)
    if response.status in (400, 401):
        detail = _oauth_error(response)
        if detail.startswith(": invalid_grant") or response.status == 401:

            def forget(current: Any) -> Any:
                fresh = dict(current) if isinstance(current, dict) else dict(record)
                if fresh.get("refreshToken") == refresh_token:
                    for name in ("accessToken", "refreshToken", "expiresAt", "tokenResponse"):
                        fresh.pop(name, None)
                    fresh["authComplete"] = False
                return fresh

            yield StoreCall("update", (session_key(session_id), forget))
            raise AuthorizationRequired(
                f"the authorization server refused the refresh token (HTTP {response.status}{detail}); the "
                "user must authorize again",
                session_id=session_id,
                reason="refresh_failed",
            )
    tokens = _token_record(response, endpoint, "refresh_token", record.get("scope"), session_id)
    updated = yield StoreCall(
        "update", (session_key(session_id), lambda cur: _apply_tokens(dict(cur or record), tokens))
    )
    yield ReleaseLock(f"refresh_{session_id}")
    return dict(updated)
