"""Protected resource metadata, authorization server metadata and the well-known helpers."""

from __future__ import annotations

import copy
import doctest
import json
import pickle
from pathlib import Path

import pytest
from mcp.server.auth.routes import build_resource_metadata_url
from mcp.shared.auth import OAuthMetadata, ProtectedResourceMetadata

from mcp_tools.server import metadata as metadata_module
from mcp_tools.server.metadata import (
    OMIT,
    build_protected_resource_metadata,
    cors_headers,
    generate_authorization_server_metadata,
    generate_protected_resource_metadata,
    protected_resource_metadata_path,
    protected_resource_metadata_url,
)
from mcp_tools.server.resource import ConfigurationError, InvalidResourceURLError

DOCS = Path(__file__).resolve().parents[2] / "docs" / "server-metadata.md"

DEFAULT_KEYS = [
    "resource",
    "authorization_servers",
    "token_types_supported",
    "token_introspection_endpoint",
    "token_introspection_endpoint_auth_methods_supported",
    "jwks_uri",
    "authorization_data_types_supported",
    "authorization_data_locations_supported",
    "key_challenges_supported",
]


# --- generate_protected_resource_metadata (compatibility generator) -------------------------


def test_compat_generator_keys_and_concatenation() -> None:
    doc = generate_protected_resource_metadata("https://as.example/t", "https://api.example/mcp")
    assert list(doc) == DEFAULT_KEYS
    assert doc["authorization_servers"] == ["https://as.example/t"]
    assert doc["token_introspection_endpoint"] == "https://as.example/t/oauth/token"
    assert doc["jwks_uri"] == "https://as.example/t/.well-known/jwks.json"


def test_compat_generator_override_keeps_position_and_appends_new_keys() -> None:
    doc = generate_protected_resource_metadata(
        "https://as.example",
        "https://api.example/mcp",
        {"zeta": 1, "jwks_uri": "https://api.example/jwks", "alpha": 2},
    )
    assert list(doc) == [*DEFAULT_KEYS, "zeta", "alpha"]
    assert doc["jwks_uri"] == "https://api.example/jwks"


def test_compat_generator_omit_removes_and_none_is_null() -> None:
    doc = generate_protected_resource_metadata(
        "https://as.example",
        "https://api.example/mcp",
        {"jwks_uri": OMIT, "token_introspection_endpoint": None, "not_there": OMIT},
    )
    assert "jwks_uri" not in doc
    assert "not_there" not in doc
    assert doc["token_introspection_endpoint"] is None
    assert json.dumps(doc).count("null") == 1


def test_compat_generator_returns_fresh_objects() -> None:
    first = generate_protected_resource_metadata("https://as.example", "https://api.example/mcp")
    first["authorization_servers"].append("https://evil.example")
    first["key_challenges_supported"][0]["challenge_algs"].append("plain")
    second = generate_protected_resource_metadata("https://as.example", "https://api.example/mcp")
    assert second["authorization_servers"] == ["https://as.example"]
    assert second["key_challenges_supported"][0]["challenge_algs"] == ["S256"]


def test_omit_is_a_singleton_that_survives_copy_and_pickle() -> None:
    assert repr(OMIT) == "OMIT"
    assert not OMIT
    assert copy.deepcopy(OMIT) is OMIT
    assert pickle.loads(pickle.dumps(OMIT)) is OMIT
    assert type(OMIT)() is OMIT


# --- cors_headers -------------------------------------------------------------------------


def test_cors_headers_values_and_read_only() -> None:
    assert list(cors_headers.items()) == [
        ("Access-Control-Allow-Origin", "*"),
        ("Access-Control-Allow-Methods", "GET, OPTIONS"),
        ("Access-Control-Allow-Headers", "*"),
        ("Access-Control-Max-Age", "86400"),
    ]
    with pytest.raises(TypeError):
        cors_headers["Access-Control-Allow-Origin"] = "https://evil.example"  # type: ignore[index]


# --- build_protected_resource_metadata (strict RFC 9728) --------------------------------------


def test_strict_builder_minimal_document() -> None:
    doc = build_protected_resource_metadata("https://api.example/mcp", ["https://as.example"])
    assert doc == {
        "resource": "https://api.example/mcp",
        "authorization_servers": ["https://as.example"],
        "bearer_methods_supported": ["header"],
    }


def test_strict_builder_all_fields_in_rfc_order_and_accepted_by_the_sdk_model() -> None:
    doc = build_protected_resource_metadata(
        "https://api.example/mcp",
        ("https://as.example", "https://as2.example/tenant"),
        scopes_supported=["mcp:read", "mcp:write"],
        bearer_methods_supported=["header"],
        resource_name="Example MCP",
        resource_documentation="https://api.example/docs",
        jwks_uri="https://api.example/jwks.json",
        resource_policy_uri="https://api.example/policy",
        resource_tos_uri="https://api.example/tos",
        resource_signing_alg_values_supported=["RS256"],
        tls_client_certificate_bound_access_tokens=False,
        authorization_details_types_supported=["payment"],
        dpop_signing_alg_values_supported=["ES256"],
        dpop_bound_access_tokens_required=False,
    )
    assert list(doc) == list(ProtectedResourceMetadata.model_fields)
    assert doc["tls_client_certificate_bound_access_tokens"] is False
    model = ProtectedResourceMetadata.model_validate(doc)
    assert str(model.resource) == "https://api.example/mcp"


def test_strict_builder_omits_none_and_emits_no_foreign_fields() -> None:
    doc = build_protected_resource_metadata(
        "https://api.example/mcp", ["https://as.example"], bearer_methods_supported=None
    )
    assert doc == {"resource": "https://api.example/mcp", "authorization_servers": ["https://as.example"]}
    assert set(doc) <= set(ProtectedResourceMetadata.model_fields) | {"signed_metadata"}


@pytest.mark.parametrize(
    ("resource", "fragment"),
    [
        ("api.example/mcp", "not an absolute"),
        ("ftp://api.example/mcp", "not an absolute"),
        ("http://api.example/mcp", "uses http"),
        ("https://api.example/mcp?tenant=a", "query string"),
        ("https://api.example/mcp#frag", "fragment"),
        ("https://user:pw@api.example/mcp", "user information"),
        ("", "empty"),
    ],
)
def test_strict_builder_rejects_bad_resource_urls(resource: str, fragment: str) -> None:
    with pytest.raises(InvalidResourceURLError, match=fragment):
        build_protected_resource_metadata(resource, ["https://as.example"])


def test_strict_builder_allows_http_on_loopback() -> None:
    doc = build_protected_resource_metadata("http://127.0.0.1:8000/mcp", ["http://127.0.0.1:9000"])
    assert doc["resource"] == "http://127.0.0.1:8000/mcp"


def test_strict_builder_requires_an_authorization_server_list() -> None:
    with pytest.raises(ValueError, match="at least one"):
        build_protected_resource_metadata("https://api.example/mcp", [])
    with pytest.raises(TypeError, match="not a single string"):
        build_protected_resource_metadata("https://api.example/mcp", "https://as.example")
    with pytest.raises(ValueError, match="not an absolute http"):
        build_protected_resource_metadata("https://api.example/mcp", ["as.example"])
    with pytest.raises(ValueError, match="jwks_uri"):
        build_protected_resource_metadata("https://api.example/mcp", ["https://as.example"], jwks_uri="/jwks")


def test_invalid_resource_url_is_a_value_error() -> None:
    assert issubclass(InvalidResourceURLError, ConfigurationError)
    assert issubclass(InvalidResourceURLError, ValueError)


# --- well-known location ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("resource", "path"),
    [
        ("https://api.example/mcp", "/.well-known/oauth-protected-resource/mcp"),
        ("https://api.example/", "/.well-known/oauth-protected-resource"),
        ("https://api.example", "/.well-known/oauth-protected-resource"),
        ("https://api.example/tenant/a/mcp", "/.well-known/oauth-protected-resource/tenant/a/mcp"),
        ("https://api.example/mcp/", "/.well-known/oauth-protected-resource/mcp/"),
        ("http://127.0.0.1:8000/mcp", "/.well-known/oauth-protected-resource/mcp"),
    ],
)
def test_metadata_path_and_url_agree_with_the_sdk(resource: str, path: str) -> None:
    assert protected_resource_metadata_path(resource) == path
    origin = resource.split("/", 3)
    expected_url = f"{origin[0]}//{origin[2]}{path}"
    assert protected_resource_metadata_url(resource) == expected_url
    assert str(build_resource_metadata_url(resource)) == expected_url  # type: ignore[arg-type]


def test_metadata_path_rejects_a_query() -> None:
    with pytest.raises(InvalidResourceURLError, match="query"):
        protected_resource_metadata_path("https://api.example/mcp?x=1")


# --- generate_authorization_server_metadata (RFC 8414) -------------------------------------------

README_DEFAULT = {
    "issuer": "https://auth.example.com",
    "authorization_endpoint": "https://auth.example.com/authorize",
    "token_endpoint": "https://auth.example.com/token",
    "userinfo_endpoint": "https://auth.example.com/userinfo",
    "jwks_uri": "https://auth.example.com/.well-known/jwks.json",
    "registration_endpoint": "https://auth.example.com/register",
    "scopes_supported": ["email", "profile", "openid"],
    "response_types_supported": ["code"],
    "grant_types_supported": ["authorization_code", "refresh_token"],
    "token_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post", "none"],
    "code_challenge_methods_supported": ["S256"],
}


def test_as_metadata_defaults() -> None:
    doc = generate_authorization_server_metadata(
        "https://auth.example.com", scopes=["email", "profile", "openid"]
    )
    assert json.dumps(doc) == json.dumps(README_DEFAULT)
    OAuthMetadata.model_validate(doc)


def test_as_metadata_trailing_slash_gives_single_slashes_and_keeps_issuer() -> None:
    doc = generate_authorization_server_metadata("https://auth.example.com/")
    assert doc["issuer"] == "https://auth.example.com/"
    assert doc["authorization_endpoint"] == "https://auth.example.com/authorize"
    assert doc["jwks_uri"] == "https://auth.example.com/.well-known/jwks.json"
    assert "scopes_supported" not in doc


def test_as_metadata_relative_overrides_go_under_the_base_path() -> None:
    doc = generate_authorization_server_metadata(
        "https://auth.example.com/tenant",
        authorization_endpoint="foo/bar/authorize",
        token_endpoint="/tokens",
        jwks_uri="https://keys.example.com/jwks",
        revocation_endpoint="revoke",
        introspection_endpoint="introspect",
    )
    assert doc["authorization_endpoint"] == "https://auth.example.com/tenant/foo/bar/authorize"
    assert doc["token_endpoint"] == "https://auth.example.com/tenant/tokens"
    assert doc["jwks_uri"] == "https://keys.example.com/jwks"
    assert doc["revocation_endpoint"] == "https://auth.example.com/tenant/revoke"
    assert doc["introspection_endpoint"] == "https://auth.example.com/tenant/introspect"
    assert list(doc).index("revocation_endpoint") < list(doc).index("code_challenge_methods_supported")
    OAuthMetadata.model_validate(doc)


def test_as_metadata_false_omits_but_required_fields_stay() -> None:
    doc = generate_authorization_server_metadata(
        "https://auth.example.com",
        registration_endpoint=False,
        userinfo_endpoint=False,
        jwks_uri=False,
        authorization_endpoint=False,
        grant_types_supported=None,
    )
    assert list(doc) == [
        "issuer",
        "token_endpoint",
        "response_types_supported",
        "token_endpoint_auth_methods_supported",
        "code_challenge_methods_supported",
    ]


def test_as_metadata_issuer_and_extra() -> None:
    doc = generate_authorization_server_metadata(
        "https://auth.example.com",
        issuer="https://issuer.example.com",
        extra={"service_documentation": "https://auth.example.com/docs", "userinfo_endpoint": OMIT},
    )
    assert doc["issuer"] == "https://issuer.example.com"
    assert "userinfo_endpoint" not in doc
    assert list(doc)[-1] == "service_documentation"


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"response_types_supported": ()}, "response_types_supported"),
        ({"issuer": "https://a.example?x=1"}, "query or fragment"),
        ({"token_endpoint": "//evil.example/token"}, "protocol-relative"),
        ({"token_endpoint": ""}, "token_endpoint"),
        ({"token_endpoint": "ftp://a.example/t"}, "not an absolute http"),
        ({"scopes": "openid"}, "single string"),
    ],
)
def test_as_metadata_rejects_bad_arguments(kwargs: dict[str, object], message: str) -> None:
    with pytest.raises((ValueError, TypeError), match=message):
        generate_authorization_server_metadata("https://auth.example.com", **kwargs)  # type: ignore[arg-type]


def test_as_metadata_requires_an_absolute_auth_server_url() -> None:
    with pytest.raises(ValueError, match="auth_server_url"):
        generate_authorization_server_metadata("auth.example.com")


# --- documentation --------------------------------------------------------------------------------


def test_module_doctests() -> None:
    result = doctest.testmod(metadata_module)
    assert result.attempted >= 5
    assert result.failed == 0


def test_docs_examples_run() -> None:
    result = doctest.testfile(str(DOCS), module_relative=False, optionflags=doctest.ELLIPSIS)
    assert result.attempted >= 10
    assert result.failed == 0
