"""One typed options object for an OAuth-protected MCP endpoint.

:class:`McpOptions` is defined once, here. :class:`~mcp_tools.server.resource_server.McpResourceServer`
takes it, and every adapter derives its own configuration keys from its fields, so an option
added here is settable everywhere:

=========================  ===============================  ==================================
option (``flat name``)      Flask ``app.config``             Django ``settings.MCP_TOOLS``
=========================  ===============================  ==================================
``resource_url``            ``MCP_TOOLS_RESOURCE_URL``       ``"RESOURCE_URL"``
``stateless`` (transport)   ``MCP_TOOLS_STATELESS``          ``"STATELESS"``
``wsgi_inline`` (wsgi)      ``MCP_TOOLS_WSGI_INLINE``        ``"WSGI_INLINE"``
=========================  ===============================  ==================================

Fields of the nested groups are addressed by a *flat name*: :class:`TransportOptions` fields by
their own name, :class:`WsgiOptions` fields with a ``wsgi_`` prefix. FastAPI's
``create_mcp_router(..., **overrides)`` and Flask's ``create_mcp_blueprint`` take the same flat
names as keyword arguments. :func:`flat_fields` lists them all (the docs' settings tables are
tested against it).

Settings given as strings are loaded by :meth:`McpOptions.from_values`: ``"package.module:attr"``
import strings for objects, a space-separated string for scope lists, a dict
``{"class": ..., "options": {...}}`` for the verifier.
"""

from __future__ import annotations

import dataclasses
import importlib
import inspect
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Final, Protocol, TypeAlias, runtime_checkable

from mcp.server.streamable_http_manager import DEFAULT_MAX_SESSIONS, DEFAULT_SESSION_IDLE_TIMEOUT

from mcp_tools.errors import ConfigurationError

if TYPE_CHECKING:
    from mcp.server.lowlevel.server import Server
    from mcp.server.mcpserver import MCPServer
    from mcp.server.streamable_http import EventStore

    from mcp_tools.server.verifiers.base import McpTokenVerifier

__all__ = [
    "DEFAULT_MAX_BODY",
    "AuthorizationServerMetadataSource",
    "FlatField",
    "HostRule",
    "McpOptions",
    "ServerSource",
    "TransportOptions",
    "WsgiOptions",
    "flat_fields",
    "import_object",
]

DEFAULT_MAX_BODY: Final = 4 * 1024 * 1024
"""The request body limit (bytes); the SDK's own default."""
DEFAULT_RESPONSE_TIMEOUT: Final = 60.0
"""Seconds the WSGI bridge waits for the SDK's response headers (a JSON answer: the whole call)."""
DEFAULT_BODY_TIMEOUT: Final = 15.0
"""Seconds a WSGI client may take to send a request body (a worker thread waits meanwhile)."""
DEFAULT_MAX_STREAMS_PER_PRINCIPAL: Final = 2
"""Open GET event streams one principal may hold (a client keeps one per session)."""
DEFAULT_MAX_SESSIONS_PER_PRINCIPAL: Final = 100
"""Stateful sessions one principal may hold."""

ServerSource: TypeAlias = "MCPServer[Any] | Server[Any] | Callable[[], MCPServer[Any] | Server[Any]]"
"""The SDK server behind an endpoint: an ``MCPServer``, a low-level ``Server``, or a factory."""


@runtime_checkable
class AuthorizationServerMetadataSource(Protocol):
    """Where RFC 8414 metadata comes from when the app serves it (e.g. a cached Clerk proxy)."""

    def get_sync(self) -> Mapping[str, Any]: ...

    async def get(self) -> Mapping[str, Any]: ...


HostRule: TypeAlias = "Sequence[str] | Callable[[str], bool]"
"""Accepted ``Host`` values: patterns (``"example.com:*"`` admits any port, ``"*"`` any host) or a
predicate given the header value (Django passes its own ``ALLOWED_HOSTS`` rule)."""


def _doc(text: str, *, load: str | None = None) -> dict[str, str]:
    meta = {"doc": text}
    if load:
        meta["load"] = load
    return meta


@dataclass(frozen=True, kw_only=True)
class TransportOptions:
    """How the SDK's streamable HTTP transport serves the endpoint (flat names: the field names)."""

    stateless: bool = field(
        default=True, metadata=_doc("No `Mcp-Session-Id` sessions: safe with many workers.")
    )
    json_response: bool = field(
        default=True, metadata=_doc("Answer with single JSON bodies rather than SSE.")
    )
    event_store: EventStore | None = field(
        default=None, metadata=_doc("SDK event store for resumable SSE streams.", load="object")
    )
    max_request_body_size: int = field(
        default=DEFAULT_MAX_BODY, metadata=_doc("Largest accepted body (bytes); 413 above.")
    )
    session_idle_timeout: float | None = field(
        default=DEFAULT_SESSION_IDLE_TIMEOUT,
        metadata=_doc("Seconds before an idle stateful session is closed."),
    )
    max_sessions: int | None = field(
        default=DEFAULT_MAX_SESSIONS, metadata=_doc("Most concurrent stateful sessions.")
    )
    retry_interval: int | None = field(
        default=None, metadata=_doc("SSE `retry:` hint to clients (milliseconds).")
    )
    max_streams_per_principal: int | None = field(
        default=DEFAULT_MAX_STREAMS_PER_PRINCIPAL,
        metadata=_doc("Most open GET event streams per user (token subject); 405 above."),
    )
    max_sessions_per_principal: int | None = field(
        default=DEFAULT_MAX_SESSIONS_PER_PRINCIPAL,
        metadata=_doc("Most stateful sessions per user (token subject); 429 above."),
    )

    def __post_init__(self) -> None:
        if self.max_request_body_size <= 0:
            raise ConfigurationError("max_request_body_size must be positive")
        if self.max_streams_per_principal is not None and self.max_streams_per_principal < 0:
            raise ConfigurationError("max_streams_per_principal must be 0 or more (or None: no limit)")
        if self.max_sessions_per_principal is not None and self.max_sessions_per_principal < 1:
            raise ConfigurationError("max_sessions_per_principal must be 1 or more (or None: no limit)")


@dataclass(frozen=True, kw_only=True)
class WsgiOptions:
    """How Flask and Django under WSGI bridge to the SDK (flat names: ``wsgi_<field>``)."""

    response_timeout: float | None = field(
        default=DEFAULT_RESPONSE_TIMEOUT,
        metadata=_doc(
            "Seconds to wait for the SDK's response headers (504 after; SSE bodies are not timed); "
            "`None` waits forever."
        ),
    )
    body_timeout: float = field(
        default=DEFAULT_BODY_TIMEOUT,
        metadata=_doc("Seconds a client may take to send the whole request body (408 after)."),
    )
    startup_timeout: float = field(
        default=10.0, metadata=_doc("Seconds the bridge's loop thread may take to start.")
    )
    inline: bool = field(
        default=True, metadata=_doc("Serve loop-free calls on the worker thread (no hop to the loop thread).")
    )
    dispatch: bool = field(
        default=True,
        metadata=_doc("Route the MCP path ahead of the framework (no framework hooks run for it)."),
    )
    max_streams: int | None = field(
        default=None,
        metadata=_doc(
            "Most open GET event streams per process, each holding a worker thread (405 above; "
            "default: half of gunicorn's `--threads`, else 2)."
        ),
    )

    def __post_init__(self) -> None:
        if self.body_timeout <= 0:
            raise ConfigurationError("wsgi_body_timeout must be positive")


@dataclass(frozen=True, kw_only=True)
class McpOptions:
    """Everything that configures one OAuth-protected MCP endpoint.

    Only ``server``, ``resource_url``, ``authorization_servers`` and a verifier (``verifier``, or
    ``jwks_uri`` for the built-in JWT verifier) are required.
    """

    server: ServerSource = field(
        metadata=_doc("`MCPServer`, low-level `Server`, or a factory.", load="server")
    )
    resource_url: str = field(
        metadata=_doc("The exact URL clients use for the endpoint (RFC 9728 `resource`).")
    )
    authorization_servers: Sequence[str] = field(
        metadata=_doc("Issuer URLs of the authorization servers.", load="list")
    )
    verifier: McpTokenVerifier | None = field(
        default=None,
        metadata=_doc(
            "Token verifier (instance, class, import string or {class, options}).", load="verifier"
        ),
    )
    jwks_uri: str | None = field(
        default=None, metadata=_doc("Without a verifier: the JWKS of the built-in JWT verifier.")
    )
    scopes: Sequence[str] = field(default=(), metadata=_doc("Scopes every call needs.", load="list"))
    scopes_supported: Sequence[str] | None = field(
        default=None,
        metadata=_doc("Scopes advertised (default: `scopes` plus per-tool scopes).", load="list"),
    )
    tool_scopes: Mapping[str, Iterable[str]] | None = field(
        default=None, metadata=_doc("Extra scopes per tool name.", load="mapping")
    )
    mcp_path: str | None = field(
        default=None, metadata=_doc("Route of the endpoint (default: the resource URL's path).")
    )
    resource_name: str | None = field(default=None, metadata=_doc("`resource_name` in the metadata."))
    resource_documentation: str | None = field(
        default=None, metadata=_doc("`resource_documentation` in the metadata.")
    )
    authorization_server_metadata: Mapping[str, Any] | AuthorizationServerMetadataSource | None = field(
        default=None,
        metadata=_doc('Serve RFC 8414 metadata: a document, a source, or "clerk".', load="as_metadata"),
    )
    allowed_hosts: HostRule | None = field(
        default=None,
        metadata=_doc(
            "Accepted `Host` values or a predicate (default: the resource URL's host).", load="hosts"
        ),
    )
    allowed_origins: Sequence[str] | None = field(
        default=None,
        metadata=_doc("Accepted browser `Origin` values (default: the resource URL's origin).", load="list"),
    )
    transport: TransportOptions = field(default_factory=TransportOptions)
    wsgi: WsgiOptions = field(default_factory=WsgiOptions)

    def __post_init__(self) -> None:
        if isinstance(self.authorization_servers, str):
            raise ConfigurationError("authorization_servers must be a list of issuer URLs, not a string")
        if not self.authorization_servers:
            raise ConfigurationError("authorization_servers must name at least one issuer URL")
        if self.mcp_path is not None and not self.mcp_path.startswith("/"):
            raise ConfigurationError(f"mcp_path must start with '/', got {self.mcp_path!r}")
        if self.verifier is None and not self.jwks_uri:
            raise ConfigurationError(
                "set a token verifier (verifier) or the JWKS of the built-in one (jwks_uri)"
            )

    # -- flat names ---------------------------------------------------------------------------

    def get(self, name: str) -> Any:
        """The value of the option with flat name ``name``."""
        flat = _flat(name)
        holder = getattr(self, flat.group) if flat.group else self
        return getattr(holder, flat.field)

    def replace(self, **overrides: Any) -> McpOptions:
        """A copy with the options named by flat name replaced (values as given, not loaded)."""
        top: dict[str, Any] = {}
        groups: dict[str, dict[str, Any]] = {}
        for name, value in overrides.items():
            flat = _flat(name)
            if flat.group:
                groups.setdefault(flat.group, {})[flat.field] = value
            else:
                top[flat.field] = value
        for group, changes in groups.items():
            top[group] = dataclasses.replace(getattr(self, group), **changes)
        return dataclasses.replace(self, **top)

    @classmethod
    def from_values(
        cls,
        values: Mapping[str, Any],
        *,
        base: McpOptions | None = None,
        describe: Callable[[str], str] = lambda name: f"{name}=",
    ) -> McpOptions:
        """Options from ``values`` keyed by flat name (``None``: not set), loading strings.

        Import strings, space-separated scope lists and the verifier's ``{"class", "options"}``
        form are loaded here. ``base`` supplies what ``values`` leaves unset; ``describe(name)``
        says how the user spells a key (``MCP_TOOLS['RESOURCE_URL']``), for error messages.
        """
        unknown = sorted(set(values) - set(flat_fields()))
        if unknown:
            raise ConfigurationError(
                f"unknown mcp-tools option(s): {', '.join(describe(n) for n in unknown)}"
            )
        given = {name: value for name, value in values.items() if value is not None}
        for name in _REQUIRED:
            if name not in given and base is None:
                raise ConfigurationError(f"mcp-tools: {describe(name)} is required")
        loaded: dict[str, Any] = {}
        for name, value in given.items():
            try:
                loaded[name] = _load(flat_fields()[name].load, value, given, base)
            except ConfigurationError:
                raise
            except (ImportError, TypeError, ValueError) as exc:
                raise ConfigurationError(f"mcp-tools: {describe(name)} is invalid: {exc}") from exc
        if base is None and "verifier" not in given and "jwks_uri" not in given:
            raise ConfigurationError(
                f"mcp-tools: set {describe('verifier')} (a token verifier) or {describe('jwks_uri')}"
            )
        try:
            if base is not None:
                return base.replace(**loaded)
            top = {n: v for n, v in loaded.items() if not flat_fields()[n].group}
            options = cls(**top)
            grouped = {n: v for n, v in loaded.items() if flat_fields()[n].group}
            return options.replace(**grouped) if grouped else options
        except ConfigurationError as exc:  # a check across options: name the first one it mentions
            named = next((n for n in flat_fields() if re.search(rf"\b{n}\b", str(exc))), None)
            prefix = f"{describe(named)}: " if named else ""
            raise ConfigurationError(f"mcp-tools: {prefix}{exc}") from exc


_REQUIRED: Final = ("server", "resource_url", "authorization_servers")


@dataclass(frozen=True)
class FlatField:
    """One option as adapters see it: its flat name, where it lives, its default and doc."""

    name: str
    group: str  # "" for a top-level field, else "transport" / "wsgi"
    field: str
    default: Any
    doc: str
    load: str


_GROUP_PREFIX: Final = {"transport": "", "wsgi": "wsgi_"}
_FLAT: dict[str, FlatField] = {}


def flat_fields() -> dict[str, FlatField]:
    """Every option by flat name, in declaration order (the source of every settings table)."""
    if not _FLAT:
        for top in dataclasses.fields(McpOptions):
            if top.name in _GROUP_PREFIX:
                group_cls = TransportOptions if top.name == "transport" else WsgiOptions
                for inner in dataclasses.fields(group_cls):
                    name = _GROUP_PREFIX[top.name] + inner.name
                    _FLAT[name] = _flat_field(name, top.name, inner)
            else:
                _FLAT[top.name] = _flat_field(top.name, "", top)
    return _FLAT


def _flat_field(name: str, group: str, f: dataclasses.Field[Any]) -> FlatField:
    default = f.default if f.default is not dataclasses.MISSING else None
    return FlatField(name, group, f.name, default, f.metadata.get("doc", ""), f.metadata.get("load", ""))


def _flat(name: str) -> FlatField:
    try:
        return flat_fields()[name]
    except KeyError:
        raise ConfigurationError(f"unknown mcp-tools option {name!r}") from None


# -- loading settings given as strings --------------------------------------------------------


def import_object(path: str) -> Any:
    """Import ``"package.module:attr"`` or ``"package.module.attr"`` (dotted attributes allowed
    after the colon). Raises :class:`ImportError` naming ``path``."""
    if not isinstance(path, str) or not path:
        raise ImportError(f"not an import string: {path!r}")
    module_name, sep, attr_path = path.partition(":")
    if not sep:
        module_name, _, attr_path = path.rpartition(".")
    if not module_name or not attr_path:
        raise ImportError(f"{path!r} is not 'package.module:attribute'")
    obj: Any = importlib.import_module(module_name)
    for part in attr_path.split("."):
        try:
            obj = getattr(obj, part)
        except AttributeError:
            raise ImportError(f"module {module_name!r} has no attribute {attr_path!r}") from None
    return obj


def _resolve(value: Any) -> Any:
    return import_object(value) if isinstance(value, str) else value


def _load(kind: str, value: Any, given: Mapping[str, Any], base: McpOptions | None) -> Any:
    if kind == "hosts" and callable(value):
        return value
    if kind in ("list", "hosts"):
        return value.split() if isinstance(value, str) else list(value)
    if kind in ("object", "mapping"):
        loaded = _resolve(value)
        if kind == "mapping" and not isinstance(loaded, Mapping):
            raise TypeError("expected a mapping (e.g. a ToolScopes) or an import string naming one")
        return loaded
    if kind == "server":
        return _load_server(value)
    if kind == "as_metadata":
        return _load_as_metadata(value)
    if kind == "verifier":
        return load_verifier(value, given, base)
    return value


def _load_server(value: Any) -> ServerSource:
    from mcp.server.lowlevel.server import Server
    from mcp.server.mcpserver import MCPServer

    server = _resolve(value)
    if isinstance(server, (MCPServer, Server)) or (callable(server) and not inspect.isclass(server)):
        return server
    kind = type(server).__name__
    raise TypeError(
        f"expected an mcp.server.MCPServer, a low-level Server or a factory returning one; got {kind}"
    )


def _load_as_metadata(value: Any) -> Any:
    if isinstance(value, Mapping):
        return value
    if value == "clerk":
        from mcp_tools.server.clerk_metadata import ClerkAuthorizationServerMetadata

        return ClerkAuthorizationServerMetadata()
    loaded = _resolve(value)
    return loaded() if inspect.isclass(loaded) else loaded


def load_verifier(value: Any, given: Mapping[str, Any], base: McpOptions | None = None) -> McpTokenVerifier:
    """A verifier from an instance, an import string, a class or factory, or ``{"class": ...,
    "options": {...}}`` (keys in any case). Classes and factories get ``audience`` (the resource
    URL) and ``issuer`` (the single authorization server) when they accept them and the options
    leave them out."""
    options: dict[str, Any] = {}
    if isinstance(value, Mapping):
        spec = {str(k).lower(): v for k, v in value.items()}
        unknown = set(spec) - {"class", "options"}
        if "class" not in spec or unknown:
            raise TypeError("a verifier given as a dict needs a 'class' entry and at most an 'options' entry")
        options = dict(spec.get("options") or {})
        value = spec["class"]
    target = _resolve(value)
    verifier = target
    if inspect.isclass(target) or (callable(target) and not hasattr(target, "verify_token")):
        verifier = target(**_verifier_defaults(target, options, given, base))
    if not callable(getattr(verifier, "verify_token", None)):
        raise TypeError(f"expected a token verifier (with verify_token); got {type(verifier).__name__}")
    return verifier  # type: ignore[no-any-return]


def _verifier_defaults(
    factory: Callable[..., Any], options: dict[str, Any], given: Mapping[str, Any], base: McpOptions | None
) -> dict[str, Any]:
    try:
        parameters = inspect.signature(factory).parameters
    except (TypeError, ValueError):
        return options
    resource_url = given.get("resource_url") or (base.resource_url if base else None)
    servers = given.get("authorization_servers") or (base.authorization_servers if base else ())
    servers = servers.split() if isinstance(servers, str) else list(servers)
    filled = dict(options)
    if "audience" in parameters and "audience" not in filled and resource_url:
        filled["audience"] = resource_url
    if "issuer" in parameters and "issuer" not in filled and len(servers) == 1:
        filled["issuer"] = servers[0]
    return filled
