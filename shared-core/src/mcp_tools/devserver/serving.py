"""Run the development authorization server on a threaded stdlib WSGI server.

:func:`serve_app` binds first (so ``port=0`` works and the issuer can carry the real port),
then runs ``serve_forever`` in a daemon thread and returns a :class:`RunningServer`
handle, usable as a context manager. This module knows the app only through
:class:`ServedApp` (a WSGI app whose issuer can be bound to the URL it is served at), so
:mod:`.server` can import it without an import cycle; ``serve(**options)``, which builds a
``DevAuthorizationServer`` first, lives there. Only loopback addresses (``127.0.0.0/8``, ``::1``,
``localhost``) are accepted unless ``allow_non_loopback=True`` is passed explicitly.
Request lines are not logged (authorization URLs carry state and PKCE values).
"""

from __future__ import annotations

import ipaddress
import logging
import socket
import socketserver
import threading
from collections.abc import Callable, Iterable, Mapping
from types import TracebackType
from typing import Any, Generic, Protocol, TypeVar
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer

from .registration import is_loopback_host

__all__ = ["RunningServer", "ServedApp", "check_bind_host", "serve_app"]

logger = logging.getLogger("mcp_tools.devserver")


class ServedApp(Protocol):
    """What :func:`serve_app` needs of the app: WSGI, and an issuer it can bind to its URL."""

    @property
    def issuer(self) -> str: ...

    @property
    def issuer_bound(self) -> bool: ...

    def bind_issuer(self, issuer: str) -> None: ...

    def __call__(self, environ: Mapping[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]: ...


AppT = TypeVar("AppT", bound=ServedApp)


def check_bind_host(host: str, *, allow_non_loopback: bool = False) -> None:
    """Refuse a non-loopback bind address unless explicitly allowed."""
    if is_loopback_host(host) or allow_non_loopback:
        return
    raise ValueError(
        f"refusing to listen on {host!r}: the development authorization server only binds to "
        "loopback addresses (127.0.0.1, ::1, localhost); pass allow_non_loopback=True to override"
    )


class _QuietHandler(WSGIRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        """Drop the access log: request lines carry query strings."""

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        logger.debug("%s %s -> %s", self.command, self.path.split("?", 1)[0], code)


class _ThreadingServer(socketserver.ThreadingMixIn, WSGIServer):
    daemon_threads = True
    allow_reuse_address = True


class _ThreadingServer6(_ThreadingServer):
    address_family = socket.AF_INET6


def _url_host(host: str) -> str:
    try:
        if isinstance(ipaddress.ip_address(host), ipaddress.IPv6Address):
            return f"[{host}]"
    except ValueError:
        pass
    return host


class RunningServer(Generic[AppT]):
    """A server running in a background thread: ``.app``, ``.url``, ``.issuer``, ``.stop()``."""

    def __init__(self, app: AppT, httpd: _ThreadingServer, url: str) -> None:
        self.app = app
        self.url = url
        self._httpd = httpd
        self._thread = threading.Thread(target=self._run, name=f"dev-auth-server-{self.port}", daemon=True)
        self._started = threading.Event()
        self._stopped = False

    def _run(self) -> None:
        self._started.set()
        self._httpd.serve_forever(poll_interval=0.1)

    def _start(self, timeout: float) -> None:
        self._thread.start()
        if not self._started.wait(timeout):
            self.stop()
            raise RuntimeError(f"the dev authorization server did not start within {timeout} s")

    @property
    def host(self) -> str:
        return str(self._httpd.server_address[0])

    @property
    def port(self) -> int:
        return int(self._httpd.server_address[1])

    @property
    def issuer(self) -> str:
        return self.app.issuer

    @property
    def running(self) -> bool:
        return self._thread.is_alive() and not self._stopped

    def stop(self, timeout: float = 5.0) -> None:
        """Stop serving and close the socket (idempotent)."""
        if self._stopped:
            return
        self._stopped = True
        if self._thread.is_alive():
            self._httpd.shutdown()
            self._thread.join(timeout)
        self._httpd.server_close()

    def __enter__(self) -> RunningServer[AppT]:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    def __repr__(self) -> str:
        return f"<RunningServer {self.url} {'running' if self.running else 'stopped'}>"


def serve_app(
    app: AppT,
    *,
    host: str = "127.0.0.1",
    port: int = 0,
    allow_non_loopback: bool = False,
    startup_timeout: float = 5.0,
) -> RunningServer[AppT]:
    """Serve ``app``; its issuer defaults to ``http://<host>:<bound port>``."""
    check_bind_host(host, allow_non_loopback=allow_non_loopback)
    server_class = _ThreadingServer6 if ":" in host else _ThreadingServer
    httpd = server_class((host, port), _QuietHandler)
    try:
        httpd.set_app(app)
        url = f"http://{_url_host(host)}:{httpd.server_address[1]}"
        if not app.issuer_bound:
            app.bind_issuer(url)
        running = RunningServer(app, httpd, url)
        running._start(startup_timeout)
    except BaseException:
        httpd.server_close()
        raise
    return running
