"""Background HTTP servers on 127.0.0.1 for the demo: uvicorn (ASGI) and a threaded WSGI server.

Sockets are bound first (port 0 picks a free port), so every URL is known before the apps
that need them (resource URLs, redirect URIs) are built, with no race for the port. Each
server runs in a daemon thread; :meth:`Served.stop` shuts it down within a bounded time.
"""

from __future__ import annotations

import logging
import socket
import socketserver
import threading
import time
from collections.abc import Callable
from typing import Any, Protocol
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer

__all__ = ["HOST", "Served", "bind", "serve_asgi", "serve_wsgi"]

HOST = "127.0.0.1"
logger = logging.getLogger("mcp_tools_demo")


def bind(port: int = 0) -> socket.socket:
    """A listening TCP socket on 127.0.0.1 (``port`` 0: a free one)."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((HOST, port))
        sock.listen(128)
    except OSError:
        sock.close()
        raise
    return sock


def url_of(sock: socket.socket) -> str:
    return f"http://{HOST}:{sock.getsockname()[1]}"


class Served(Protocol):
    name: str
    url: str

    def stop(self, timeout: float = 10.0) -> None: ...


class _Uvicorn:
    def __init__(self, name: str, app: Any, sock: socket.socket, startup_timeout: float) -> None:
        import uvicorn

        self.name = name
        self.url = url_of(sock)
        self._sock = sock
        config = uvicorn.Config(app, log_level="warning", lifespan="on", access_log=False)
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(
            target=self._server.run, kwargs={"sockets": [sock]}, name=f"demo-{name}", daemon=True
        )
        self._thread.start()
        deadline = time.monotonic() + startup_timeout
        while not self._server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(f"the {name} server did not start on {self.url}")
            time.sleep(0.02)

    def stop(self, timeout: float = 10.0) -> None:
        self._server.should_exit = True
        if self._thread.is_alive():
            self._thread.join(timeout)
        if self._thread.is_alive():  # a stuck connection: force it
            self._server.force_exit = True
            self._thread.join(timeout)
        self._sock.close()


def serve_asgi(name: str, app: Any, sock: socket.socket, *, startup_timeout: float = 20.0) -> Served:
    """Serve an ASGI ``app`` with uvicorn (lifespan on) on the bound ``sock``."""
    return _Uvicorn(name, app, sock, startup_timeout)


class _QuietHandler(WSGIRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        """No access log: request lines can carry codes and state."""


class _ThreadingWSGIServer(socketserver.ThreadingMixIn, WSGIServer):
    daemon_threads = True


class _Wsgi:
    def __init__(self, name: str, app: Callable[..., Any], sock: socket.socket) -> None:
        self.name = name
        self.url = url_of(sock)
        # Adopt the bound socket instead of binding a second time.
        self._httpd = _ThreadingWSGIServer(sock.getsockname(), _QuietHandler, bind_and_activate=False)
        self._httpd.socket.close()
        self._httpd.socket = sock
        self._httpd.server_name = HOST
        self._httpd.server_port = int(sock.getsockname()[1])
        self._httpd.setup_environ()
        self._httpd.set_app(app)
        self._thread = threading.Thread(
            target=self._httpd.serve_forever, kwargs={"poll_interval": 0.1}, name=f"demo-{name}", daemon=True
        )
        self._thread.start()

    def stop(self, timeout: float = 10.0) -> None:
        if self._thread.is_alive():
            self._httpd.shutdown()
            self._thread.join(timeout)
        self._httpd.server_close()


def serve_wsgi(name: str, app: Callable[..., Any], sock: socket.socket) -> Served:
    """Serve a WSGI ``app`` with the standard library's server (one thread per request)."""
    return _Wsgi(name, app, sock)
