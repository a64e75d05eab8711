"""The development authorization server as a WSGI application.

:class:`DevAuthorizationServer` wires authlib's framework-free OAuth 2.0 server
(:class:`authlib.oauth2.AuthorizationServer`) to the standard library's WSGI, with the
grants, endpoints and pages of this package:

==========================================  =================================================
``GET /.well-known/oauth-authorization-server``  RFC 8414 metadata (also ``openid-configuration``)
``GET /jwks``                               RFC 7517 public keys
``GET /authorize``                          RFC 6749 §4.1 + RFC 7636 S256 + RFC 8707 + RFC 9207
``GET|POST /interaction/<id>``              login and consent forms
``POST /token``                             authorization_code and refresh_token grants
``POST /register``                          RFC 7591 dynamic client registration
``POST /introspect``                        RFC 7662 token introspection
``POST /revoke``                            RFC 7009 token revocation
==========================================  =================================================

Development only: everything is in memory, any username is accepted, and by default the
server refuses to listen anywhere but on a loopback address (see :mod:`.serving`).
"""

from __future__ import annotations

import base64
import json
import logging
import threading
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any
from urllib.parse import urlsplit

from authlib.common.urls import add_params_to_uri
from authlib.oauth2 import AuthorizationServer
from authlib.oauth2.rfc6749 import OAuth2Error
from authlib.oauth2.rfc9207 import IssuerParameter
from joserfc.jwk import RSAKey

from . import interaction as pages
from .grants import CodeGrant, RotatingRefreshTokenGrant, S256Only
from .interaction import Interactions, Session
from .introspection import IntrospectionEndpoint
from .keys import SigningKey
from .metadata import PATHS, WELL_KNOWN_PATHS, build_metadata
from .models import AccessTokenRecord, RefreshTokenRecord, User
from .registration import RegistrationEndpoint, reject_non_json
from .revocation import RevocationEndpoint
from .serving import RunningServer, serve_app
from .settings import DEFAULT_SCOPES, DEFAULT_USER, Settings
from .store import MemoryStore
from .tokens import AccessTokenGenerator
from .wsgi import (
    BodyTooLarge,
    Headers,
    Request,
    Response,
    json_request,
    json_response,
    oauth2_request,
    read_request,
)

__all__ = ["DevAuthorizationServer", "serve"]

logger = logging.getLogger("mcp_tools.devserver")

StartResponse = Callable[..., Any]

_CORS = [
    ("Access-Control-Allow-Origin", "*"),
    ("Access-Control-Allow-Methods", "GET, POST, OPTIONS"),
    ("Access-Control-Allow-Headers", "Authorization, Content-Type, MCP-Protocol-Version"),
    ("Access-Control-Max-Age", "600"),
]


class _TokenLogRedaction(logging.Filter):
    """authlib logs issued token responses at DEBUG; never let those records through."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not str(record.msg).startswith("Issue token")


for _name in ("authorization_code", "refresh_token"):
    logging.getLogger(f"authlib.oauth2.rfc6749.grants.{_name}").addFilter(_TokenLogRedaction())


def _normalise_issuer(issuer: str) -> str:
    issuer = issuer.rstrip("/")
    parts = urlsplit(issuer)
    if parts.scheme not in ("http", "https") or not parts.hostname or parts.query or parts.fragment:
        raise ValueError(f"issuer must be an http(s) URL without query or fragment, got {issuer!r}")
    return issuer


def _jwt_claims(token: str) -> dict[str, Any]:
    """Claims of a JWT this server just signed (no verification needed)."""
    segment = token.split(".")[1]
    claims: dict[str, Any] = json.loads(base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4)))
    return claims


class _Issuer(IssuerParameter):  # type: ignore[misc]
    """authlib's RFC 9207 extension: ``iss`` on every authorization response redirect."""

    def __init__(self, issuer: str) -> None:
        self._issuer = issuer

    def get_issuer(self) -> str:
        return self._issuer


class _OAuthCore(AuthorizationServer):  # type: ignore[misc]
    """authlib's authorization server bound to this package's store, grants and WSGI seam."""

    def __init__(self, issuer: str, settings: Settings, store: MemoryStore, key: SigningKey) -> None:
        super().__init__(scopes_supported=list(settings.scopes))
        self.issuer = issuer
        self.settings = settings
        self.store = store
        self.key = key
        self.register_token_generator(
            "default",
            AccessTokenGenerator(issuer=issuer, key=key, access_token_ttl=settings.access_token_ttl),
        )
        self.register_grant(CodeGrant, [S256Only(required=True)])
        self.register_grant(RotatingRefreshTokenGrant)
        self.register_endpoint(RegistrationEndpoint(self))
        self.register_endpoint(IntrospectionEndpoint)
        self.register_endpoint(RevocationEndpoint)
        self.register_extension(_Issuer(issuer))

    def metadata(self) -> dict[str, Any]:
        return build_metadata(self.issuer, self.settings.scopes)

    # -- authlib hooks ---------------------------------------------------------------------
    def query_client(self, client_id: str) -> Any:
        return self.store.get_client(client_id)

    def save_token(self, token: dict[str, Any], request: Any) -> None:
        grant = request.grant
        claims = _jwt_claims(token["access_token"])
        self.store.save_access_token(
            token["access_token"],
            AccessTokenRecord(
                grant=grant,
                client_id=request.client.client_id,
                sub=claims["sub"],
                scope=claims.get("scope") or "",
                issued_at=claims["iat"],
                expires_at=claims["exp"],
                jti=claims["jti"],
                audience=request.resource,
            ),
        )
        if "refresh_token" in token:
            now = int(time.time())
            self.store.save_refresh_token(
                token["refresh_token"],
                RefreshTokenRecord(
                    grant=grant,
                    client_id=request.client.client_id,
                    sub=claims["sub"],
                    scope=grant.scope,
                    issued_at=now,
                    expires_at=now + self.settings.refresh_token_ttl,
                    resource=request.resource,
                ),
            )

    def create_oauth2_request(self, request: Any) -> Any:
        return oauth2_request(self.issuer, request)

    def create_json_request(self, request: Any) -> Any:
        return json_request(self.issuer, request)

    def handle_response(self, status: int, body: Any, headers: Iterable[tuple[str, str]]) -> Response:
        if isinstance(body, dict):
            return json_response(status, body, headers)
        return Response(status, str(body or "").encode("utf-8"), list(headers))

    def send_signal(self, name: str, *args: Any, **kwargs: Any) -> None:
        """No signal system here."""


class DevAuthorizationServer:
    """An in-memory OAuth 2.1 authorization server for development and tests (WSGI app).

    :param issuer: the base URL, without trailing slash (one is stripped). ``None`` lets
        :meth:`serve` use the address it binds, e.g. ``http://127.0.0.1:54321``.
    :param scopes: the scopes offered (``offline_access`` is always added). An
        authorization request without ``scope`` gets the client's registered scope, or all
        of these.
    :param auto_approve: skip the login and consent pages: ``/authorize`` redirects at once,
        as ``login_hint`` if given, else as ``default_user``.
    :param default_user: the ``sub`` used by auto-approve.
    :param access_token_ttl: access token lifetime in seconds (short by default, so that
        tests exercise refresh).
    :param refresh_token_ttl: refresh token lifetime in seconds (renewed on rotation).
    :param code_ttl: authorization code lifetime in seconds.
    :param resources: optional allow-list of RFC 8707 resources (MCP server URLs); by
        default any absolute http(s) URI is accepted.
    :param default_resource: the resource used when an authorization request names none;
        without it such requests are refused with ``invalid_target``.
    :param signing_key: an RSA private key (joserfc ``RSAKey`` or PEM); a new one by default.
    """

    def __init__(
        self,
        issuer: str | None = None,
        *,
        scopes: Sequence[str] = DEFAULT_SCOPES,
        auto_approve: bool = False,
        default_user: str = DEFAULT_USER,
        access_token_ttl: int = 300,
        refresh_token_ttl: int = 86400,
        code_ttl: int = 120,
        resources: Sequence[str] | None = None,
        default_resource: str | None = None,
        signing_key: RSAKey | str | bytes | None = None,
    ) -> None:
        self.settings = Settings.build(
            scopes=scopes,
            auto_approve=auto_approve,
            default_user=default_user,
            access_token_ttl=access_token_ttl,
            refresh_token_ttl=refresh_token_ttl,
            code_ttl=code_ttl,
            resources=resources,
            default_resource=default_resource,
        )
        self.store = MemoryStore()
        self.key = SigningKey(signing_key)
        self._interactions = Interactions()
        self._core: _OAuthCore | None = None
        self._bind_lock = threading.Lock()
        if issuer is not None:
            self.bind_issuer(issuer)

    # -- configuration ---------------------------------------------------------------------
    def bind_issuer(self, issuer: str) -> None:
        """Set the issuer once (``serve`` does it when none was given)."""
        normalised = _normalise_issuer(issuer)
        with self._bind_lock:
            if self._core is not None:
                if self._core.issuer != normalised:
                    raise RuntimeError(f"issuer already set to {self._core.issuer!r}")
                return
            self._core = _OAuthCore(normalised, self.settings, self.store, self.key)

    @property
    def issuer_bound(self) -> bool:
        return self._core is not None

    @property
    def core(self) -> _OAuthCore:
        if self._core is None:
            raise RuntimeError("the issuer is not known yet: pass issuer= or call serve()")
        return self._core

    @property
    def issuer(self) -> str:
        """The issuer identifier (base URL without trailing slash)."""
        return self.core.issuer

    @property
    def jwks_uri(self) -> str:
        return self.issuer + PATHS["jwks_uri"]

    @property
    def metadata_url(self) -> str:
        return self.issuer + WELL_KNOWN_PATHS[0]

    def metadata(self) -> dict[str, Any]:
        """The RFC 8414 metadata document."""
        return self.core.metadata()

    def jwks(self) -> dict[str, Any]:
        """The public JWK Set."""
        return self.key.public_jwks()

    def register_client(
        self,
        *,
        redirect_uris: Sequence[str],
        token_endpoint_auth_method: str = "none",
        grant_types: Sequence[str] = ("authorization_code", "refresh_token"),
        scope: str | None = None,
        client_name: str | None = None,
    ) -> dict[str, Any]:
        """Register a client without HTTP (same validation as ``POST /register``).

        Returns the RFC 7591 registration response (``client_id``, and ``client_secret``
        for a confidential client); raises ``ValueError`` with the RFC 7591 error otherwise.
        """
        metadata: dict[str, Any] = {
            "redirect_uris": list(redirect_uris),
            "token_endpoint_auth_method": token_endpoint_auth_method,
            "grant_types": list(grant_types),
            "response_types": ["code"],
        }
        if scope is not None:
            metadata["scope"] = scope
        if client_name is not None:
            metadata["client_name"] = client_name
        headers = Headers([("Content-Type", "application/json")])
        request = Request("POST", PATHS["registration_endpoint"], [], headers, json.dumps(metadata).encode())
        response = self._register(request)
        body: dict[str, Any] = json.loads(response.body)
        if response.status != 201:
            raise ValueError(f"{body.get('error')}: {body.get('error_description', '')}")
        return body

    def serve(
        self,
        host: str = "127.0.0.1",
        port: int = 0,
        *,
        allow_non_loopback: bool = False,
        startup_timeout: float = 5.0,
    ) -> RunningServer[DevAuthorizationServer]:
        """Serve this app with a threaded wsgiref server in a background thread."""
        return serve_app(
            self, host=host, port=port, allow_non_loopback=allow_non_loopback, startup_timeout=startup_timeout
        )

    # -- WSGI ------------------------------------------------------------------------------
    def __call__(self, environ: Mapping[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        try:
            request = read_request(environ)
        except BodyTooLarge:
            response = json_response(413, {"error": "invalid_request", "error_description": "Body too large"})
        else:
            response = self.handle(request)
        start_response(response.status_line, [*response.headers, ("Content-Length", str(len(response.body)))])
        return [response.body]

    def handle(self, request: Request) -> Response:
        """Answer one request (the WSGI-independent entry point)."""
        if self._core is None:
            return json_response(503, {"error": "temporarily_unavailable", "error_description": "No issuer."})
        try:
            return self._route(request)
        except OAuth2Error as error:
            return self.core.handle_error_response(None, error)  # type: ignore[no-any-return]
        except Exception:
            logger.exception("unhandled error on %s %s", request.method, path_of(request))
            return json_response(500, {"error": "server_error"})

    def _route(self, request: Request) -> Response:
        path, method = request.path, request.method
        api: dict[str, Callable[[Request], Response]] = {
            PATHS["token_endpoint"]: lambda r: self.core.create_token_response(r),
            PATHS["registration_endpoint"]: self._register,
            PATHS["introspection_endpoint"]: lambda r: self.core.create_endpoint_response("introspection", r),
            PATHS["revocation_endpoint"]: lambda r: self.core.create_endpoint_response("revocation", r),
        }
        documents: dict[str, Callable[[], dict[str, Any]]] = {p: self.metadata for p in WELL_KNOWN_PATHS}
        documents[PATHS["jwks_uri"]] = self.jwks
        if path in api or path in documents:
            if method == "OPTIONS":
                return Response(204, b"", list(_CORS))
            allowed = "POST" if path in api else "GET"
            if method != allowed and not (allowed == "GET" and method == "HEAD"):
                return _method_not_allowed(f"{allowed}, OPTIONS")
            response = json_response(200, documents[path]()) if path in documents else api[path](request)
            response.headers.extend(_CORS)
            return response
        if path == PATHS["authorization_endpoint"]:
            if method not in ("GET", "HEAD"):
                return _method_not_allowed("GET")
            return self._authorize(request)
        if path.startswith("/interaction/"):
            tx_id = path.removeprefix("/interaction/")
            if method == "GET":
                return self._show_interaction(request, tx_id)
            if method == "POST":
                return self._submit_interaction(request, tx_id)
            return _method_not_allowed("GET, POST")
        if path == "/" and method in ("GET", "HEAD"):
            return self._index()
        return json_response(404, {"error": "not_found"})

    # -- endpoints -------------------------------------------------------------------------
    def _register(self, request: Request) -> Response:
        reject_non_json(request.content_type)
        response: Response = self.core.create_endpoint_response("client_registration", request)
        return response

    def _authorize(self, request: Request) -> Response:
        """``GET /authorize``: validate, then auto-approve or hand over to the pages."""
        core = self.core
        try:
            grant = core.get_consent_grant(request, end_user=None)
        except OAuth2Error as error:
            return self._authorization_error(error)
        params = grant.request.payload.data
        prompt = set((params.get("prompt") or "").split())
        if self.settings.auto_approve:
            user = User(params.get("login_hint") or self.settings.default_user)
            return self._respond(request, grant, user)
        session = self._interactions.session(request)
        if "none" in prompt:
            code = "login_required" if session is None or session.user is None else "consent_required"
            refusal = OAuth2Error(error=code, redirect_uri=grant.redirect_uri, state=params.get("state"))
            return self._authorization_error(refusal)
        cookie: list[tuple[str, str]] = []
        if session is None:
            session = self._interactions.new_session()
            cookie = [("Set-Cookie", self._cookie(session))]
        client = grant.request.client
        tx = self._interactions.start(
            session,
            query=list(request.query),
            client_name=client.client_name,
            redirect_host=urlsplit(grant.redirect_uri).netloc or grant.redirect_uri,
            scope=grant.request.scope or "",
            resources=grant.request.resources,
            force_login="login" in prompt,
        )
        headers = [("Location", f"/interaction/{tx.tx_id}"), ("Cache-Control", "no-store"), *cookie]
        return Response(303, b"", headers)

    def _respond(self, request: Request, grant: Any, user: User | None) -> Response:
        response: Response = self.core.create_authorization_response(request, grant_user=user, grant=grant)
        response.headers.append(("Cache-Control", "no-store"))
        return response

    def _authorization_error(self, error: OAuth2Error) -> Response:
        """Redirect errors to the client (with ``iss``) once its redirect URI is trusted."""
        if error.redirect_uri:
            status, _, headers = error()
            location = dict(headers)["Location"]
            location = add_params_to_uri(location, {"iss": self.issuer})
            return Response(status, b"", [("Location", location), ("Cache-Control", "no-store")])
        return pages.error_page(400, f"{error.error}: {error.description or 'invalid authorization request'}")

    def _show_interaction(self, request: Request, tx_id: str) -> Response:
        session = self._interactions.session(request)
        tx = self._interactions.get(tx_id, session)
        if tx is None or session is None:
            return pages.error_page(400, "This authorization request is unknown or expired; start again.")
        if session.user is None or tx.force_login:
            return pages.login_page(tx, session)
        return pages.consent_page(tx, session)

    def _submit_interaction(self, request: Request, tx_id: str) -> Response:
        session = self._interactions.session(request)
        tx = self._interactions.get(tx_id, session)
        if tx is None or session is None:
            return pages.error_page(400, "This authorization request is unknown or expired; start again.")
        form = dict(reversed(request.form))
        if not self._interactions.csrf_ok(session, form.get("csrf_token")) or not self._same_origin(request):
            return pages.error_page(403, "The form could not be verified (CSRF check failed).")
        action = form.get("action")
        if action == "login":
            username = (form.get("username") or "").strip()
            if not username or len(username) > pages.MAX_USERNAME:
                return pages.login_page(tx, session)
            new = self._interactions.sign_in(session, username)
            tx.force_login = False
            headers = [("Location", f"/interaction/{tx.tx_id}"), ("Set-Cookie", self._cookie(new))]
            return Response(303, b"", headers)
        if session.user is None or tx.force_login:
            return pages.login_page(tx, session)
        if action not in ("approve", "deny"):
            return pages.consent_page(tx, session)
        self._interactions.finish(tx.tx_id)
        original = Request("GET", PATHS["authorization_endpoint"], tx.query, request.headers)
        try:
            grant = self.core.get_consent_grant(original, end_user=None)
        except OAuth2Error as error:
            return self._authorization_error(error)
        return self._respond(original, grant, User(session.user) if action == "approve" else None)

    def _same_origin(self, request: Request) -> bool:
        origin = request.headers.get("origin")
        if not origin or origin == "null":
            return origin is None
        return bool(origin.rstrip("/") == _origin(self.issuer))

    def _cookie(self, session: Session) -> str:
        return pages.session_cookie(session, secure=self.issuer.startswith("https://"))

    def _index(self) -> Response:
        rows = "".join(
            f"<li><code>{name}</code>: <code>{self.issuer}{path}</code></li>" for name, path in PATHS.items()
        )
        body = (
            f"<p>Issuer <code>{self.issuer}</code>. Metadata: "
            f"<code>{self.metadata_url}</code></p><ul>{rows}</ul>"
        )
        return pages.html_page(200, "mcp-tools dev authorization server", body)


def path_of(request: Request) -> str:
    """The request path without ``/interaction/<id>`` identifiers, for logs."""
    return "/interaction/…" if request.path.startswith("/interaction/") else request.path


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


def _method_not_allowed(allow: str) -> Response:
    return json_response(405, {"error": "method_not_allowed"}, [("Allow", allow)])


def serve(
    host: str = "127.0.0.1",
    port: int = 0,
    *,
    allow_non_loopback: bool = False,
    startup_timeout: float = 5.0,
    **options: Any,
) -> RunningServer[DevAuthorizationServer]:
    """Create a :class:`DevAuthorizationServer` from ``options`` and serve it.

    ``options`` are the keyword arguments of :class:`DevAuthorizationServer` (``scopes``,
    ``auto_approve``, ``access_token_ttl`` ...). Use the result as a context manager::

        with serve(auto_approve=True, scopes=["notes:read"]) as running:
            print(running.issuer)
    """
    return DevAuthorizationServer(**options).serve(
        host, port, allow_non_loopback=allow_non_loopback, startup_timeout=startup_timeout
    )
