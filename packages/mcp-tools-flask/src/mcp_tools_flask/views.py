"""Converters, the MCP view, the bearer decorator and the TS-named view factories for Flask.

Everything here is glue: requests become :class:`mcp_tools.http.Request`, core responses
(and the WSGI bridge's streaming :class:`~mcp_tools.server.wsgi_bridge.BridgeResponse`)
become :class:`flask.Response`; the checks themselves live in ``mcp_tools``.
"""

from __future__ import annotations

import functools
import inspect
import logging
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any, TypeVar, cast

from flask import Response as FlaskResponse
from flask import g, request
from mcp.server.auth.provider import AccessToken
from werkzeug.exceptions import RequestEntityTooLarge
from werkzeug.local import LocalProxy

from mcp_tools.asgi import body_too_large_response
from mcp_tools.http import Headers, Request, Response
from mcp_tools.server import handlers
from mcp_tools.server.bearer import AuthResult, BearerGuard
from mcp_tools.server.endpoint import ServerSource
from mcp_tools.server.resource_server import (
    McpResourceServer,
)
from mcp_tools.server.verifiers.base import McpTokenVerifier
from mcp_tools.server.verifiers.clerk import ClerkTokenVerifier
from mcp_tools.server.wsgi import WsgiMcpEndpoint, unsupported_server_response
from mcp_tools.server.wsgi_bridge import BridgeResponse, UnsupportedServerError

__all__ = [
    "MCP_METHODS",
    "McpView",
    "auth_server_metadata_handler_clerk",
    "current_token",
    "get_current_token",
    "mcp_auth",
    "mcp_auth_clerk",
    "metadata_cors_options_handler",
    "protect_view",
    "protected_resource_handler",
    "protected_resource_handler_clerk",
    "streamable_http_handler",
    "to_core_request",
    "to_flask_response",
]

logger = logging.getLogger("mcp_tools_flask")

F = TypeVar("F", bound=Callable[..., Any])
View = Callable[..., FlaskResponse]

#: Methods routed to the MCP view; the core answers the unsupported ones with a JSON 405.
MCP_METHODS = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS")
_TOKEN_KEY = "_mcp_tools_token"
_FORM = "application/x-www-form-urlencoded"


# -- converters --------------------------------------------------------------------------------


def to_core_request(*, include_body: bool = True) -> Request:
    """The current Flask request as a core :class:`~mcp_tools.http.Request`.

    With ``include_body=False`` the body is read only for form-encoded requests (where the
    bearer rules look for a forbidden ``access_token`` field), so protecting an upload view
    does not load the upload twice.
    """
    body = b""
    if include_body or (request.mimetype == _FORM):
        body = request.get_data(cache=True)
    return Request(
        method=request.method, url=request.url, headers=Headers(request.headers.items()), body=body
    )


def to_flask_response(response: Response | BridgeResponse) -> FlaskResponse:
    """A Flask response for a core response or a streaming bridge response.

    A :class:`BridgeResponse` is handed to the WSGI server as the body iterator itself
    (``direct_passthrough``): chunks are written as the SDK sends them, and the server's
    ``close()`` reaches the bridge, which disconnects and cancels an unfinished exchange.
    """
    headers = list(response.headers)
    if isinstance(response, BridgeResponse):
        native = FlaskResponse(response, status=response.status, headers=headers, direct_passthrough=True)
    else:
        headers = [(k, v) for k, v in headers if k.lower() != "content-length"]
        native = FlaskResponse(response.body, status=response.status, headers=headers)
    if not any(k.lower() == "content-type" for k, _ in headers):
        del native.headers["Content-Type"]  # no default text/html on empty answers
    return native


# -- the MCP endpoint as a view ------------------------------------------------------------------


class McpView:
    """The protected MCP endpoint as a Flask view (``GET|POST|DELETE|OPTIONS``).

    Checks run in the worker thread (Origin/Host, method, size, bearer token and per-tool
    scopes); the SDK then answers through the process's WSGI bridge. ``methods`` and
    ``provide_automatic_options`` are read by :meth:`flask.Flask.add_url_rule`.
    """

    methods = MCP_METHODS
    provide_automatic_options = False

    def __init__(self, wsgi_endpoint: WsgiMcpEndpoint, name: str = "mcp") -> None:
        self.wsgi_endpoint = wsgi_endpoint
        self.__name__ = name

    def __call__(self, **_view_args: Any) -> FlaskResponse:
        limit = self.wsgi_endpoint.endpoint.max_request_body_size
        if (request.content_length or 0) > limit:
            return to_flask_response(body_too_large_response(limit))
        request.max_content_length = limit  # also bounds bodies sent without Content-Length
        try:
            core = to_core_request()
        except RequestEntityTooLarge:
            return to_flask_response(body_too_large_response(limit))
        try:
            return to_flask_response(self.wsgi_endpoint.handle(request.environ, core))
        except UnsupportedServerError as exc:
            # A deployment error (e.g. stateful sessions on gunicorn's sync worker): say so
            # in the log, not to the client.
            return to_flask_response(unsupported_server_response(exc))

    def start(self) -> None:
        """Start the bridge's event-loop thread now rather than on the first request."""
        self.wsgi_endpoint.start()

    def shutdown(self, timeout: float = 5.0) -> None:
        """Stop the bridge's event-loop thread (in-flight MCP requests are cancelled)."""
        self.wsgi_endpoint.shutdown(timeout)


# -- bearer protection for ordinary views ---------------------------------------------------------


def get_current_token() -> AccessToken | None:
    """The verified access token of this request, or ``None`` outside a protected view."""
    return cast("AccessToken | None", g.get(_TOKEN_KEY))


def _required_token() -> AccessToken:
    token = get_current_token()
    if token is None:
        raise RuntimeError("no verified access token: the view is not protected by require_auth/mcp_auth")
    return token


current_token: AccessToken = LocalProxy(_required_token)  # type: ignore[assignment]
"""The verified :class:`~mcp.server.auth.provider.AccessToken` of the current protected view
(falsy outside one; attribute access there raises ``RuntimeError``)."""


def protect_view(view: F, guard: Callable[[], BearerGuard], scopes: Callable[[], Sequence[str] | None]) -> F:
    """Wrap ``view`` so it runs only with a valid bearer token (sync and async views).

    ``guard`` and ``scopes`` are called per request, so the guard may come from the app the
    request belongs to. Refusals are the core's 401/403/503 JSON answers with their challenge.
    """

    def refused(result: AuthResult) -> FlaskResponse | None:
        if result.response is not None:
            return to_flask_response(result.response)
        setattr(g, _TOKEN_KEY, result.token)
        return None

    if inspect.iscoroutinefunction(view):

        @functools.wraps(view)
        async def async_wrapper(*args: Any, **kwargs: Any) -> Any:
            core = to_core_request(include_body=False)
            answer = refused(await guard().authenticate(core, required_scopes=scopes()))
            return answer if answer is not None else await view(*args, **kwargs)

        return cast("F", async_wrapper)

    @functools.wraps(view)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        core = to_core_request(include_body=False)
        answer = refused(guard().authenticate_sync(core, required_scopes=scopes()))
        return answer if answer is not None else view(*args, **kwargs)

    return cast("F", wrapper)


def mcp_auth(
    verifier: McpTokenVerifier,
    *,
    resource_url: str,
    scopes: Sequence[str] = (),
    resource_metadata_url: str | None = None,
) -> Callable[[F], F]:
    """A view decorator: the bearer token must be valid for ``resource_url`` and hold ``scopes``.

    ``@app.get("/me")`` / ``@mcp_auth(verifier, resource_url=...)`` / ``def me(): return
    current_token.subject``. Failures answer 401 (RFC 6750/9728 challenge) or 403
    ``insufficient_scope``.
    """
    guard = BearerGuard(
        verifier,
        resource_url=resource_url,
        resource_metadata_url=resource_metadata_url,
        required_scopes=list(scopes),
    )
    return lambda view: protect_view(view, lambda: guard, lambda: None)


def mcp_auth_clerk(
    *,
    resource_url: str,
    scopes: Sequence[str] = (),
    secret_key: str | None = None,
    publishable_key: str | None = None,
) -> Callable[[F], F]:
    """:func:`mcp_auth` with :class:`~mcp_tools.server.verifiers.clerk.ClerkTokenVerifier`
    (``CLERK_SECRET_KEY`` / ``CLERK_PUBLISHABLE_KEY`` from the environment by default)."""
    verifier = ClerkTokenVerifier(
        secret_key=secret_key, publishable_key=publishable_key, audience=resource_url
    )
    return mcp_auth(verifier, resource_url=resource_url, scopes=scopes)


# -- TS-named view factories ----------------------------------------------------------------------


def _named(view: View, name: str, methods: Sequence[str] = ("GET", "HEAD", "OPTIONS")) -> View:
    """Give a factory-made view what ``add_url_rule`` reads: endpoint name and methods.

    The view answers ``OPTIONS`` itself, so Flask's automatic one is turned off.
    """
    view.__name__ = name
    setattr(view, "methods", tuple(methods))  # noqa: B010 - attributes Flask reads
    setattr(view, "provide_automatic_options", False)  # noqa: B010
    return view


def _wrap(
    handler: Callable[[Request], Response], name: str, methods: Sequence[str] = ("GET", "HEAD", "OPTIONS")
) -> View:
    def view(**_: Any) -> FlaskResponse:
        return to_flask_response(handler(to_core_request(include_body=False)))

    return _named(view, name, methods)


def protected_resource_handler(
    auth_server_url: str,
    properties: Mapping[str, Any] | None = None,
    *,
    resource_url: str | None = None,
    trust_proxy: bool = False,
    mcp_path: str = "/mcp",
) -> View:
    """A view returning TS-compatible protected resource metadata (``GET`` and ``OPTIONS``);
    see :func:`mcp_tools.server.handlers.protected_resource_handler`."""
    handler = handlers.protected_resource_handler(
        auth_server_url, properties, resource_url=resource_url, trust_proxy=trust_proxy, mcp_path=mcp_path
    )
    return _wrap(handler, "protected_resource_handler")


def protected_resource_handler_clerk(
    properties: Mapping[str, Any] | None = None,
    *,
    publishable_key: str | None = None,
    resource_url: str | None = None,
    trust_proxy: bool = False,
    mcp_path: str = "/mcp",
    env_var: str = "CLERK_PUBLISHABLE_KEY",
) -> View:
    """As :func:`protected_resource_handler`, with the Clerk instance as authorization server
    (key read when the view is created); see the core handler of the same name."""
    handler = handlers.protected_resource_handler_clerk(
        properties,
        publishable_key=publishable_key,
        resource_url=resource_url,
        trust_proxy=trust_proxy,
        mcp_path=mcp_path,
        env_var=env_var,
    )
    return _wrap(handler, "protected_resource_handler_clerk")


def auth_server_metadata_handler_clerk(
    publishable_key: str | None = None, *, env_var: str = "CLERK_PUBLISHABLE_KEY", cache_ttl: float = 300.0
) -> View:
    """A view proxying the Clerk instance's RFC 8414 metadata (cached; 502 when unavailable)."""
    handler = handlers.auth_server_metadata_handler_clerk(
        publishable_key, env_var=env_var, cache_ttl=cache_ttl
    )
    return _wrap(handler, "auth_server_metadata_handler_clerk")


def metadata_cors_options_handler() -> View:
    """A view for ``OPTIONS`` on metadata routes: 200 with the TS package's CORS headers."""
    return _wrap(handlers.metadata_cors_options_handler(), "metadata_cors_options_handler", ("OPTIONS",))


def streamable_http_handler(
    server: ServerSource,
    *,
    verifier: McpTokenVerifier,
    resource_url: str,
    authorization_servers: Sequence[str],
    scopes: Sequence[str] = (),
    tool_scopes: Mapping[str, Iterable[str]] | None = None,
    stateless: bool = True,
    json_response: bool = True,
) -> McpView:
    """The protected MCP endpoint alone, as a view for hand-wired routes.

    ``app.add_url_rule("/mcp", view_func=streamable_http_handler(...))`` (the view carries its
    ``methods``); call ``.shutdown()`` on it to stop its event-loop thread before exit.
    """
    resource_server = McpResourceServer(
        server,
        verifier=verifier,
        resource_url=resource_url,
        authorization_servers=authorization_servers,
        scopes=scopes,
        tool_scopes=tool_scopes,
        stateless=stateless,
        json_response=json_response,
    )
    return McpView(WsgiMcpEndpoint(resource_server.endpoint), name="streamable_http_handler")
