"""RFC 8707 Resource Indicators for OAuth 2.0, done by hand (authlib has no support).

* At the authorization endpoint one or more ``resource`` values name the resource servers
  (MCP servers) the client wants tokens for. Each must be an absolute ``http``/``https``
  URI without a fragment (RFC 8707 §2), and, if the server was given an allow-list, on it.
  The accepted set is bound to the authorization code and, through the grant, to every
  refresh token issued from it.
* At the token endpoint (code exchange and refresh) ``resource`` picks the audience of the
  access token from the granted set; a value that was not granted is ``invalid_target``.
  One audience per token: several ``resource`` values at the token endpoint are refused.

When the authorization request has no ``resource``, the server uses its configured
``default_resource``; without one the request is refused with ``invalid_target``, because
MCP clients are required to send the parameter and a token without a resource audience
would be accepted by no conforming MCP server.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from urllib.parse import urlsplit

from authlib.oauth2.rfc6749 import OAuth2Error

__all__ = ["InvalidTargetError", "check_resource_uri", "select_token_resource"]


class InvalidTargetError(OAuth2Error):  # type: ignore[misc]
    """``invalid_target`` (RFC 8707 §2): the requested resource is invalid or not granted."""

    error = "invalid_target"


def check_resource_uri(value: str, allowed: Collection[str] | None = None) -> str:
    """Validate one ``resource`` value; return it unchanged or raise ``InvalidTargetError``."""
    try:
        parts = urlsplit(value)
    except ValueError:
        raise InvalidTargetError("The 'resource' parameter is not a valid URI.") from None
    if parts.scheme not in ("http", "https") or not parts.netloc or not parts.hostname:
        raise InvalidTargetError("The 'resource' parameter must be an absolute http(s) URI.")
    if parts.fragment or "#" in value:
        raise InvalidTargetError("The 'resource' parameter must not contain a fragment.")
    if allowed is not None and value not in allowed:
        raise InvalidTargetError("The 'resource' is not served by this authorization server.")
    return value


def select_token_resource(requested: Sequence[str], granted: Sequence[str], fallback: str | None) -> str:
    """Choose the access token audience at the token endpoint.

    ``requested`` are the ``resource`` values of the token request, ``granted`` the ones
    bound to the code or refresh token, ``fallback`` the audience to use when the request
    names none (the previous token's, or the only granted one).
    """
    if len(requested) > 1:
        raise InvalidTargetError("Request one 'resource' per access token.")
    if requested:
        if requested[0] not in granted:
            raise InvalidTargetError("The 'resource' was not granted by the resource owner.")
        return requested[0]
    if fallback is not None:
        return fallback
    if len(granted) == 1:
        return granted[0]
    raise InvalidTargetError("Several resources were granted: name one with 'resource'.")
