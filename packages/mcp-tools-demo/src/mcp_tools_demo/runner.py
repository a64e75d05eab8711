"""Start and stop everything the demo runs on 127.0.0.1."""

from __future__ import annotations

import contextlib
import importlib.util
import logging
import os
import secrets
import shutil
import signal
import tempfile
import threading
from collections.abc import Callable
from dataclasses import dataclass
from types import FrameType, TracebackType
from typing import Any
from urllib.parse import urlsplit

import requests

from mcp_tools.client import UrlGuard
from mcp_tools.server.verifiers.jwt import JWTVerifier
from mcp_tools.stores import BaseStore, store_from_url

from .serving import Served, bind, serve_asgi, serve_wsgi, url_of
from .tools import READ_SCOPE, WRITE_SCOPE

__all__ = [
    "Demo",
    "DemoError",
    "DemoOptions",
    "discover_authorization_server",
    "missing_requirements",
    "run_demo",
]

REQUIREMENTS = (
    ("mcp_tools_fastapi", "mcp-tools-fastapi"),
    ("mcp_tools_flask", "mcp-tools-flask"),
    ("mcp_tools_django", "mcp-tools-django"),
    ("uvicorn", "uvicorn"),
)


class DemoError(RuntimeError):
    """The demo cannot start (missing packages, an unusable authorization server, a busy port)."""


@dataclass
class DemoOptions:
    authorization_server: str | None = None  # an existing AS instead of the embedded one
    headless: bool = False
    auto_approve: bool = False  # embedded AS: no login or consent pages
    store: str | None = None  # store URL; default: SQLite in a temporary directory
    port: int = 0  # the connector's port (0: a free one)
    user: str = "demo-user"  # the username --headless signs in with
    timeout: float = 120.0  # bound of the --headless journey


def missing_requirements() -> list[str]:
    """Distributions the demo needs that are not installed."""
    return [dist for module, dist in REQUIREMENTS if importlib.util.find_spec(module) is None]


def discover_authorization_server(url: str, *, timeout: float = 10.0) -> dict[str, Any]:
    """The RFC 8414 (or OpenID) metadata of the authorization server whose issuer is ``url``."""
    issuer = url.rstrip("/")
    parts = urlsplit(issuer)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise DemoError(f"--authorization-server needs an http(s) issuer URL, got {url!r}")
    origin = f"{parts.scheme}://{parts.netloc}"
    candidates = [
        f"{origin}/.well-known/oauth-authorization-server{parts.path}",
        f"{origin}/.well-known/openid-configuration{parts.path}",
        f"{issuer}/.well-known/openid-configuration",
    ]
    problems = []
    for candidate in dict.fromkeys(candidates):
        try:
            answer = requests.get(candidate, timeout=timeout, headers={"Accept": "application/json"})
        except requests.RequestException as exc:
            problems.append(f"{candidate}: {type(exc).__name__}")
            continue
        if answer.status_code != 200:
            problems.append(f"{candidate}: HTTP {answer.status_code}")
            continue
        try:
            metadata = answer.json()
        except ValueError:
            problems.append(f"{candidate}: not JSON")
            continue
        if not isinstance(metadata, dict) or not isinstance(metadata.get("issuer"), str):
            problems.append(f"{candidate}: no issuer")
            continue
        if metadata["issuer"].rstrip("/") != issuer:
            raise DemoError(f"{candidate} names the issuer {metadata['issuer']!r}, not {url!r}")
        for required in ("jwks_uri", "authorization_endpoint", "token_endpoint"):
            if not isinstance(metadata.get(required), str):
                raise DemoError(f"the metadata at {candidate} has no {required}")
        return metadata
    raise DemoError(f"no authorization server metadata found for {url}: " + "; ".join(problems))


class Demo:
    """Everything the demo runs; a context manager (``with Demo(options) as demo:``)."""

    def __init__(self, options: DemoOptions, *, out: Callable[[str], None] = print) -> None:
        self.options = options
        self.out = out
        self.servers: list[tuple[str, str]] = []  # (framework, MCP URL)
        self.connector_url = ""
        self.issuer = ""
        self.store_description = ""
        self._running: list[Served] = []
        self._auth: Any = None
        self._store: BaseStore | None = None
        self._tempdir: str | None = None
        self._stack = contextlib.ExitStack()

    # -- start ----------------------------------------------------------------------------------

    def _open_store(self) -> BaseStore:
        url = self.options.store
        keys: list[str] = []
        if url is None:
            self._tempdir = tempfile.mkdtemp(prefix="mcp-tools-demo-")
            url = f"sqlite:///{os.path.join(self._tempdir, 'store.db')}"
            if importlib.util.find_spec("cryptography") is not None:
                from mcp_tools.stores import generate_encryption_key

                keys = [generate_encryption_key()]  # this run's key: the directory goes at exit anyway
        self.store_description = url + (" (encrypted, deleted at exit)" if keys else "")
        try:
            return store_from_url(url, encryption_keys=keys or None, allow_plaintext=not keys)
        except (ValueError, ImportError) as exc:
            raise DemoError(f"--store {url}: {exc}") from None

    def start(self) -> Demo:
        missing = missing_requirements()
        if missing:
            raise DemoError(
                "mcp-tools demo needs the three adapters and uvicorn; install them with\n"
                f"    pip install {' '.join(missing)}\n"
                "or run it from a checkout with `python3 scripts/dev.py demo`"
            )
        from .apps import django_mcp_app, fastapi_mcp_app, flask_mcp_app

        for noisy in ("mcp", "httpx", "httpx2"):  # the SDK's INFO lines (request lines carry codes)
            logging.getLogger(noisy).setLevel(logging.WARNING)
        from .connector import ConnectorConfig, create_connector_app

        try:
            sockets = {name: bind() for name in ("fastapi", "flask", "django")}
            connector_socket = bind(self.options.port)
        except OSError as exc:
            raise DemoError(f"cannot listen on 127.0.0.1: {exc}") from None
        resources = {name: f"{url_of(sock)}/mcp" for name, sock in sockets.items()}
        self.servers = list(resources.items())
        self.connector_url = url_of(connector_socket)

        if self.options.authorization_server:
            metadata = discover_authorization_server(self.options.authorization_server)
            self.issuer = str(metadata["issuer"])
            jwks_uri = str(metadata["jwks_uri"])
            token_type = None  # another server's tokens: RFC 9068's typ may be absent
            if "registration_endpoint" not in metadata:
                self.out(
                    "warning: the authorization server advertises no registration_endpoint; "
                    "the connector registers itself dynamically (RFC 7591)"
                )
        else:
            from mcp_tools.devserver import serve

            self._auth = serve(
                scopes=[READ_SCOPE, WRITE_SCOPE],
                auto_approve=self.options.auto_approve,
                default_user=self.options.user,
            )
            self.issuer = self._auth.issuer
            jwks_uri = self._auth.app.jwks_uri
            token_type = "at+jwt"  # ours issues RFC 9068 access tokens: require the header

        builders = {"fastapi": fastapi_mcp_app, "flask": flask_mcp_app, "django": django_mcp_app}
        for name, resource_url in resources.items():
            verifier = JWTVerifier(
                issuer=self.issuer, audience=resource_url, jwks_uri=jwks_uri, typ=token_type
            )
            app = builders[name](resource_url=resource_url, issuer=self.issuer, verifier=verifier)
            sock = sockets.pop(name)
            if name == "flask":
                self._running.append(serve_wsgi(name, app, sock))
            else:
                self._running.append(serve_asgi(name, app, sock))

        self._store = self._open_store()
        config = ConnectorConfig(
            url=self.connector_url,
            store=self._store,
            secret=secrets.token_urlsafe(32),
            servers=self.servers,
            authorization_server=self.issuer,
            store_description=self.store_description,
            url_guard=UrlGuard.for_development(),
        )
        self._running.append(serve_asgi("connector", create_connector_app(config), connector_socket))
        return self

    # -- stop -----------------------------------------------------------------------------------

    def stop(self) -> None:
        """Stop every server (connector first), close the store, remove the temporary directory."""
        while self._running:
            served = self._running.pop()
            try:
                served.stop()
            except Exception as exc:  # keep stopping the others
                self.out(f"warning: stopping {served.name}: {exc}")
        if self._auth is not None:
            self._auth.stop()
            self._auth = None
        if self._store is not None:
            close = getattr(self._store, "close", None)
            if callable(close):
                close()
            self._store = None
        if self._tempdir is not None:
            shutil.rmtree(self._tempdir, ignore_errors=True)
            self._tempdir = None

    def __enter__(self) -> Demo:
        try:
            return self.start()
        except BaseException:
            self.stop()
            raise

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    # -- output ---------------------------------------------------------------------------------

    def announce(self) -> None:
        embedded = self._auth is not None
        self.out("mcp-tools demo: development only, everything on 127.0.0.1")
        if embedded:
            mode = "auto-approve" if self.options.auto_approve else "sign in with any username, then consent"
            self.out(f"  authorization server  {self.issuer}  (embedded, in memory; {mode})")
        else:
            self.out(f"  authorization server  {self.issuer}  (external)")
        for name, url in self.servers:
            self.out(f"  {name + ' MCP server':<21} {url}")
        self.out(f"  token store           {self.store_description}")
        self.out(f"  connector             {self.connector_url}/   <- open this in your browser")
        self.out(f"AUTHORIZATION-SERVER {self.issuer}")
        for name, url in self.servers:
            self.out(f"MCP-SERVER {name} {url}")
        self.out(f"CONNECTOR {self.connector_url}/")


def run_demo(
    options: DemoOptions, *, out: Callable[[str], None] = print, err: Callable[[str], None] = print
) -> int:
    """Run the demo until Ctrl-C or SIGTERM (or, with ``headless``, through the journey); the exit code."""
    from .headless import HeadlessFailure, run_headless

    stop = threading.Event()

    def on_signal(signum: int, frame: FrameType | None) -> None:
        if options.headless:
            raise KeyboardInterrupt
        stop.set()

    previous: dict[signal.Signals, Any] = {}
    if threading.current_thread() is threading.main_thread():
        for signum in (signal.SIGINT, signal.SIGTERM):
            previous[signum] = signal.signal(signum, on_signal)
    try:
        with Demo(options, out=out) as demo:
            demo.announce()
            if options.headless:
                try:
                    run_headless(
                        demo.connector_url, demo.servers, user=options.user, timeout=options.timeout, out=out
                    )
                except HeadlessFailure as exc:
                    err(f"HEADLESS FAILED {exc}")
                    return 1
                out(f"HEADLESS OK: {len(demo.servers)} servers connected, authorized and called")
                return 0
            out("READY (Ctrl-C stops everything)")
            while not stop.wait(0.5):
                pass
            out("stopping...")
        out("stopped")
        return 0
    except KeyboardInterrupt:
        err("mcp-tools demo: interrupted")
        return 130
    except (DemoError, RuntimeError, OSError) as exc:
        err(f"mcp-tools demo: {exc}")
        return 2
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)
