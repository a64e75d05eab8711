"""OAuth 2.0 grants: authorization code (RFC 6749 §4.1) with PKCE (RFC 7636) and refresh (§6).

Both subclass authlib's grants and add what an MCP authorization server needs:

* **PKCE S256 at the authorization endpoint, for every client.** authlib's
  :class:`~authlib.oauth2.rfc7636.CodeChallenge` only insists on a verifier at the token
  endpoint, and only for public clients; here an authorization request without
  ``code_challenge``, or with a method other than ``S256`` (``plain`` included, and the
  RFC 7636 default of ``plain`` when the method is omitted), is refused with
  ``invalid_request``, redirected to the client.
* **RFC 8707 resources** (:mod:`mcp_tools.devserver.resource`): validated at the
  authorization endpoint, bound to the code and the refresh token, checked at the token
  endpoint and issued as the JWT ``aud``.
* **One-time codes** (a second redemption revokes the grant) and **refresh-token rotation
  with reuse detection** (a rotated token presented again revokes the grant), both
  atomic in :class:`~mcp_tools.devserver.store.MemoryStore`. The checks that can fail
  (client, resource, scope, PKCE verifier) run before the credential is consumed.
"""

from __future__ import annotations

import time
from typing import Any, ClassVar

from authlib.oauth2.rfc6749 import InvalidGrantError, InvalidRequestError, InvalidScopeError, OAuth2Error
from authlib.oauth2.rfc6749.grants import AuthorizationCodeGrant, RefreshTokenGrant
from authlib.oauth2.rfc7636 import CodeChallenge
from authlib.oauth2.rfc7636.challenge import CODE_VERIFIER_PATTERN, compare_s256_code_challenge

from .models import AuthorizationCode, RefreshTokenRecord, User, digest
from .resource import InvalidTargetError, check_resource_uri, select_token_resource
from .settings import OFFLINE_ACCESS
from .tokens import token_audience

__all__ = ["CodeGrant", "RotatingRefreshTokenGrant", "S256Only"]

#: Client authentication methods accepted at the token endpoint (each client uses its own).
TOKEN_AUTH_METHODS = ["client_secret_basic", "client_secret_post", "none"]


class S256Only(CodeChallenge):  # type: ignore[misc]
    """authlib's PKCE extension restricted to ``S256`` (OAuth 2.1 drops ``plain``)."""

    SUPPORTED_CODE_CHALLENGE_METHOD: ClassVar[list[str]] = ["S256"]
    DEFAULT_CODE_CHALLENGE_METHOD = "S256"


def _unique(values: list[str]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(values))


class _AudienceMixin:
    """Generate tokens with the resource selected for this request as ``aud``."""

    request: Any
    server: Any

    def generate_token(self, **kwargs: Any) -> dict[str, Any]:
        with token_audience(self.request.resource):
            token: dict[str, Any] = super().generate_token(**kwargs)  # type: ignore[misc]
        return token


class CodeGrant(_AudienceMixin, AuthorizationCodeGrant):  # type: ignore[misc]
    """The authorization code grant with mandatory S256 PKCE and bound resources."""

    TOKEN_ENDPOINT_AUTH_METHODS = TOKEN_AUTH_METHODS

    # -- authorization endpoint --------------------------------------------------------------
    def validate_authorization_request(self) -> str:
        redirect_uri: str = super().validate_authorization_request()
        try:
            self._default_scope()
            self._require_s256()
            self.request.resources = self._requested_resources()
        except OAuth2Error as error:
            error.redirect_uri = redirect_uri
            raise
        return redirect_uri

    def _default_scope(self) -> None:
        """No ``scope`` requested: the client's registered scope, else every offered scope."""
        request = self.request
        if request.scope:
            return
        if request.payload.scope:
            raise InvalidScopeError("None of the requested scopes is allowed for this client.")
        offered = [s for s in self.server.settings.scopes if s != OFFLINE_ACCESS]
        request.scope = request.client.scope or " ".join(offered)

    def _require_s256(self) -> None:
        data = self.request.payload.data
        if not data.get("code_challenge"):
            raise InvalidRequestError(
                "PKCE is required: send 'code_challenge' with 'code_challenge_method=S256'."
            )
        if data.get("code_challenge_method") != "S256":
            raise InvalidRequestError("Only 'code_challenge_method=S256' is supported.")

    def _requested_resources(self) -> tuple[str, ...]:
        settings = self.server.settings
        values = [v for v in self.request.payload.datalist.get("resource", []) if v is not None]
        if not values:
            if settings.default_resource is None:
                raise InvalidTargetError(
                    "The 'resource' parameter (RFC 8707) is required: name the MCP server's URL."
                )
            values = [settings.default_resource]
        return _unique([check_resource_uri(v, settings.resources) for v in values])

    def save_authorization_code(self, code: str, request: Any) -> None:
        store = self.server.store
        grant = store.new_grant(
            client_id=request.client.client_id,
            sub=request.user.sub,
            scope=request.scope or "",
            resources=request.resources,
        )
        store.save_code(
            AuthorizationCode(
                code_digest=digest(code),
                grant=grant,
                client_id=request.client.client_id,
                redirect_uri=request.payload.redirect_uri or "",
                scope=request.scope or "",
                code_challenge=request.payload.data["code_challenge"],
                code_challenge_method="S256",
                expires_at=time.time() + self.server.settings.code_ttl,
            )
        )

    # -- token endpoint ----------------------------------------------------------------------
    def query_authorization_code(self, code: str, client: Any) -> AuthorizationCode | None:
        payload = self.request.payload
        requested = [v for v in payload.datalist.get("resource", []) if v is not None]
        verifier = self.request.form.get("code_verifier")
        selected: list[str] = []

        def check(record: AuthorizationCode) -> None:
            redirect_uri = payload.redirect_uri
            if record.redirect_uri and redirect_uri != record.redirect_uri:
                raise InvalidGrantError("Invalid 'redirect_uri' in request.")
            if not verifier:
                raise InvalidRequestError("Missing 'code_verifier'.")
            if not CODE_VERIFIER_PATTERN.match(verifier):
                raise InvalidRequestError("Invalid 'code_verifier'.")
            if not compare_s256_code_challenge(verifier, record.code_challenge):
                raise InvalidGrantError("PKCE verification failed: wrong 'code_verifier'.")
            selected.append(select_token_resource(requested, record.grant.resources, None))

        claim = self.server.store.claim_code(code, client.client_id, check)
        if claim.replayed:
            raise InvalidGrantError("The authorization code was already used; its tokens are revoked.")
        record = claim.record
        if isinstance(record, AuthorizationCode):
            self.request.resource = selected[0]
            self.request.grant = record.grant
            return record
        return None

    def delete_authorization_code(self, authorization_code: AuthorizationCode) -> None:
        """Nothing to do: the code was consumed when it was claimed."""

    def authenticate_user(self, authorization_code: AuthorizationCode) -> User:
        return User(authorization_code.grant.sub)


class RotatingRefreshTokenGrant(_AudienceMixin, RefreshTokenGrant):  # type: ignore[misc]
    """The refresh grant: a new refresh token on every use, reuse revokes the grant."""

    TOKEN_ENDPOINT_AUTH_METHODS = TOKEN_AUTH_METHODS
    INCLUDE_NEW_REFRESH_TOKEN = True

    def authenticate_refresh_token(self, refresh_token: str) -> RefreshTokenRecord | None:
        payload = self.request.payload
        requested = [v for v in payload.datalist.get("resource", []) if v is not None]
        scope = payload.scope
        selected: list[str] = []

        def check(record: RefreshTokenRecord) -> None:
            if scope and not set(scope.split()) <= set(record.scope.split()):
                raise InvalidScopeError("The requested scope exceeds the one granted.")
            selected.append(select_token_resource(requested, record.grant.resources, record.resource))

        claim = self.server.store.claim_refresh_token(refresh_token, self.request.client.client_id, check)
        if claim.replayed:
            raise InvalidGrantError("Refresh token reuse detected: the grant is revoked.")
        record = claim.record
        if isinstance(record, RefreshTokenRecord):
            self.request.resource = selected[0]
            self.request.grant = record.grant
            return record
        return None

    def authenticate_user(self, refresh_token: RefreshTokenRecord) -> User:
        return User(refresh_token.sub)

    def revoke_old_credential(self, refresh_token: RefreshTokenRecord) -> None:
        """Nothing to do: the old token was marked used when it was claimed."""
