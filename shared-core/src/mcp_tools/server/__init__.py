"""The resource-server side of mcp-tools (framework-neutral).

Metadata documents (RFC 9728, RFC 8414, Clerk), CORS headers, token verifiers for the MCP SDK,
the RFC 6750 bearer challenge, and the MCP endpoint core the framework adapters serve.
Names mirror ``@clerk/mcp-tools/server`` in snake_case.
"""

from __future__ import annotations

from mcp_tools.server.bearer import (
    AuthResult,
    BearerGuard,
    BearerTokenError,
    MalformedAuthorization,
    MissingToken,
    build_www_authenticate,
    insufficient_scope_response,
    parse_authorization_header,
    unauthorized_response,
)
from mcp_tools.server.clerk_metadata import (
    ClerkMetadataError,
    InvalidPublishableKeyError,
    afetch_clerk_authorization_server_metadata,
    agenerate_clerk_authorization_server_metadata,
    derive_clerk_frontend_api_url,
    fetch_clerk_authorization_server_metadata,
    generate_clerk_authorization_server_metadata,
    generate_clerk_protected_resource_metadata,
)
from mcp_tools.server.endpoint import McpEndpoint
from mcp_tools.server.metadata import (
    OMIT,
    build_protected_resource_metadata,
    cors_headers,
    generate_authorization_server_metadata,
    generate_protected_resource_metadata,
    protected_resource_metadata_path,
    protected_resource_metadata_url,
)
from mcp_tools.server.origin import HostOriginPolicy
from mcp_tools.server.resource import (
    ConfigurationError,
    InvalidResourceURLError,
    resolve_resource_url,
    validate_resource_url,
)
from mcp_tools.server.resource_server import ClerkAuthorizationServerMetadata, McpResourceServer
from mcp_tools.server.scopes import InsufficientScopeError, ToolScopes
from mcp_tools.server.verifiers import (
    ClerkAuthInfo,
    ClerkTokenVerifier,
    IntrospectionVerifier,
    JWTVerifier,
    McpTokenVerifier,
    TokenVerificationUnavailable,
    verify_clerk_token,
)

__all__ = [
    "OMIT",
    "AuthResult",
    "BearerGuard",
    "BearerTokenError",
    "ClerkAuthInfo",
    "ClerkAuthorizationServerMetadata",
    "ClerkMetadataError",
    "ClerkTokenVerifier",
    "ConfigurationError",
    "HostOriginPolicy",
    "InsufficientScopeError",
    "IntrospectionVerifier",
    "InvalidPublishableKeyError",
    "InvalidResourceURLError",
    "JWTVerifier",
    "MalformedAuthorization",
    "McpEndpoint",
    "McpResourceServer",
    "McpTokenVerifier",
    "MissingToken",
    "TokenVerificationUnavailable",
    "ToolScopes",
    "afetch_clerk_authorization_server_metadata",
    "agenerate_clerk_authorization_server_metadata",
    "build_protected_resource_metadata",
    "build_www_authenticate",
    "cors_headers",
    "derive_clerk_frontend_api_url",
    "fetch_clerk_authorization_server_metadata",
    "generate_authorization_server_metadata",
    "generate_clerk_authorization_server_metadata",
    "generate_clerk_protected_resource_metadata",
    "generate_protected_resource_metadata",
    "insufficient_scope_response",
    "parse_authorization_header",
    "protected_resource_metadata_path",
    "protected_resource_metadata_url",
    "resolve_resource_url",
    "unauthorized_response",
    "validate_resource_url",
    "verify_clerk_token",
]
