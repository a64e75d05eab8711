"""Discovery and client identity, as sans-I/O flows (the first half of leg 1).

In the order the MCP specification prescribes: probe the MCP endpoint for its 401 challenge
(:func:`probe`), fetch the protected resource metadata (RFC 9728,
:func:`discover_resource_metadata`) and the authorization server metadata (RFC 8414 / OpenID
Connect Discovery, :func:`discover_authorization_server`), then pick the client identity
(:func:`client_identity`): pre-registered credentials, a Client ID Metadata Document, or a
dynamic registration (RFC 7591), reused per authorization server.
"""

from __future__ import annotations

import hashlib
import json
import re
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, TypeGuard
from urllib.parse import quote, urlencode, urlsplit, urlunsplit

from mcp.client.auth.utils import (
    build_oauth_authorization_server_metadata_discovery_urls,
    build_protected_resource_metadata_discovery_urls,
)
from mcp.shared.auth_utils import check_resource_allowed, resource_url_from_server_url

from mcp_tools._outbound import OutboundRequest, OutboundResponse
from mcp_tools.stores.base import JsonValue

from ._steps import CheckUrl, Fetch, Flow, StoreRead, StoreUpdate
from .errors import (
    InvalidMetadata,
    MetadataIssuerMismatch,
    PkceNotSupported,
    ResourceMismatch,
    ServerMisconfigured,
)
from .record import ClientConfig

__all__ = [
    "PROTOCOL_VERSION",
    "ClientIdentity",
    "client_identity",
    "discover_authorization_server",
    "discover_resource_metadata",
    "json_object",
    "oauth_error",
    "parse_www_authenticate",
    "probe",
    "with_query",
]

PROTOCOL_VERSION = "2025-11-25"

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


@dataclass(frozen=True)
class ClientIdentity:
    """Who the application is at one authorization server, and how it authenticates there."""

    client_id: str
    client_secret: str | None
    method: str  # token_endpoint_auth_method: none, client_secret_basic or client_secret_post


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


def json_object(response: OutboundResponse, url: str, what: str) -> dict[str, Any]:
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


def with_query(url: str, params: Mapping[str, str]) -> str:
    parts = urlsplit(url)
    query = parts.query + ("&" if parts.query else "") + urlencode(params, quote_via=quote)
    return urlunsplit((parts.scheme, parts.netloc, parts.path, query, ""))


# -- discovery -----------------------------------------------------------------------------------


def probe(config: ClientConfig) -> Flow[tuple[int, dict[str, str]]]:
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
    request = OutboundRequest(
        "POST",
        config.mcp_endpoint,
        headers={"Accept": "application/json, text/event-stream", "Content-Type": "application/json"},
        json_body=body,
    )
    response = yield from Fetch(request, read_body=False)
    challenge = parse_www_authenticate(response.headers.get("www-authenticate"))
    return response.status, challenge


def discover_resource_metadata(endpoint: str, header_url: str | None) -> Flow[dict[str, Any] | None]:
    """RFC 9728 metadata: the 401's ``resource_metadata``, then path-aware, then root well-known."""
    for url in build_protected_resource_metadata_discovery_urls(header_url, endpoint):
        response = yield from Fetch(_json_get(url))
        if response.status != 200:
            continue  # not served here (404, a refused redirect, ...): try the next location
        document = json_object(response, url, "protected resource metadata")
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


def discover_authorization_server(issuer: str | None, endpoint: str) -> Flow[dict[str, Any]]:
    """RFC 8414 / OIDC metadata in the MCP order; exact ``issuer`` match and PKCE S256 required."""
    expected = issuer
    if expected is None:  # 2025-03-26 servers: no resource metadata; the MCP origin is the issuer
        parts = urlsplit(endpoint)
        expected = f"{parts.scheme}://{parts.netloc}"
    tried = []
    for url in build_oauth_authorization_server_metadata_discovery_urls(issuer, endpoint):
        tried.append(url)
        response = yield from Fetch(_json_get(url))
        if 300 <= response.status < 500:
            continue
        if response.status != 200:
            raise ServerMisconfigured(
                f"the authorization server metadata at {url} answered HTTP {response.status}; "
                "try again later",
                url=url,
            )
        document = json_object(response, url, "authorization server metadata")
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
        # The browser is sent there: https only (no javascript: or data:), like every endpoint.
        what = f"the authorization_endpoint in the authorization server metadata at {url}:"
        yield from CheckUrl(document["authorization_endpoint"], what)
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


def _usable_registration(record: JsonValue, issuer: str) -> TypeGuard[dict[str, JsonValue]]:
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


def client_identity(config: ClientConfig, metadata: Mapping[str, Any]) -> Flow[ClientIdentity]:
    """Pre-registered credentials, else CIMD, else a reused or new dynamic registration."""
    issuer = str(metadata["issuer"])
    if config.client_id is not None:
        method = _secret_method(metadata) if config.client_secret else "none"
        return ClientIdentity(config.client_id, config.client_secret, method)
    if config.client_metadata_url and metadata.get("client_id_metadata_document_supported") is True:
        return ClientIdentity(config.client_metadata_url, None, "none")
    key = _registration_key(issuer, config)
    stored = yield from StoreRead(key)
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
    response = yield from Fetch(
        OutboundRequest("POST", endpoint, headers={"Accept": "application/json"}, json_body=body)
    )
    if response.status not in (200, 201):
        detail = oauth_error(response)
        raise ServerMisconfigured(
            f"dynamic client registration at {endpoint} was refused (HTTP {response.status}{detail})",
            url=endpoint,
        )
    document = json_object(response, endpoint, "registration response")
    if not isinstance(document.get("client_id"), str):
        raise InvalidMetadata(f"the registration response from {endpoint} has no client_id", url=endpoint)
    record: dict[str, JsonValue] = {
        name: document[name]
        for name in ("client_id", "client_secret", "client_secret_expires_at", "token_endpoint_auth_method")
        if name in document
    }
    record["issuer"] = issuer
    record["registered_at"] = time.time()

    def keep_first(current: JsonValue) -> JsonValue:
        return current if _usable_registration(current, issuer) else record

    saved = yield from StoreUpdate(key, keep_first)
    assert isinstance(saved, dict)  # keep_first returns a registration record
    return _identity_from_registration(saved)


def _identity_from_registration(record: Mapping[str, JsonValue]) -> ClientIdentity:
    secret = record.get("client_secret")
    secret = secret if isinstance(secret, str) and secret else None
    method = record.get("token_endpoint_auth_method")
    if not isinstance(method, str) or not method:
        method = "client_secret_basic" if secret else "none"
    return ClientIdentity(str(record["client_id"]), secret, method)


def oauth_error(response: OutboundResponse) -> str:
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
