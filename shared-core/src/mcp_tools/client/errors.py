"""Errors of the OAuth client flow: each says what happened and what the application should do.

Every error derives from :class:`McpClientError` and carries a stable ``code`` (for logs, metrics
and views) and, where one is known, the ``session_id``. Messages never contain tokens, client
secrets, PKCE verifiers or authorization codes.

================================  =========================================================
Error                             Typical cause and what to do
================================  =========================================================
:class:`AuthorizationRequired`    no usable grant (never authorized, refresh refused,
                                  revoked): send the user through
                                  :meth:`McpClient.start_authorization` again
:class:`InsufficientScope`        the server wants more scopes (403): re-authorize with
                                  ``exc.scope`` (``start_authorization`` does it)
:class:`ConsentDenied`            the user declined at the authorization server
:class:`InvalidState`             unknown, expired or replayed ``state``; subclasses
                                  :class:`BrowserMismatch` and :class:`IssuerMismatch`
:class:`ServerMisconfigured`      discovery documents missing or unusable; subclasses
                                  :class:`InvalidMetadata`, :class:`ResponseTooLarge`,
                                  :class:`MetadataIssuerMismatch`, :class:`ResourceMismatch`,
                                  :class:`PkceNotSupported`
:class:`AuthorizationFailed`      the authorization server answered the redirect with an
                                  OAuth error other than ``access_denied``
:class:`UnsafeUrl`                a URL failed the SSRF guard (scheme, private address...)
:class:`NetworkError`             connection refused, DNS failure or timeout
:class:`TokenRequestFailed`       the token endpoint refused the code or refresh token
:class:`SessionNotFound`          no ``session_<id>`` record in the store
================================  =========================================================
"""

from __future__ import annotations

__all__ = [
    "AuthorizationFailed",
    "AuthorizationRequired",
    "BrowserMismatch",
    "ConsentDenied",
    "InsufficientScope",
    "InvalidMetadata",
    "InvalidState",
    "IssuerMismatch",
    "McpClientError",
    "MetadataIssuerMismatch",
    "NetworkError",
    "PkceNotSupported",
    "ResourceMismatch",
    "ResponseTooLarge",
    "ServerMisconfigured",
    "SessionNotFound",
    "TokenRequestFailed",
    "UnsafeUrl",
]


class McpClientError(Exception):
    """Base class of every client-flow error. ``code`` is a stable machine-readable name."""

    code = "mcp_client_error"

    def __init__(self, message: str, *, session_id: str | None = None) -> None:
        super().__init__(message)
        self.session_id = session_id


class AuthorizationRequired(McpClientError):
    """The session has no usable access token; the user must (re-)authorize.

    Raised by :meth:`McpClient.connect` and by MCP calls instead of redirecting: the web view
    catches it and redirects to a fresh :meth:`McpClient.start_authorization` URL. ``reason`` is
    ``"not_authorized"``, ``"refresh_failed"``, ``"invalid_token"`` or ``"insufficient_scope"``.
    """

    code = "authorization_required"

    def __init__(
        self, message: str, *, session_id: str | None = None, reason: str = "not_authorized"
    ) -> None:
        super().__init__(message, session_id=session_id)
        self.reason = reason


class InsufficientScope(AuthorizationRequired):
    """The MCP server answered 403 ``insufficient_scope``; ``scope`` is what it asked for."""

    code = "insufficient_scope"

    def __init__(self, message: str, *, session_id: str | None = None, scope: str | None = None) -> None:
        super().__init__(message, session_id=session_id, reason="insufficient_scope")
        self.scope = scope


class ConsentDenied(McpClientError):
    """The authorization server reported ``error=access_denied``: the user did not consent."""

    code = "consent_denied"


class InvalidState(McpClientError):
    """The callback's ``state`` is unknown, expired or already used (a replay): nothing was done."""

    code = "invalid_state"


class BrowserMismatch(InvalidState):
    """The callback came from a browser other than the one that started the flow (login CSRF)."""

    code = "browser_mismatch"


class IssuerMismatch(InvalidState):
    """RFC 9207: the callback's ``iss`` is not the authorization server the user was sent to."""

    code = "issuer_mismatch"


class ServerMisconfigured(McpClientError):
    """The MCP server or its authorization server published something unusable.

    ``url`` names the document or endpoint at fault when known.
    """

    code = "server_misconfigured"

    def __init__(self, message: str, *, session_id: str | None = None, url: str | None = None) -> None:
        super().__init__(message, session_id=session_id)
        self.url = url


class InvalidMetadata(ServerMisconfigured):
    """A metadata document (or token/registration response) is not the JSON object it must be."""

    code = "invalid_metadata"


class ResponseTooLarge(ServerMisconfigured):
    """A response exceeded the guard's ``max_response_bytes``; reading stopped there."""

    code = "response_too_large"


class MetadataIssuerMismatch(ServerMisconfigured):
    """Authorization server metadata names an ``issuer`` other than the one it was fetched for."""

    code = "metadata_issuer_mismatch"


class ResourceMismatch(ServerMisconfigured):
    """Protected resource metadata describes a ``resource`` other than the MCP endpoint (RFC 9728 3.3)."""

    code = "resource_mismatch"


class PkceNotSupported(ServerMisconfigured):
    """The authorization server does not advertise PKCE with S256, so the flow refuses to proceed."""

    code = "pkce_not_supported"


class _OAuthErrorCode(McpClientError):
    """An error answered by the authorization server; ``error`` is its OAuth error code."""

    def __init__(self, message: str, *, session_id: str | None = None, error: str | None = None) -> None:
        super().__init__(message, session_id=session_id)
        self.error = error


class AuthorizationFailed(_OAuthErrorCode):
    """The authorization server redirected back with an OAuth ``error`` (not ``access_denied``)."""

    code = "authorization_failed"


class UnsafeUrl(McpClientError):
    """A URL given by a user or a remote server was refused by the SSRF guard."""

    code = "unsafe_url"

    def __init__(self, message: str, *, url: str) -> None:
        super().__init__(message)
        self.url = url


class NetworkError(McpClientError):
    """A server could not be reached in time (refused, DNS failure, timeout). Retry later."""

    code = "network_error"


class TokenRequestFailed(_OAuthErrorCode):
    """The token endpoint refused a request; ``error`` is its OAuth error code (``invalid_grant``...)."""

    code = "token_request_failed"


class SessionNotFound(McpClientError):
    """There is no session record for this id (never created, or deleted)."""

    code = "session_not_found"
