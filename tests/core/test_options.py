"""McpOptions: flat names, loading of settings given as strings, and every option applied by the core."""

from __future__ import annotations

from typing import Any

import pytest

from mcp_tools.options import McpOptions, flat_fields
from mcp_tools.server.resource import ConfigurationError
from mcp_tools.server.resource_server import McpResourceServer
from tests.contract.options import SERVER, VERIFIER, assert_took_effect, sample_values


def test_every_option_has_a_sample() -> None:
    assert set(sample_values()) == set(flat_fields())


def test_the_core_applies_every_option() -> None:
    values = sample_values()
    assert_took_effect(McpResourceServer(McpOptions.from_values(values)), values)
    assert_took_effect(McpResourceServer(values.pop("server"), **values))


def test_flat_names_are_unique_and_groups_prefixed() -> None:
    names = flat_fields()
    assert names["stateless"].group == "transport"
    assert names["wsgi_inline"].field == "inline"
    assert all(field.doc for field in names.values())


def test_strings_are_loaded() -> None:
    options = McpOptions.from_values(
        {
            "server": "tests.contract.options:SERVER",
            "resource_url": "https://mcp.example.com/mcp",
            "authorization_servers": "https://auth.example.com",
            "verifier": {
                "CLASS": "mcp_tools.server.verifiers.jwt:JWTVerifier",
                "OPTIONS": {"jwks_uri": "https://auth.example.com/jwks"},
            },
            "scopes": "mcp:read mcp:write",
        }
    )
    assert options.server is SERVER
    assert list(options.authorization_servers) == ["https://auth.example.com"]
    assert list(options.scopes) == ["mcp:read", "mcp:write"]
    verifier: Any = options.verifier
    assert verifier.audiences == ("https://mcp.example.com/mcp",)  # filled from resource_url
    assert verifier.issuer == "https://auth.example.com"


def test_unknown_and_missing_names_are_refused_with_the_users_spelling() -> None:
    spell = lambda name: f"MCP_TOOLS[{name.upper()!r}]"  # noqa: E731
    with pytest.raises(ConfigurationError, match="MCP_TOOLS\\['STATELES'\\]"):
        McpOptions.from_values({"stateles": True}, describe=spell)
    with pytest.raises(ConfigurationError, match="MCP_TOOLS\\['RESOURCE_URL'\\] is required"):
        McpOptions.from_values({"server": SERVER, "authorization_servers": ["https://a"]}, describe=spell)
    with pytest.raises(ConfigurationError, match="verifier"):
        McpOptions.from_values(
            {"server": SERVER, "resource_url": "https://m/mcp", "authorization_servers": ["https://a"]}
        )
    with pytest.raises(ConfigurationError, match=r"MCP_TOOLS\['SERVER'\] is invalid: No module"):
        McpOptions.from_values(
            {
                "server": "no.such.module:thing",
                "resource_url": "https://m/mcp",
                "authorization_servers": "https://a",
            },
            describe=spell,
        )


def test_overrides_replace_fields_of_a_base() -> None:
    base = McpOptions(
        server=SERVER,
        verifier=VERIFIER,
        resource_url="https://m.example/mcp",
        authorization_servers=["https://a"],
    )
    changed = McpOptions.from_values({"stateless": False, "wsgi_inline": False}, base=base)
    assert changed.transport.stateless is False
    assert changed.wsgi.inline is False
    assert base.transport.stateless is True  # frozen: the base is unchanged
    rs = McpResourceServer(base, max_request_body_size=10)
    assert rs.endpoint.max_request_body_size == 10


def test_jwks_uri_builds_the_jwt_verifier_for_this_resource() -> None:
    values = sample_values()
    del values["verifier"]
    rs = McpResourceServer(McpOptions.from_values(values))
    assert_took_effect(rs, values)
    verifier: Any = rs.guard.verifier
    assert verifier.audiences == (values["resource_url"],)
    assert verifier.issuer == values["authorization_servers"][0]


def test_host_and_origin_lists_given_as_strings_are_split_and_predicates_kept() -> None:
    values = sample_values()
    values["allowed_hosts"] = "mcp.example.com proxy.internal:*"
    values["allowed_origins"] = "https://app.example.com"
    options = McpOptions.from_values(values)
    assert list(options.allowed_hosts or ()) == ["mcp.example.com", "proxy.internal:*"]
    assert list(options.allowed_origins or ()) == ["https://app.example.com"]
    rule = McpOptions.from_values({**values, "allowed_hosts": lambda host: host == "x"}).allowed_hosts
    rs = McpResourceServer(McpOptions.from_values({**values, "allowed_hosts": rule}))
    assert rs.policy.host_allowed("x")
    assert not rs.policy.host_allowed("mcp.example.com")
