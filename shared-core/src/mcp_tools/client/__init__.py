"""Connect a web app to OAuth-protected MCP servers, across requests and processes.

The Python counterpart of ``@clerk/mcp-tools/client``: a user pastes an MCP URL, the app
discovers the server's authorization server, registers itself, redirects the user to consent,
finishes in a later request (possibly in another process), keeps the tokens in a persistent
store, refreshes them, and calls MCP tools on the user's behalf. See ``docs/client.md``.

Sync (Django, Flask) and async (FastAPI) forms share one implementation::

    client = create_dynamically_registered_mcp_client(
        mcp_endpoint=url, oauth_redirect_url="https://app.example.com/oauth/callback",
        mcp_client_name="My App", mcp_client_version="1.0", store=store)
    # redirect to client.authorization_url; keep client.browser_binding in a signed cookie
    ...
    client = complete_auth_with_code(state=..., code=..., iss=..., store=store, browser_binding=...)
    ...
    client = get_client_by_session_id(session_id=sid, store=store)
    result = client.call_tool_sync("read_notes")          # or: async with client.connect() as mcp
"""

from __future__ import annotations

from .api import (
    DEFAULT_STATE_TTL,
    McpClient,
    acomplete_auth_with_code,
    acreate_dynamically_registered_mcp_client,
    acreate_known_credentials_mcp_client,
    aget_client_by_session_id,
    complete_auth_with_code,
    create_dynamically_registered_mcp_client,
    create_known_credentials_mcp_client,
    get_client_by_session_id,
)
from .auth import McpBearerAuth
from .callback import (
    BINDING_COOKIE,
    CallbackOutcome,
    ahandle_oauth_callback,
    authorization_redirect,
    binding_cookie,
    error_response,
    handle_oauth_callback,
    read_browser_binding,
    sign_browser_binding,
    store_error_response,
    verify_browser_binding,
)
from .errors import (
    AuthorizationFailed,
    AuthorizationRequired,
    BrowserMismatch,
    ConsentDenied,
    InsufficientScope,
    InvalidMetadata,
    InvalidState,
    IssuerMismatch,
    McpClientError,
    MetadataIssuerMismatch,
    NetworkError,
    PkceNotSupported,
    ResourceMismatch,
    ResponseTooLarge,
    ServerMisconfigured,
    SessionNotFound,
    TokenRequestFailed,
    UnsafeUrl,
)
from .guard import DEFAULT_GUARD, UrlGuard
from .params import (
    CompleteAuthWithCodeParams,
    CreateDynamicallyRegisteredMcpClientParams,
    CreateKnownCredentialsMcpClientParams,
    GetClientBySessionIdParams,
    RegistrationOptions,
)
from .record import PendingAuth, SessionRecord

__all__ = [
    "BINDING_COOKIE",
    "DEFAULT_GUARD",
    "DEFAULT_STATE_TTL",
    "AuthorizationFailed",
    "AuthorizationRequired",
    "BrowserMismatch",
    "CallbackOutcome",
    "CompleteAuthWithCodeParams",
    "ConsentDenied",
    "CreateDynamicallyRegisteredMcpClientParams",
    "CreateKnownCredentialsMcpClientParams",
    "GetClientBySessionIdParams",
    "InsufficientScope",
    "InvalidMetadata",
    "InvalidState",
    "IssuerMismatch",
    "McpBearerAuth",
    "McpClient",
    "McpClientError",
    "MetadataIssuerMismatch",
    "NetworkError",
    "PendingAuth",
    "PkceNotSupported",
    "RegistrationOptions",
    "ResourceMismatch",
    "ResponseTooLarge",
    "ServerMisconfigured",
    "SessionNotFound",
    "SessionRecord",
    "TokenRequestFailed",
    "UnsafeUrl",
    "UrlGuard",
    "acomplete_auth_with_code",
    "acreate_dynamically_registered_mcp_client",
    "acreate_known_credentials_mcp_client",
    "aget_client_by_session_id",
    "ahandle_oauth_callback",
    "authorization_redirect",
    "binding_cookie",
    "complete_auth_with_code",
    "create_dynamically_registered_mcp_client",
    "create_known_credentials_mcp_client",
    "error_response",
    "get_client_by_session_id",
    "handle_oauth_callback",
    "read_browser_binding",
    "sign_browser_binding",
    "store_error_response",
    "verify_browser_binding",
]
