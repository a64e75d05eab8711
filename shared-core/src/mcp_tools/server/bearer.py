"""Bearer token authentication for MCP endpoints (RFC 6750, with RFC 9728 challenges).

* :func:`parse_authorization_header` extracts the token from ``Authorization: Bearer ...``
  and never raises anything but a :class:`BearerTokenError`.
* :func:`build_www_authenticate` renders a ``WWW-Authenticate: Bearer`` challenge with
  every value quoted and escaped, including ``resource_metadata`` (RFC 9728 §5.1) and
  ``scope`` (read by MCP clients for scope selection and step-up).
* :class:`BearerGuard` runs the whole check on a neutral :class:`~mcp_tools.http.Request`
  and returns an :class:`AuthResult` holding either the verified access token or the error
  :class:`~mcp_tools.http.Response` to send.

Status codes chosen by the guard:

=====================================================  ======  ==========================
Situation                                              Status  ``error`` in the challenge
=====================================================  ======  ==========================
no ``Authorization`` header                            401     (none, RFC 6750 §3.1)
malformed header, other scheme, several headers        401     ``invalid_token``
token in the query string or a form body (see below)   401     ``invalid_request``
token refused by the verifier, expired, other audience 401     ``invalid_token``
required scope missing                                 403     ``insufficient_scope``
verifier unavailable or failing                        503     (no challenge)
=====================================================  ======  ==========================

RFC 6750 would answer a malformed request with 400; this project answers 401 so that a
client always gets a challenge (and the resource metadata URL) it can act on.

Tokens are read from the ``Authorization`` header only (the MCP authorization specification).
A form-encoded ``access_token`` field is refused with ``invalid_request``, found by a fixed
number of substring searches (no parsing, no decoding), so a hostile multi-megabyte body costs
a few memory scans before authentication, never a parse; ``form_body=False`` skips even that
(the MCP endpoint checks the token before it reads the body).

Expiry: the guard rechecks ``AccessToken.expires_at`` with the verifier's own ``leeway`` (one
value: ``JWTVerifier(leeway=30)`` by default), so a token the verifier accepts is never
refused by the guard for being a few seconds late.
"""

from __future__ import annotations

import functools
import logging
import re
import time
import traceback
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from mcp.server.auth.provider import AccessToken, TokenVerifier

from mcp_tools.http import Request, Response, json_response
from mcp_tools.server.metadata import protected_resource_metadata_url

from .verifiers.base import McpTokenVerifier, TokenVerificationUnavailable
from .verifiers.clerk import ClerkTokenVerifier

__all__ = [
    "MAX_AUTHORIZATION_LENGTH",
    "AuthResult",
    "BearerGuard",
    "BearerTokenError",
    "MalformedAuthorization",
    "MissingToken",
    "build_www_authenticate",
    "insufficient_scope_response",
    "mcp_auth_clerk_guard",
    "mcp_auth_guard",
    "parse_authorization_header",
    "service_unavailable_response",
    "unauthorized_response",
]

logger = logging.getLogger("mcp_tools.server.bearer")

#: Longest ``Authorization`` header value accepted (characters).
MAX_AUTHORIZATION_LENGTH = 8192

_B64TOKEN = re.compile(r"[A-Za-z0-9\-._~+/]+=*")

_FORM_CONTENT_TYPE = "application/x-www-form-urlencoded"


def _form_has_access_token(body: bytes) -> bool:
    """Whether a form-encoded ``body`` has a field named exactly ``access_token`` (RFC 6750 §2.2).

    At most five comparisons and substring searches, done in C: no parsing, no decoding, no
    copy of the body, so a hostile body of several megabytes costs a few memory scans
    (``parse_qsl`` over 4 MiB held an event loop for most of a second). Field names are compared as sent; a
    percent-encoded ``access%5Ftoken`` is not looked for (no token is ever taken from a body).
    """
    if body.startswith((b"access_token=", b"access_token&")) or body == b"access_token":
        return True
    return b"&access_token=" in body or b"&access_token&" in body or body.endswith(b"&access_token")


class BearerTokenError(ValueError):
    """The request carries no usable bearer token. The message never contains the token."""


class MissingToken(BearerTokenError):
    """No ``Authorization`` header, or an empty one."""


class MalformedAuthorization(BearerTokenError):
    """An ``Authorization`` header that is not exactly ``Bearer <b64token>``."""


def parse_authorization_header(value: str | None) -> str:
    """The token of an ``Authorization: Bearer <token>`` header value.

    The scheme is case-insensitive; exactly one space separates it from a token matching
    RFC 6750's ``b64token`` (``[A-Za-z0-9-._~+/]+=*``). Surrounding whitespace (not part of
    a field value, RFC 9110 §5.5) is ignored.

    Raises :class:`MissingToken` for ``None`` or an empty value and
    :class:`MalformedAuthorization` for anything else that is not a bearer token (other
    schemes, ``Bearer`` alone, two spaces, extra parts, non-ASCII, over
    :data:`MAX_AUTHORIZATION_LENGTH` characters). Never raises another exception.
    """
    if value is None:
        raise MissingToken("no Authorization header")
    if not isinstance(value, str):
        raise MalformedAuthorization("Authorization header is not text")
    if len(value) > MAX_AUTHORIZATION_LENGTH:
        raise MalformedAuthorization("Authorization header is too long")
    value = value.strip(" \t")
    if not value:
        raise MissingToken("empty Authorization header")
    if not value.isascii():
        raise MalformedAuthorization("Authorization header is not ASCII")
    scheme, sep, token = value.partition(" ")
    if scheme.lower() != "bearer":
        raise MalformedAuthorization("Authorization scheme is not Bearer")
    if not sep or not _B64TOKEN.fullmatch(token):
        raise MalformedAuthorization("expected 'Authorization: Bearer <token>'")
    return token


def _quote(value: str) -> str:
    """An RFC 9110 quoted-string; control characters become spaces, non-ASCII becomes '?'."""
    cleaned = "".join(
        " " if (ord(ch) < 0x20 or ord(ch) == 0x7F) else ("?" if ord(ch) > 0x7E else ch) for ch in value
    )
    return '"' + cleaned.replace("\\", "\\\\").replace('"', '\\"') + '"'


def build_www_authenticate(
    *,
    resource_metadata_url: str,
    scopes: Sequence[str] = (),
    error: str | None = None,
    error_description: str | None = None,
) -> str:
    """A ``WWW-Authenticate`` value: ``Bearer error="...", error_description="...",
    scope="a b", resource_metadata="..."``.

    Parameters appear in that order and only when set (``scope`` only when ``scopes`` is
    not empty). Every value is quoted; backslashes and double quotes are escaped. Leave
    ``error`` unset when the request had no token (RFC 6750 §3.1).
    """
    params: list[str] = []
    if error:
        params.append(f"error={_quote(error)}")
        if error_description:
            params.append(f"error_description={_quote(error_description)}")
    if scopes:
        params.append(f"scope={_quote(' '.join(scopes))}")
    params.append(f"resource_metadata={_quote(resource_metadata_url)}")
    return "Bearer " + ", ".join(params)


def unauthorized_response(
    *,
    resource_metadata_url: str,
    scopes: Sequence[str] = (),
    error: str | None = None,
    error_description: str | None = None,
    body: Mapping[str, Any] | None = None,
) -> Response:
    """A ``401`` with a Bearer challenge and a JSON body.

    The body is ``{"error": <error or "unauthorized">, "error_description": ...}`` unless
    ``body`` is given (an adapter may pass ``{"error": "Unauthorized"}`` for byte parity
    with ``@clerk/mcp-tools``).
    """
    description = error_description or ("Authentication required" if error is None else "Unauthorized")
    challenge = build_www_authenticate(
        resource_metadata_url=resource_metadata_url,
        scopes=scopes,
        error=error,
        error_description=description if error else None,
    )
    payload = (
        dict(body)
        if body is not None
        else {"error": error or "unauthorized", "error_description": description}
    )
    return json_response(payload, status=401, headers=[("WWW-Authenticate", challenge)])


def insufficient_scope_response(
    *,
    resource_metadata_url: str,
    required_scopes: Sequence[str],
    error_description: str | None = None,
) -> Response:
    """A ``403`` with ``error="insufficient_scope"`` and ``scope`` listing ``required_scopes``.

    Per-tool scope step-up uses this: the client re-authorizes for the listed scopes.
    """
    description = error_description or (
        "Required scope: " + " ".join(required_scopes) if required_scopes else "Insufficient scope"
    )
    challenge = build_www_authenticate(
        resource_metadata_url=resource_metadata_url,
        scopes=required_scopes,
        error="insufficient_scope",
        error_description=description,
    )
    return json_response(
        {"error": "insufficient_scope", "error_description": description},
        status=403,
        headers=[("WWW-Authenticate", challenge)],
    )


def service_unavailable_response(
    error_description: str = "Token verification is temporarily unavailable", retry_after: int = 5
) -> Response:
    """A ``503`` for when tokens cannot be verified right now (no challenge: not the client's fault)."""
    return json_response(
        {"error": "temporarily_unavailable", "error_description": error_description},
        status=503,
        headers=[("Retry-After", str(retry_after))],
    )


@dataclass(frozen=True)
class AuthResult:
    """The outcome of :class:`BearerGuard`: exactly one of ``token`` and ``response`` is set."""

    token: AccessToken | None = None
    response: Response | None = None

    def __post_init__(self) -> None:
        if (self.token is None) == (self.response is None):
            raise ValueError("AuthResult needs exactly one of token and response")

    @property
    def ok(self) -> bool:
        return self.token is not None


@functools.lru_cache(maxsize=256)
def _normalise_url(url: str) -> str:
    try:
        parts = urlsplit(url)
        host = (parts.hostname or "").lower()
        port = parts.port
    except ValueError:
        return url.rstrip("/")
    scheme = parts.scheme.lower()
    if port is not None and not ((scheme == "https" and port == 443) or (scheme == "http" and port == 80)):
        host = f"{host}:{port}"
    if ":" in (parts.hostname or "") and not host.startswith("["):
        host = f"[{host}]" if port is None else host
    return urlunsplit((scheme, host, parts.path.rstrip("/"), parts.query, ""))


def _redacted_traceback(exc: BaseException, token: str) -> str:
    text = "".join(traceback.format_exception(type(exc), exc, exc.__traceback__))
    return text.replace(token, "[redacted token]") if token else text


class BearerGuard:
    """Authenticate requests to an MCP endpoint with bearer tokens.

    Args:
        verifier: any MCP SDK ``TokenVerifier``. :meth:`authenticate_sync` uses its
            ``verify_token_sync`` when it has one (all bundled verifiers do).
        resource_url: this MCP endpoint's canonical URL (the RFC 9728 ``resource``).
        resource_metadata_url: URL of its protected resource metadata, advertised in every
            challenge; by default derived from ``resource_url`` (RFC 9728 §3.1).
        required_scopes: scopes every request needs (missing ones give ``403``).
        challenge_scopes: scopes advertised in ``scope`` of the ``401`` challenge;
            default ``required_scopes``.
        check_audience: refuse tokens whose ``AccessToken.resource`` names another resource
            (trailing slashes, case of scheme/host and default ports are not significant).
        clock: current Unix time; injectable for tests.
        leeway: seconds past ``AccessToken.expires_at`` a token is still accepted. By default
            the verifier's own ``leeway`` (``JWTVerifier``: 30, ``IntrospectionVerifier``: 0),
            0 for a verifier that has none: one value for the verifier and the guard.
    """

    def __init__(
        self,
        verifier: TokenVerifier,
        *,
        resource_url: str,
        resource_metadata_url: str | None = None,
        required_scopes: Sequence[str] = (),
        challenge_scopes: Sequence[str] | None = None,
        check_audience: bool = True,
        clock: Callable[[], float] = time.time,
        leeway: float | None = None,
    ) -> None:
        self.verifier = verifier
        if leeway is None:
            leeway = verifier.leeway if isinstance(verifier, McpTokenVerifier) else 0
        if leeway < 0:
            raise ValueError("leeway must not be negative")
        self.leeway = leeway
        # Our verifiers answer a token seen before from their cache without a coroutine or a
        # generator; a token that parsed as an RFC 6750 b64token is already plausible.
        self._cached: Callable[[str], AccessToken | None] | None = (
            verifier.cached_token if isinstance(verifier, McpTokenVerifier) else None
        )
        self.resource_url = resource_url
        self.resource_metadata_url = resource_metadata_url or protected_resource_metadata_url(resource_url)
        self.required_scopes = tuple(required_scopes)
        self.challenge_scopes = (
            tuple(challenge_scopes) if challenge_scopes is not None else self.required_scopes
        )
        self.check_audience = check_audience
        self._clock = clock
        self._resource_key = _normalise_url(resource_url)

    # -- responses ---------------------------------------------------------------------------

    def unauthorized(self, error: str | None = None, error_description: str | None = None) -> AuthResult:
        return AuthResult(
            response=unauthorized_response(
                resource_metadata_url=self.resource_metadata_url,
                scopes=self.challenge_scopes,
                error=error,
                error_description=error_description,
            )
        )

    # -- the checks, split around the verifier call ----------------------------------------------

    def _extract(self, request: Request, form_body: bool = True) -> str | AuthResult:
        in_query = False
        if "?" in request.url:  # parse the query only when there is one
            try:
                in_query = bool(request.query_all("access_token"))
            except ValueError:  # an unparsable URL carries no usable query token
                in_query = False
        if in_query or (form_body and self._token_in_form(request)):
            return self.unauthorized(
                "invalid_request", "Access tokens are accepted only in the Authorization header"
            )
        values = request.headers.get_all("authorization")
        if len(values) > 1:
            return self.unauthorized("invalid_token", "Multiple Authorization headers")
        try:
            return parse_authorization_header(values[0] if values else None)
        except MissingToken:
            return self.unauthorized()
        except BearerTokenError:
            return self.unauthorized("invalid_token", "Malformed Authorization header")

    @staticmethod
    def _token_in_form(request: Request) -> bool:
        content_type = request.headers.get("content-type", "")
        if content_type.split(";", 1)[0].strip().lower() != _FORM_CONTENT_TYPE:
            return False
        return _form_has_access_token(request.body)

    def _unavailable(self, exc: BaseException, token: str) -> AuthResult:
        if isinstance(exc, TokenVerificationUnavailable):
            logger.warning("token verification unavailable: %s", str(exc).replace(token, "[redacted token]"))
        else:
            logger.error(
                "token verifier %s failed unexpectedly:\n%s",
                type(self.verifier).__name__,
                _redacted_traceback(exc, token),
            )
        return AuthResult(response=service_unavailable_response())

    def _check(self, access: AccessToken | None, required_scopes: Sequence[str] | None) -> AuthResult:
        if access is None:
            return self.unauthorized("invalid_token", "Invalid or expired access token")
        if access.expires_at is not None and access.expires_at <= self._clock() - self.leeway:
            return self.unauthorized("invalid_token", "Access token expired")
        if (
            self.check_audience
            and access.resource is not None
            and _normalise_url(access.resource) != self._resource_key
        ):
            return self.unauthorized("invalid_token", "Access token was not issued for this resource")
        required = self.required_scopes if required_scopes is None else required_scopes
        granted = access.scopes  # a short list: membership tests beat building a set
        for scope in required:
            if scope not in granted:
                return AuthResult(
                    response=insufficient_scope_response(
                        resource_metadata_url=self.resource_metadata_url, required_scopes=tuple(required)
                    )
                )
        return AuthResult(token=access)

    # -- entry points --------------------------------------------------------------------------

    def authenticate_sync(
        self, request: Request, required_scopes: Sequence[str] | None = None, *, form_body: bool = True
    ) -> AuthResult:
        """Check ``request`` from synchronous code. ``required_scopes`` overrides the guard's;
        ``form_body=False`` leaves the body alone (no form-encoded token is looked for)."""
        token = self._extract(request, form_body)
        if isinstance(token, AuthResult):
            return token
        try:
            access = self._cached(token) if self._cached is not None else None
            if access is None:
                access = self._verify_blocking(token)
        except Exception as exc:
            return self._unavailable(exc, token)
        return self._check(access, required_scopes)

    def _verify_blocking(self, token: str) -> AccessToken | None:
        verify_sync = getattr(self.verifier, "verify_token_sync", None)
        if verify_sync is not None:
            return verify_sync(token)  # type: ignore[no-any-return]
        import anyio

        return anyio.run(self.verifier.verify_token, token)

    async def authenticate(
        self, request: Request, required_scopes: Sequence[str] | None = None, *, form_body: bool = True
    ) -> AuthResult:
        """Check ``request`` from async code; arguments as for :meth:`authenticate_sync`."""
        token = self._extract(request, form_body)
        if isinstance(token, AuthResult):
            return token
        try:
            access = self._cached(token) if self._cached is not None else None
            if access is None:
                access = await self.verifier.verify_token(token)
        except Exception as exc:
            return self._unavailable(exc, token)
        return self._check(access, required_scopes)


def mcp_auth_guard(
    verifier: TokenVerifier,
    *,
    resource_url: str,
    scopes: Sequence[str] = (),
    resource_metadata_url: str | None = None,
) -> BearerGuard:
    """The guard behind each adapter's ``mcp_auth`` (the TS ``mcpAuth``): the bearer token must
    be accepted by ``verifier`` for ``resource_url`` and hold ``scopes`` (401/403 otherwise)."""
    return BearerGuard(
        verifier,
        resource_url=resource_url,
        resource_metadata_url=resource_metadata_url,
        required_scopes=scopes,
    )


def mcp_auth_clerk_guard(
    *,
    resource_url: str,
    scopes: Sequence[str] = (),
    secret_key: str | None = None,
    publishable_key: str | None = None,
) -> BearerGuard:
    """The guard behind each adapter's ``mcp_auth_clerk``: :func:`mcp_auth_guard` with a
    :class:`~mcp_tools.server.verifiers.clerk.ClerkTokenVerifier` (``CLERK_SECRET_KEY`` /
    ``CLERK_PUBLISHABLE_KEY`` from the environment by default)."""
    verifier = ClerkTokenVerifier(
        secret_key=secret_key, publishable_key=publishable_key, audience=resource_url
    )
    return mcp_auth_guard(verifier, resource_url=resource_url, scopes=scopes)
