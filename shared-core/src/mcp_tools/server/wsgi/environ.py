"""A WSGI request described for ASGI: the environ as an ASGI scope, the body read and bounded.

PEP 3333 hands the path and headers over as latin-1 strings; they go back to bytes here once,
and everything downstream (the core :class:`~mcp_tools.http.Request`, the SDK) reads the scope.
"""

from __future__ import annotations

import contextlib
import logging
import sys
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from mcp_tools.asgi import Scope
from mcp_tools.server.wsgi.deadline import Deadline, body_deadline
from mcp_tools.server.wsgi.errors import UnsupportedServerError

if TYPE_CHECKING:
    from collections.abc import Mapping
    from wsgiref.types import WSGIEnvironment

__all__ = [
    "InvalidBody",
    "build_scope",
    "check_wsgi_server",
    "declared_length",
    "discard_wsgi_body",
    "environ_headers",
    "read_wsgi_body",
    "server_threads",
]

logger = logging.getLogger(__name__)

_PATH_SAFE = "/:@!$&'()*+,;=~-._"
_READ_CHUNK = 64 * 1024


def _latin1(value: object) -> bytes:
    return str(value).encode("latin-1", "replace")


def environ_headers(environ: WSGIEnvironment) -> list[tuple[str, str]]:
    """The request headers in ``environ`` (``HTTP_*``, ``CONTENT_*``), names lower-cased."""
    headers: list[tuple[str, str]] = []
    for key, value in environ.items():
        if key.startswith("HTTP_"):
            name = key[5:]
        elif key in ("CONTENT_TYPE", "CONTENT_LENGTH"):
            if not value:
                continue
            name = key
        else:
            continue
        headers.append((name.replace("_", "-").lower(), str(value)))
    return headers


def build_scope(environ: WSGIEnvironment, extra_scope: Mapping[str, Any] | None = None) -> Scope:
    """Translate a WSGI ``environ`` into an ASGI ``http`` connection scope.

    ``path`` is the full path (``SCRIPT_NAME`` + ``PATH_INFO``) and ``root_path`` is
    ``SCRIPT_NAME``, as the ASGI specification describes. ``extra_scope`` entries are merged
    last, e.g. ``{"user": AuthenticatedUser(token)}`` so the SDK exposes the token through
    ``get_access_token()``.
    """
    script_name = _latin1(environ.get("SCRIPT_NAME", ""))
    path_info = _latin1(environ.get("PATH_INFO", ""))
    full_path = (script_name + path_info) or b"/"
    raw_uri = environ.get("RAW_URI") or environ.get("REQUEST_URI")
    if raw_uri:
        raw_path = _latin1(raw_uri).split(b"?", 1)[0]
    else:
        raw_path = quote(full_path, safe=_PATH_SAFE).encode("ascii")

    headers = [(name.encode("latin-1"), _latin1(value)) for name, value in environ_headers(environ)]

    protocol = str(environ.get("SERVER_PROTOCOL", "HTTP/1.1"))
    http_version = protocol.split("/", 1)[1] if "/" in protocol else "1.1"

    server: tuple[str, int] | None = None
    if environ.get("SERVER_NAME"):
        with contextlib.suppress(TypeError, ValueError):
            server = (str(environ["SERVER_NAME"]), int(environ.get("SERVER_PORT") or 0))
    client: tuple[str, int] | None = None
    if environ.get("REMOTE_ADDR"):
        with contextlib.suppress(TypeError, ValueError):
            client = (str(environ["REMOTE_ADDR"]), int(environ.get("REMOTE_PORT") or 0))

    scope: Scope = {
        "type": "http",
        "asgi": {"version": "3.0", "spec_version": "2.3"},
        "http_version": http_version,
        "method": str(environ.get("REQUEST_METHOD", "GET")).upper(),
        "scheme": str(environ.get("wsgi.url_scheme", "http")),
        "path": full_path.decode("utf-8", "replace"),
        "raw_path": raw_path,
        "query_string": _latin1(environ.get("QUERY_STRING", "")),
        "root_path": script_name.decode("utf-8", "replace"),
        "headers": headers,
        "server": server,
        "client": client,
        "state": {},
    }
    if extra_scope:
        scope.update(extra_scope)
    return scope


class InvalidBody(ValueError):
    """A request body that cannot be read: ``status`` 400 (bad ``Content-Length``) or 413 (too large)."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


def declared_length(environ: WSGIEnvironment, max_size: int) -> int | None:
    """The body length ``CONTENT_LENGTH`` announces (``None``: no header), checked without
    reading anything. Raises :class:`InvalidBody`: 400 (not a number), 413 (over ``max_size``)."""
    raw_length = environ.get("CONTENT_LENGTH") or ""
    if not raw_length:
        return None
    try:
        length = int(raw_length)
        if length < 0:
            raise ValueError
    except ValueError:
        raise InvalidBody(400, "invalid Content-Length") from None
    if length > max_size:
        raise InvalidBody(413, f"request body exceeds {max_size} bytes")
    return length


def read_wsgi_body(environ: WSGIEnvironment, max_size: int, timeout: float | None = None) -> bytes:
    """The request body from ``wsgi.input``, at most ``max_size`` bytes, within ``timeout`` seconds.

    Respects ``CONTENT_LENGTH`` (a larger one is refused unread); without one, reads only
    when the server marks the input as terminated (PEP 3333, e.g. a chunked body). ``timeout``
    bounds the whole read (:func:`~mcp_tools.server.wsgi.deadline.body_deadline`), not each
    ``read()``. Raises :class:`InvalidBody` (400, 413, or 408 when the deadline passes).
    """
    length = declared_length(environ, max_size)
    stream = environ.get("wsgi.input")
    if length == 0 or stream is None:
        return b""
    if length is None and not environ.get("wsgi.input_terminated", False):
        return b""
    if timeout is None:
        return _read(stream, length, max_size, None)
    with body_deadline(environ, timeout) as deadline:
        try:
            return _read(stream, length, max_size, deadline)
        except InvalidBody:
            raise
        except Exception:
            if deadline.expired:  # the watchdog cut the read: the server's reader may raise anything
                raise InvalidBody(408, f"request body not received within {timeout:g} s") from None
            raise


def discard_wsgi_body(environ: WSGIEnvironment, grace: float) -> None:
    """Drop a body the application will not read: what arrives within ``grace`` seconds is read
    and thrown away, then the connection is shut down for reading.

    After a refusal sent before the body was read (401 to a client without a token, say), the
    server would drain the rest itself before reusing the connection, and gunicorn's drain is
    bounded per read, not in total: a client trickling its body would hold the worker thread
    again. A normal client's body has arrived by now and is simply consumed.
    """
    stream = environ.get("wsgi.input")
    try:
        length = declared_length(environ, sys.maxsize)
    except InvalidBody:
        return
    if stream is None or length == 0 or (length is None and not environ.get("wsgi.input_terminated")):
        return
    with body_deadline(environ, grace) as deadline:
        remaining = length
        try:
            while not deadline.expired:
                chunk = stream.read(_READ_CHUNK if remaining is None else min(remaining, _READ_CHUNK))
                if not chunk:
                    return
                if remaining is not None:
                    remaining -= len(chunk)
                    if remaining <= 0:
                        return
        except Exception:  # cut by the deadline, or a broken connection: nothing to keep
            return
        deadline.cut_now()  # still arriving after the grace: no one will read the rest


def _read(stream: Any, length: int | None, max_size: int, deadline: Deadline | None) -> bytes:
    chunks: list[bytes] = []
    total = 0
    while length is None or total < length:
        if deadline is not None and deadline.expired:
            raise TimeoutError
        want = _READ_CHUNK if length is None else min(length - total, _READ_CHUNK)
        chunk = stream.read(want)
        if not chunk:
            if deadline is not None and deadline.expired:
                raise TimeoutError
            break  # the end, or the client sent less than it announced: hand over what arrived
        total += len(chunk)
        if total > max_size:
            raise InvalidBody(413, f"request body exceeds {max_size} bytes")
        chunks.append(chunk)
    return b"".join(chunks)


def check_wsgi_server(environ: WSGIEnvironment, *, stateful: bool, sse: bool) -> None:
    """Refuse a WSGI server that cannot serve the given MCP transport configuration.

    * ``stateful`` sessions need a multithreaded server: the 2025-era client keeps a standalone
      ``GET`` stream open for the whole session, which pins one worker thread. On a
      single-threaded worker (gunicorn ``sync``, ``wsgi.multithread`` false) that stream blocks
      every other request of the session, so this raises :class:`UnsupportedServerError`.
    * ``stateful`` sessions with several processes (``wsgi.multiprocess``) live in one process's
      memory; a warning is logged because the load balancer must route a session to its process.
    * ``sse`` responses on a single-threaded worker work but hold the only thread while a tool
      runs; a warning is logged.

    Stateless JSON (``stateful=False, sse=False``) is accepted on every server.
    """
    multithread = bool(environ.get("wsgi.multithread", False))
    if stateful and environ.get("wsgi.run_once", False):
        raise UnsupportedServerError(
            "stateful MCP sessions cannot be served by a run-once (CGI-style) WSGI server; "
            "configure the endpoint as stateless"
        )
    if stateful and not multithread:
        raise UnsupportedServerError(
            "stateful MCP sessions need a multithreaded WSGI server (gunicorn -k gthread --threads N, "
            "waitress, werkzeug threaded): the session's GET stream holds a worker thread. On a "
            "single-threaded worker such as gunicorn's 'sync', configure the endpoint as stateless"
        )
    if stateful and environ.get("wsgi.multiprocess", False):
        logger.warning(
            "stateful MCP sessions are kept in process memory; with several worker processes the "
            "load balancer must route each session to the process that created it"
        )
    if sse and not multithread:
        logger.warning(
            "SSE responses on a single-threaded WSGI worker hold its only thread until the tool "
            "finishes; use a threaded worker for concurrent streaming"
        )


def server_threads(environ: WSGIEnvironment, start_response: object = None) -> int | None:
    """The serving process's worker threads when the server tells: gunicorn's ``--threads``
    (read from the configuration its ``start_response`` is bound to). ``None`` otherwise, and for
    a single-threaded server (``wsgi.multithread`` false) ``1``."""
    if not environ.get("wsgi.multithread", False):
        return 1
    owner = getattr(start_response, "__self__", None)
    if owner is None or not type(owner).__module__.startswith("gunicorn."):
        return None
    threads = getattr(getattr(owner, "cfg", None), "threads", None)
    return threads if isinstance(threads, int) and threads > 0 else None
