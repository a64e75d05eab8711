"""Converters, the MCP view, the bearer decorators and the TS-named views for Flask.

Glue only: Flask requests become :class:`mcp_tools.http.Request`, core responses (and the WSGI
bridge's streaming ones) become :class:`flask.Response`; the checks live in ``mcp_tools``.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any, ParamSpec, Protocol, TypeVar, cast

from flask import Response as FlaskResponse
from flask import g, request
from mcp.server.auth.provider import AccessToken
from werkzeug.local import LocalProxy

from mcp_tools.http import Headers, Request, Response
from mcp_tools.options import McpOptions
from mcp_tools.server import bearer, handlers
from mcp_tools.server.bearer import AuthResult, BearerGuard
from mcp_tools.server.endpoint import ServerSource
from mcp_tools.server.handlers import CoreHandler
from mcp_tools.server.resource_server import McpResourceServer
from mcp_tools.server.wsgi import WsgiMcpEndpoint

if TYPE_CHECKING:
    from mcp_tools.server.wsgi import BridgeResponse

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

F = TypeVar("F", bound=Callable[..., Any])
_P = ParamSpec("_P")
View = Callable[..., FlaskResponse]

#: Methods routed to the MCP view; the core answers the unsupported ones with a JSON 405.
MCP_METHODS = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS")
_METADATA_METHODS = ("GET", "HEAD", "OPTIONS")
_TOKEN_KEY = "_mcp_tools_token"


def to_core_request(*, include_body: bool = True) -> Request:
    """The current Flask request as a core :class:`~mcp_tools.http.Request`.

    With ``include_body=False`` only a form body is read (the bearer rules refuse an
    ``access_token`` field there), so protecting an upload view does not load the upload.
    """
    read = include_body or request.mimetype == "application/x-www-form-urlencoded"
    body = request.get_data(cache=True) if read else b""
    return Request(request.method, request.url, Headers(request.headers.items()), body)


def to_flask_response(response: Response | BridgeResponse) -> FlaskResponse:
    """A Flask response for a core response or a streaming bridge response (handed to the WSGI
    server as the body iterator, so its ``close()`` reaches the bridge and cancels the SDK)."""
    headers = list(response.headers)
    if isinstance(response, Response):
        headers = [(k, v) for k, v in headers if k.lower() != "content-length"]
        native = FlaskResponse(response.body, status=response.status, headers=headers)
    else:
        native = FlaskResponse(response, status=response.status, headers=headers, direct_passthrough=True)
    if not any(k.lower() == "content-type" for k, _ in headers):
        del native.headers["Content-Type"]  # no default text/html on empty answers
    return native


def _named(view: View, name: str, methods: Sequence[str] = _METADATA_METHODS) -> View:
    """Give ``view`` what ``add_url_rule`` reads: endpoint name, methods, no automatic OPTIONS."""
    view.__name__ = name
    setattr(view, "methods", tuple(methods))  # noqa: B010 - attributes Flask reads
    setattr(view, "provide_automatic_options", False)  # noqa: B010
    return view


def view_of(handler: CoreHandler, name: str, methods: Sequence[str] = _METADATA_METHODS) -> View:
    """A neutral handler as a Flask view (the body is read only for form posts)."""

    def view(**_: Any) -> FlaskResponse:
        return to_flask_response(handler(to_core_request(include_body=False)))

    return _named(view, name, methods)


class McpView:
    """The protected MCP endpoint as a Flask view: the endpoint reads the body (bounded),
    checks the request and serves it through the WSGI bridge. Used when the MCP path is not
    dispatched ahead of Flask (``wsgi_dispatch=False``) and by :func:`streamable_http_handler`."""

    methods = MCP_METHODS
    provide_automatic_options = False

    def __init__(self, wsgi_endpoint: WsgiMcpEndpoint, name: str = "mcp") -> None:
        self.wsgi_endpoint = wsgi_endpoint
        self.__name__ = name

    def __call__(self, **_: Any) -> FlaskResponse:
        return to_flask_response(self.wsgi_endpoint.serve(request.environ))

    def start(self) -> None:
        """Start the bridge's event-loop thread now rather than on the first request."""
        self.wsgi_endpoint.start()

    def shutdown(self, timeout: float = 5.0) -> None:
        """Stop the bridge's event-loop thread (in-flight MCP requests are cancelled)."""
        self.wsgi_endpoint.shutdown(timeout)


def streamable_http_handler(options_or_server: McpOptions | ServerSource, /, **overrides: Any) -> McpView:
    """The protected MCP endpoint alone, as a view for hand-wired routes (options as for
    :func:`~mcp_tools_flask.create_mcp_blueprint`): ``app.add_url_rule("/mcp",
    view_func=streamable_http_handler(mcp, verifier=..., resource_url=..., authorization_servers=[...]))``.
    Call ``.shutdown()`` on it to stop its event-loop thread."""
    wsgi_endpoint = McpResourceServer(options_or_server, **overrides).wsgi_endpoint()
    return McpView(wsgi_endpoint, name="streamable_http_handler")


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


def protect_view(view: F, guard: Callable[[], BearerGuard], scopes: Sequence[str] | None = None) -> F:
    """Run ``view`` (sync or async) only with a valid bearer token for ``guard()`` (called per
    request) holding ``scopes`` (default: the guard's); otherwise answer the core's 401/403/503."""

    def refused(result: AuthResult) -> FlaskResponse | None:
        if result.response is not None:
            return to_flask_response(result.response)
        setattr(g, _TOKEN_KEY, result.token)
        return None

    if inspect.iscoroutinefunction(view):

        @functools.wraps(view)
        async def async_wrapper(*args: Any, **kwargs: Any) -> Any:
            core = to_core_request(include_body=False)
            answer = refused(await guard().authenticate(core, required_scopes=scopes))
            return answer if answer is not None else await view(*args, **kwargs)

        return cast("F", async_wrapper)

    @functools.wraps(view)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        answer = refused(
            guard().authenticate_sync(to_core_request(include_body=False), required_scopes=scopes)
        )
        return answer if answer is not None else view(*args, **kwargs)

    return cast("F", wrapper)


class ViewDecorator(Protocol):
    def __call__(self, view: F, /) -> F: ...


def _decorator(guard: BearerGuard) -> ViewDecorator:
    def decorate(view: F) -> F:
        return protect_view(view, lambda: guard)

    return decorate


mcp_auth = handlers.adapt(bearer.mcp_auth_guard, _decorator)
"""``@mcp_auth(verifier, resource_url=..., scopes=[...])``: the view runs only with a valid bearer
token (read it from :data:`current_token`); 401/403 otherwise. The TS ``mcpAuth``."""
mcp_auth_clerk = handlers.adapt(bearer.mcp_auth_clerk_guard, _decorator)
"""``@mcp_auth_clerk(resource_url=..., scopes=[...])``: :func:`mcp_auth` with a Clerk verifier."""


# -- TS-named view factories ----------------------------------------------------------------------


def _ts_view(
    factory: Callable[_P, CoreHandler], methods: Sequence[str] = _METADATA_METHODS
) -> Callable[_P, View]:
    return handlers.adapt(factory, lambda handler: view_of(handler, factory.__name__, methods))


protected_resource_handler = _ts_view(handlers.protected_resource_handler)
"""A view of :func:`mcp_tools.server.handlers.protected_resource_handler` (same arguments)."""
protected_resource_handler_clerk = _ts_view(handlers.protected_resource_handler_clerk)
"""A view of :func:`mcp_tools.server.handlers.protected_resource_handler_clerk` (same arguments)."""
auth_server_metadata_handler_clerk = _ts_view(handlers.auth_server_metadata_handler_clerk)
"""A view of :func:`mcp_tools.server.handlers.auth_server_metadata_handler_clerk` (same arguments)."""
metadata_cors_options_handler = _ts_view(handlers.metadata_cors_options_handler, ("OPTIONS",))
"""A view of :func:`mcp_tools.server.handlers.metadata_cors_options_handler` (``OPTIONS`` only)."""
