"""Every field of :class:`~mcp_tools.options.McpOptions`, set to a non-default value, and a check
that each one took effect in a built :class:`~mcp_tools.server.resource_server.McpResourceServer`.

Each adapter's test sets :func:`sample_values` through its native configuration (Flask
``app.config["MCP_TOOLS_<NAME>"]``, Django ``settings.MCP_TOOLS["<NAME>"]``, FastAPI keywords),
builds the app, and calls :func:`assert_took_effect` on the resource server it built. A new
option without a sample here fails :func:`test_every_option_has_a_sample`.
"""

from __future__ import annotations

from typing import Any

from mcp.server.mcpserver import MCPServer
from mcp.server.streamable_http import EventStore

from mcp_tools.server.resource_server import McpResourceServer
from mcp_tools.server.scopes import ToolScopes
from mcp_tools.server.verifiers.jwt import JWTVerifier

RESOURCE = "https://mcp.example.com/api/mcp"
ISSUER = "https://auth.example.com"


class SampleEventStore(EventStore):
    """An event store that is never used: only its identity is checked."""

    async def store_event(self, stream_id: Any, message: Any) -> Any:  # pragma: no cover
        raise NotImplementedError

    async def replay_events_after(self, last_event_id: Any, send_callback: Any) -> Any:  # pragma: no cover
        raise NotImplementedError


SERVER = MCPServer("options-sample")
VERIFIER = JWTVerifier(issuer=ISSUER, audience=RESOURCE, jwks_uri=f"{ISSUER}/jwks.json")
TOOL_SCOPES = ToolScopes({"write_note": ["notes:write"]})
EVENT_STORE = SampleEventStore()
AS_METADATA = {"issuer": ISSUER, "authorization_endpoint": f"{ISSUER}/authorize"}


def _host_rule(host: str) -> bool:
    return host == "mcp.example.com"


def sample_values() -> dict[str, Any]:
    """A non-default value for every option, keyed by flat name (objects, not strings)."""
    return {
        "server": SERVER,
        "resource_url": RESOURCE,
        "authorization_servers": [ISSUER],
        "verifier": VERIFIER,
        "jwks_uri": f"{ISSUER}/other-jwks.json",
        "scopes": ["mcp:read"],
        "scopes_supported": ["mcp:read", "notes:write", "extra"],
        "tool_scopes": TOOL_SCOPES,
        "mcp_path": "/api/mcp",
        "resource_name": "Sample",
        "resource_documentation": "https://mcp.example.com/docs",
        "authorization_server_metadata": AS_METADATA,
        "allowed_hosts": ["mcp.example.com", "proxy.internal:*"],
        "allowed_origins": ["https://app.example.com"],
        "stateless": False,
        "json_response": False,
        "event_store": EVENT_STORE,
        "max_request_body_size": 12345,
        "session_idle_timeout": 77.0,
        "max_sessions": 9,
        "retry_interval": 1500,
        "max_streams_per_principal": 3,
        "max_sessions_per_principal": 5,
        "wsgi_response_timeout": 33.0,
        "wsgi_body_timeout": 7.5,
        "wsgi_startup_timeout": 4.5,
        "wsgi_inline": False,
        "wsgi_dispatch": False,
        "wsgi_max_streams": 6,
    }


def assert_took_effect(rs: McpResourceServer, values: dict[str, Any] | None = None) -> None:
    """Every value of ``values`` (default :func:`sample_values`) reached the runtime objects."""
    values = sample_values() if values is None else values
    options = rs.options
    for name, value in values.items():
        got = options.get(name)
        expected = list(value) if isinstance(value, list | tuple) else value
        got = list(got) if isinstance(got, list | tuple) else got
        assert got == expected, f"option {name}: {got!r} != {expected!r}"
    endpoint = rs.endpoint
    manager = endpoint._session_manager_for(SERVER)  # what the SDK is given
    checks = {
        "server": lambda v: endpoint.server_source is v,
        "resource_url": lambda v: rs.resource_url == v and rs.document["resource"] == v,
        "authorization_servers": lambda v: rs.document["authorization_servers"] == list(v),
        "verifier": lambda v: rs.guard.verifier is v,
        # an explicit verifier wins over the built-in one's JWKS
        "jwks_uri": lambda v: (
            rs.guard.verifier is values["verifier"]
            if "verifier" in values
            else rs.guard.verifier._core.keys.jwks_uri == v
        ),
        "scopes": lambda v: list(rs.guard.required_scopes) == list(v),
        "scopes_supported": lambda v: rs.document["scopes_supported"] == list(v),
        "tool_scopes": lambda v: endpoint.tool_scopes is v,
        "mcp_path": lambda v: rs.mcp_path == v,
        "resource_name": lambda v: rs.document["resource_name"] == v,
        "resource_documentation": lambda v: rs.document["resource_documentation"] == v,
        "authorization_server_metadata": lambda v: (
            rs.authorization_server_metadata is v or rs.authorization_server_metadata == v
        ),
        "allowed_hosts": lambda v: (
            all(rs.policy.host_allowed(h.replace(":*", ":8443")) for h in v)
            and not rs.policy.host_allowed("evil.example.net")
        ),
        "allowed_origins": lambda v: (
            all(rs.policy.origin_allowed(o) for o in v)
            and not rs.policy.origin_allowed("https://evil.example.net")
        ),
        "stateless": lambda v: endpoint.stateless is v and manager.stateless is v,
        "json_response": lambda v: endpoint.json_response is v and manager.json_response is v,
        "event_store": lambda v: manager.event_store is v,
        "max_request_body_size": lambda v: manager.max_request_body_size == v,
        "session_idle_timeout": lambda v: manager.session_idle_timeout == v,
        "max_sessions": lambda v: manager.max_sessions == v,
        "retry_interval": lambda v: manager.retry_interval == v,
        "max_streams_per_principal": lambda v: endpoint.limits.max_streams_per_principal == v,
        "max_sessions_per_principal": lambda v: endpoint.limits.max_sessions_per_principal == v,
        "wsgi_response_timeout": lambda v: rs.wsgi_endpoint().bridge.response_timeout == v,
        "wsgi_body_timeout": lambda v: rs.wsgi_endpoint().body_timeout == v,
        "wsgi_startup_timeout": lambda v: rs.wsgi_endpoint().bridge.startup_timeout == v,
        "wsgi_inline": lambda v: rs.wsgi_endpoint().inline is v,
        "wsgi_dispatch": lambda v: rs.options.wsgi.dispatch is v,
        "wsgi_max_streams": lambda v: (
            rs.wsgi_endpoint().max_streams == v and endpoint.limits.max_streams == v
        ),
    }
    for name, value in values.items():
        assert checks[name](value), f"option {name}={value!r} did not take effect"
