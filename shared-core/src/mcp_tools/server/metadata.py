"""OAuth 2.0 Protected Resource Metadata (RFC 9728) and Authorization Server Metadata (RFC 8414).

The discovery documents an MCP server publishes:

* :func:`build_protected_resource_metadata`: a strict RFC 9728 document (only RFC 9728
  fields, validated resource URL). Framework adapters serve this one by default.
* :func:`generate_protected_resource_metadata`: the document of ``@clerk/mcp-tools``,
  byte for byte (same keys, order and string concatenation), for apps that must serve exactly
  what the TypeScript package served.
* :func:`protected_resource_metadata_path` / :func:`protected_resource_metadata_url`: where
  the document lives (RFC 9728 §3.1, path-aware).
* :func:`generate_authorization_server_metadata`: an RFC 8414 document for apps that are
  their own authorization server, or that must answer clients of the older MCP revision.
* :data:`cors_headers`: the CORS headers the TypeScript package sends with metadata.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from types import MappingProxyType
from typing import Any, Final, Literal, TypeAlias
from urllib.parse import urlsplit, urlunsplit

from mcp_tools.server.resource import validate_resource_url

__all__ = [
    "OMIT",
    "PROTECTED_RESOURCE_WELL_KNOWN",
    "EndpointOverride",
    "build_protected_resource_metadata",
    "cors_headers",
    "generate_authorization_server_metadata",
    "generate_protected_resource_metadata",
    "protected_resource_metadata_path",
    "protected_resource_metadata_url",
]

PROTECTED_RESOURCE_WELL_KNOWN: Final = "/.well-known/oauth-protected-resource"


class _Omit:
    """Type of :data:`OMIT`."""

    _instance: _Omit | None = None

    def __new__(cls) -> _Omit:
        if cls._instance is None:
            cls._instance = super().__new__(cls)
        return cls._instance

    def __repr__(self) -> str:
        return "OMIT"

    def __bool__(self) -> bool:
        return False

    def __reduce__(self) -> str:
        return "OMIT"


OMIT: Final = _Omit()
"""A ``properties`` value that removes the key from the document.

This is what passing ``undefined`` did in the TypeScript package. ``None`` is kept and
serialised as ``null``.
"""

cors_headers: Final[Mapping[str, str]] = MappingProxyType(
    {
        "Access-Control-Allow-Origin": "*",
        "Access-Control-Allow-Methods": "GET, OPTIONS",
        "Access-Control-Allow-Headers": "*",
        "Access-Control-Max-Age": "86400",
    }
)
"""CORS headers for the metadata endpoints (read-only; same keys, order and values as the
TypeScript ``corsHeaders``). Metadata is public, so any origin may read it."""


def _merge(document: dict[str, Any], properties: Mapping[str, Any] | None) -> dict[str, Any]:
    """Apply ``properties`` like ``Object.assign``: overrides keep their position, new keys are
    appended in order, :data:`OMIT` deletes."""
    if properties is None:
        return document
    for key, value in properties.items():
        if value is OMIT:
            document.pop(key, None)
        else:
            document[key] = value
    return document


def generate_protected_resource_metadata(
    auth_server_url: str,
    resource_url: str,
    properties: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """The protected resource metadata document of ``@clerk/mcp-tools`` (compatibility).

    Returns the nine keys the TypeScript ``generateProtectedResourceMetadata`` returns, in its
    order, then ``properties``: a property with a default's name replaces the value in place,
    a new name is appended (in the mapping's order), ``None`` becomes ``null``, and
    :data:`OMIT` removes the key. ``properties=None`` is ignored.

    No URL handling happens, on purpose: endpoints are ``auth_server_url`` concatenated with a
    path, so ``"https://as.example/"`` gives ``"https://as.example//oauth/token"``, exactly like
    the TypeScript package. Several keys are not RFC 9728 parameters and ``jwks_uri`` names the
    authorization server's keys; new code should use :func:`build_protected_resource_metadata`.

    >>> doc = generate_protected_resource_metadata("https://as.example", "https://api.example/mcp")
    >>> list(doc)[:2], doc["jwks_uri"]
    (['resource', 'authorization_servers'], 'https://as.example/.well-known/jwks.json')
    """
    document: dict[str, Any] = {
        "resource": resource_url,
        "authorization_servers": [auth_server_url],
        "token_types_supported": ["urn:ietf:params:oauth:token-type:access_token"],
        "token_introspection_endpoint": auth_server_url + "/oauth/token",
        "token_introspection_endpoint_auth_methods_supported": ["client_secret_post", "client_secret_basic"],
        "jwks_uri": auth_server_url + "/.well-known/jwks.json",
        "authorization_data_types_supported": ["oauth_scope"],
        "authorization_data_locations_supported": ["header", "body"],
        "key_challenges_supported": [
            {"challenge_type": "urn:ietf:params:oauth:pkce:code_challenge", "challenge_algs": ["S256"]}
        ],
    }
    return _merge(document, properties)


def _string_list(name: str, values: Sequence[str] | None) -> list[str] | None:
    if values is None:
        return None
    if isinstance(values, str):
        raise TypeError(f"{name} must be a sequence of strings, not a single string")
    out = list(values)
    for v in out:
        if not isinstance(v, str) or not v:
            raise ValueError(f"{name} must contain non-empty strings, got {v!r}")
    return out


def _check_http_url(name: str, url: str) -> str:
    try:
        parts = urlsplit(url)
    except ValueError as exc:
        raise ValueError(f"{name} {url!r} is not a valid URL: {exc}") from None
    if parts.scheme.lower() not in ("http", "https") or not parts.netloc:
        raise ValueError(f"{name} {url!r} is not an absolute http(s) URL")
    return url


def build_protected_resource_metadata(
    resource_url: str,
    authorization_servers: Sequence[str],
    *,
    scopes_supported: Sequence[str] | None = None,
    bearer_methods_supported: Sequence[str] | None = ("header",),
    resource_name: str | None = None,
    resource_documentation: str | None = None,
    jwks_uri: str | None = None,
    resource_policy_uri: str | None = None,
    resource_tos_uri: str | None = None,
    resource_signing_alg_values_supported: Sequence[str] | None = None,
    tls_client_certificate_bound_access_tokens: bool | None = None,
    authorization_details_types_supported: Sequence[str] | None = None,
    dpop_signing_alg_values_supported: Sequence[str] | None = None,
    dpop_bound_access_tokens_required: bool | None = None,
    signed_metadata: str | None = None,
) -> dict[str, Any]:
    """A strict RFC 9728 protected resource metadata document.

    Only RFC 9728 parameters appear, in the order of RFC 9728 §2; a parameter left at
    ``None`` is omitted. ``resource_url`` is checked with
    :func:`~mcp_tools.server.resource.validate_resource_url` (absolute ``https`` URL, or
    ``http`` on a loopback host; no query, no fragment) and is emitted unchanged.
    ``authorization_servers`` must name at least one issuer (the MCP authorization spec
    requires one). ``jwks_uri`` is the resource server's *own* key set, if it signs
    responses; do not put the authorization server's keys there.

    >>> build_protected_resource_metadata("https://api.example/mcp", ["https://as.example"])
    {'resource': 'https://api.example/mcp', 'authorization_servers': ['https://as.example'], \
'bearer_methods_supported': ['header']}
    """
    validate_resource_url(resource_url)
    servers = _string_list("authorization_servers", authorization_servers)
    if not servers:
        raise ValueError("authorization_servers must name at least one authorization server (issuer URL)")
    for server in servers:
        _check_http_url("authorization server", server)
    for name, value in (
        ("resource_documentation", resource_documentation),
        ("jwks_uri", jwks_uri),
        ("resource_policy_uri", resource_policy_uri),
        ("resource_tos_uri", resource_tos_uri),
    ):
        if value is not None:
            _check_http_url(name, value)

    fields: list[tuple[str, Any]] = [
        ("resource", resource_url),
        ("authorization_servers", servers),
        ("jwks_uri", jwks_uri),
        ("scopes_supported", _string_list("scopes_supported", scopes_supported)),
        ("bearer_methods_supported", _string_list("bearer_methods_supported", bearer_methods_supported)),
        (
            "resource_signing_alg_values_supported",
            _string_list("resource_signing_alg_values_supported", resource_signing_alg_values_supported),
        ),
        ("resource_name", resource_name),
        ("resource_documentation", resource_documentation),
        ("resource_policy_uri", resource_policy_uri),
        ("resource_tos_uri", resource_tos_uri),
        ("tls_client_certificate_bound_access_tokens", tls_client_certificate_bound_access_tokens),
        (
            "authorization_details_types_supported",
            _string_list("authorization_details_types_supported", authorization_details_types_supported),
        ),
        (
            "dpop_signing_alg_values_supported",
            _string_list("dpop_signing_alg_values_supported", dpop_signing_alg_values_supported),
        ),
        ("dpop_bound_access_tokens_required", dpop_bound_access_tokens_required),
        ("signed_metadata", signed_metadata),
    ]
    return {key: value for key, value in fields if value is not None}


def protected_resource_metadata_path(resource_url: str) -> str:
    """The path at which the metadata of ``resource_url`` is served (RFC 9728 §3.1).

    ``/.well-known/oauth-protected-resource`` followed by the resource's path; a root resource
    (``https://api.example`` or ``https://api.example/``) has no suffix.

    >>> protected_resource_metadata_path("https://api.example/tenant/a/mcp")
    '/.well-known/oauth-protected-resource/tenant/a/mcp'
    >>> protected_resource_metadata_path("https://api.example/")
    '/.well-known/oauth-protected-resource'
    """
    validate_resource_url(resource_url)
    path = urlsplit(resource_url).path
    return PROTECTED_RESOURCE_WELL_KNOWN + ("" if path in ("", "/") else path)


def protected_resource_metadata_url(resource_url: str) -> str:
    """The absolute URL of the metadata of ``resource_url`` (same scheme and authority).

    This is the ``resource_metadata`` value of a ``WWW-Authenticate`` challenge.

    >>> protected_resource_metadata_url("https://api.example/mcp")
    'https://api.example/.well-known/oauth-protected-resource/mcp'
    """
    parts = urlsplit(resource_url)
    return urlunsplit((parts.scheme, parts.netloc, protected_resource_metadata_path(resource_url), "", ""))


EndpointOverride: TypeAlias = str | Literal[False] | None
"""An endpoint argument: ``None`` for the default, ``False`` to omit it, or a URL. A URL with
a scheme is used as is; any other string is a path placed under the authorization server URL."""


def _join(base: str, path: str) -> str:
    return base.rstrip("/") + "/" + path.lstrip("/")


def _endpoint(name: str, base: str, value: EndpointOverride, default_path: str | None) -> str | None:
    if value is False:
        return None
    if value is None:
        return None if default_path is None else _join(base, default_path)
    if not isinstance(value, str) or not value:
        raise ValueError(f"{name} must be a URL, a path, False or None; got {value!r}")
    if value.startswith("//"):
        raise ValueError(f"{name} {value!r} is protocol-relative; give an absolute URL or a path")
    if urlsplit(value).scheme:
        return _check_http_url(name, value)
    return _join(base, value)


def generate_authorization_server_metadata(
    auth_server_url: str,
    *,
    issuer: str | None = None,
    scopes: Sequence[str] | None = None,
    authorization_endpoint: EndpointOverride = None,
    token_endpoint: EndpointOverride = None,
    userinfo_endpoint: EndpointOverride = None,
    jwks_uri: EndpointOverride = None,
    registration_endpoint: EndpointOverride = None,
    revocation_endpoint: EndpointOverride = None,
    introspection_endpoint: EndpointOverride = None,
    response_types_supported: Sequence[str] = ("code",),
    grant_types_supported: Sequence[str] | None = ("authorization_code", "refresh_token"),
    token_endpoint_auth_methods_supported: Sequence[str] | None = (
        "client_secret_basic",
        "client_secret_post",
        "none",
    ),
    code_challenge_methods_supported: Sequence[str] | None = ("S256",),
    extra: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """An RFC 8414 authorization server metadata document.

    The TypeScript README promised this function (``generateAuthorizationServerMetadata``)
    but no version shipped it; this is a new implementation of what the README described.

    Endpoints default to ``<auth_server_url>/authorize``, ``/token``, ``/userinfo``,
    ``/.well-known/jwks.json`` and ``/register`` (one slash between the parts, even when
    ``auth_server_url`` ends with ``/``); revocation and introspection have no default. Each
    endpoint argument may be:

    * ``None``: the default (or absent, for revocation and introspection);
    * ``False``: the field is left out (for example no dynamic client registration);
    * an absolute URL (``https://...``): used as is;
    * anything else is a path appended under ``auth_server_url``, keeping its path:
      ``"https://as.example/tenant"`` with ``"tokens"`` (or ``"/tokens"``) gives
      ``"https://as.example/tenant/tokens"``.

    ``issuer`` defaults to ``auth_server_url`` exactly as given (clients compare issuers as
    strings). ``scopes`` becomes ``scopes_supported``. ``issuer`` and
    ``response_types_supported`` (required by RFC 8414) are always present. ``extra`` is merged
    last, like ``properties`` in :func:`generate_protected_resource_metadata` (:data:`OMIT`
    removes a key).

    Keys follow the order of RFC 8414 §2, with ``userinfo_endpoint`` after ``token_endpoint``.
    """
    _check_http_url("auth_server_url", auth_server_url)
    issuer_value = auth_server_url if issuer is None else _check_http_url("issuer", issuer)
    if urlsplit(issuer_value).query or urlsplit(issuer_value).fragment:
        raise ValueError(f"issuer {issuer_value!r} must not have a query or fragment (RFC 8414 §2)")
    response_types = _string_list("response_types_supported", response_types_supported)
    if not response_types:
        raise ValueError("response_types_supported is required by RFC 8414 and must not be empty")

    fields: list[tuple[str, Any]] = [
        ("issuer", issuer_value),
        (
            "authorization_endpoint",
            _endpoint("authorization_endpoint", auth_server_url, authorization_endpoint, "authorize"),
        ),
        ("token_endpoint", _endpoint("token_endpoint", auth_server_url, token_endpoint, "token")),
        ("userinfo_endpoint", _endpoint("userinfo_endpoint", auth_server_url, userinfo_endpoint, "userinfo")),
        ("jwks_uri", _endpoint("jwks_uri", auth_server_url, jwks_uri, ".well-known/jwks.json")),
        (
            "registration_endpoint",
            _endpoint("registration_endpoint", auth_server_url, registration_endpoint, "register"),
        ),
        ("scopes_supported", _string_list("scopes", scopes)),
        ("response_types_supported", response_types),
        ("grant_types_supported", _string_list("grant_types_supported", grant_types_supported)),
        (
            "token_endpoint_auth_methods_supported",
            _string_list("token_endpoint_auth_methods_supported", token_endpoint_auth_methods_supported),
        ),
        ("revocation_endpoint", _endpoint("revocation_endpoint", auth_server_url, revocation_endpoint, None)),
        (
            "introspection_endpoint",
            _endpoint("introspection_endpoint", auth_server_url, introspection_endpoint, None),
        ),
        (
            "code_challenge_methods_supported",
            _string_list("code_challenge_methods_supported", code_challenge_methods_supported),
        ),
    ]
    document = {key: value for key, value in fields if value is not None}
    return _merge(document, extra)
