"""RFC 7591 OAuth 2.0 Dynamic Client Registration (open: no initial access token).

authlib's :class:`~authlib.oauth2.rfc7591.ClientRegistrationEndpoint` validates the client
metadata against the server metadata (scopes, grant and response types, authentication
methods). This subclass adds what it leaves open:

* the body must be a JSON object, and JSON ``null`` values are refused with
  ``invalid_client_metadata`` (a client must omit an optional field, not null it);
* ``redirect_uris`` is required and each must be an ``https`` URI, an ``http`` URI on a
  loopback host (RFC 8252 §7.3), or a private-use scheme with a dot (RFC 8252 §7.1),
  without fragment; otherwise ``invalid_redirect_uri``;
* defaults are filled in and echoed (RFC 7591 §2): ``grant_types``
  ``["authorization_code"]``, ``response_types`` ``["code"]``,
  ``token_endpoint_auth_method`` ``client_secret_basic``;
* a ``client_secret`` is generated only for confidential clients: a client registering
  ``token_endpoint_auth_method=none`` is public and gets none;
* ``application_type`` (``web`` or ``native``, sent by MCP clients) is accepted and echoed.

No RFC 7592 management: the response has no ``registration_access_token``.
"""

from __future__ import annotations

import ipaddress
from typing import Any, ClassVar
from urllib.parse import urlsplit

from authlib.oauth2.rfc6749 import InvalidRequestError
from authlib.oauth2.rfc7591 import ClientMetadataClaims, ClientRegistrationEndpoint
from authlib.oauth2.rfc7591.errors import InvalidClientMetadataError, InvalidRedirectURIError
from joserfc.errors import InvalidClaimError

from .models import Client, digest

__all__ = ["RegistrationEndpoint", "is_loopback_host"]

_LIST_FIELDS = ("redirect_uris", "grant_types", "response_types", "contacts")
_STRING_FIELDS = (
    "client_name",
    "client_uri",
    "logo_uri",
    "scope",
    "tos_uri",
    "policy_uri",
    "jwks_uri",
    "software_id",
    "software_version",
    "token_endpoint_auth_method",
    "application_type",
)


_Triple = tuple[int, dict[str, Any], list[tuple[str, str]]]


def is_loopback_host(host: str | None) -> bool:
    """``localhost`` or a loopback IP literal (``127.0.0.0/8``, ``::1``)."""
    if not host:
        return False
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def _check_redirect_uri(uri: str) -> None:
    try:
        parts = urlsplit(uri)
    except ValueError:
        raise InvalidRedirectURIError(f"Invalid redirect URI {uri!r}.") from None
    if parts.fragment or "#" in uri:
        raise InvalidRedirectURIError("Redirect URIs must not contain a fragment.")
    scheme = parts.scheme.lower()
    if scheme == "https" and parts.hostname:
        return
    if scheme == "http" and parts.hostname:
        if is_loopback_host(parts.hostname):
            return
        raise InvalidRedirectURIError("http redirect URIs are only allowed on loopback hosts; use https.")
    if scheme and "." in scheme and scheme not in ("http", "https") and (parts.path or parts.netloc):
        return  # RFC 8252 §7.1 private-use URI scheme of a native app, e.g. com.example.app:/cb
    raise InvalidRedirectURIError(
        f"Redirect URI {uri!r} must be https, loopback http or a private-use scheme."
    )


class _ClientMetadata(ClientMetadataClaims):  # type: ignore[misc]
    REGISTERED_CLAIMS: ClassVar[list[str]] = [*ClientMetadataClaims.REGISTERED_CLAIMS, "application_type"]

    def validate_redirect_uris(self) -> None:
        """Checked by :func:`_check_redirect_uri` (which also admits private-use schemes)."""

    def validate(self, now: Any = None, leeway: int = 0) -> None:
        super().validate(now, leeway)
        if self.get("application_type") not in (None, "web", "native"):
            raise InvalidClaimError("application_type")


class RegistrationEndpoint(ClientRegistrationEndpoint):  # type: ignore[misc]
    """Open dynamic client registration backed by the server's in-memory store."""

    def __init__(self, server: Any) -> None:
        super().__init__(server, claims_classes=[_ClientMetadata])

    def authenticate_token(self, request: Any) -> bool:
        return True  # open registration: no initial access token (RFC 7591 §3)

    def get_server_metadata(self) -> dict[str, Any]:
        metadata: dict[str, Any] = self.server.metadata()
        return metadata

    def create_registration_response(self, request: Any) -> _Triple:
        data = request.payload.data
        if not isinstance(data, dict):
            raise InvalidClientMetadataError("The registration request body must be a JSON object.")
        for key, value in data.items():
            if value is None:
                raise InvalidClientMetadataError(f"'{key}' must be omitted rather than null.")
        for key in _LIST_FIELDS:
            if key in data and (
                not isinstance(data[key], list) or not all(isinstance(v, str) and v for v in data[key])
            ):
                raise InvalidClientMetadataError(f"'{key}' must be an array of non-empty strings.")
        for key in _STRING_FIELDS:
            if key in data and not isinstance(data[key], str):
                raise InvalidClientMetadataError(f"'{key}' must be a string.")
        uris = data.get("redirect_uris") or []
        if not uris:
            raise InvalidRedirectURIError("'redirect_uris' is required for the authorization code grant.")
        for uri in uris:
            _check_redirect_uri(uri)
        result: _Triple = super().create_registration_response(request)
        return result

    def extract_client_metadata(self, request: Any) -> dict[str, Any]:
        metadata: dict[str, Any] = super().extract_client_metadata(request)
        metadata.setdefault("grant_types", ["authorization_code"])
        metadata.setdefault("response_types", ["code"])
        metadata.setdefault("token_endpoint_auth_method", "client_secret_basic")
        if "authorization_code" not in metadata["grant_types"]:
            raise InvalidClientMetadataError("'grant_types' must include 'authorization_code'.")
        if "code" not in metadata["response_types"]:
            raise InvalidClientMetadataError("'response_types' must include 'code'.")
        return metadata

    def generate_client_info(self, request: Any) -> dict[str, Any]:
        info: dict[str, Any] = super().generate_client_info(request)
        if request.payload.data.get("token_endpoint_auth_method") == "none":
            info.pop("client_secret", None)
            info.pop("client_secret_expires_at", None)
        return info

    def save_client(
        self, client_info: dict[str, Any], client_metadata: dict[str, Any], request: Any
    ) -> Client:
        secret = client_info.get("client_secret")
        client = Client(
            client_id=client_info["client_id"],
            redirect_uris=tuple(client_metadata["redirect_uris"]),
            token_endpoint_auth_method=client_metadata["token_endpoint_auth_method"],
            grant_types=tuple(client_metadata["grant_types"]),
            response_types=tuple(client_metadata["response_types"]),
            scope=client_metadata.get("scope") or None,
            metadata=dict(client_metadata),
            secret_digest=digest(secret) if secret else None,
            issued_at=client_info["client_id_issued_at"],
        )
        self.server.store.add_client(client)
        return client


def reject_non_json(content_type: str) -> None:
    """Refuse a registration body that is not ``application/json``."""
    if content_type.split(";")[0].strip().lower() != "application/json":
        raise InvalidRequestError("The registration request must be sent as application/json.")
