"""Serve an ASGI application (the SDK's streamable HTTP endpoint) from WSGI worker threads.

The MCP SDK is ASGI-only, and its ``StreamableHTTPSessionManager`` must run inside one
long-lived event loop (``manager.run()`` owns a task group for the lifetime of the server).
A WSGI server has no such loop, so :class:`AsgiBridge` keeps one per process:

* a daemon thread (one per bridge and process) runs an asyncio loop and, inside it, the
  application's lifespan (for example ``manager.run()``); it starts on the first request;
* each WSGI request is turned into an ASGI HTTP scope, submitted to that loop with
  :func:`asyncio.run_coroutine_threadsafe`, and its response is handed back to the worker
  thread through a queue: headers as soon as ``http.response.start`` arrives, then each body
  chunk as it is sent, so server-sent events stream through WSGI unbuffered;
* after ``fork`` (gunicorn ``--preload``) the child never touches the parent's loop: it builds
  a fresh application and lifespan from the factory and starts its own thread;
* :meth:`AsgiBridge.handle_inline` skips the thread hop for requests that touch nothing bound to
  the loop thread (a 2026-era stateless JSON exchange calling a synchronous tool): the worker
  thread runs the app itself on an event loop borrowed from a small pool, and gets the whole
  response back. The caller decides which requests qualify (see ``WsgiMcpEndpoint``).

Nothing here imports a web framework; Flask and Django adapters call :meth:`AsgiBridge.handle`
(or use the bridge as a plain WSGI application) from their own views. See ``docs/wsgi-bridge.md``.
"""

from __future__ import annotations

import asyncio
import atexit
import concurrent.futures
import contextlib
import contextvars
import http
import json
import logging
import os
import queue
import threading
import weakref
from collections.abc import Awaitable, Callable, Iterable, Iterator, Mapping, MutableMapping
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Final, Literal, TypeAlias
from urllib.parse import quote

if TYPE_CHECKING:
    from wsgiref.types import StartResponse, WSGIEnvironment

__all__ = [
    "HOP_BY_HOP_HEADERS",
    "ASGIApp",
    "AppFactory",
    "AsgiBridge",
    "BridgeError",
    "BridgeResponse",
    "BridgeStartupError",
    "InvalidBody",
    "UnsupportedServerError",
    "build_scope",
    "check_wsgi_server",
    "environ_headers",
    "read_wsgi_body",
    "status_line",
    "strip_hop_by_hop",
]

logger = logging.getLogger(__name__)

Scope: TypeAlias = MutableMapping[str, Any]
Message: TypeAlias = MutableMapping[str, Any]
Receive: TypeAlias = Callable[[], Awaitable[Message]]
Send: TypeAlias = Callable[[Message], Awaitable[None]]
ASGIApp: TypeAlias = Callable[[Scope, Receive, Send], Awaitable[None]]
"""An ASGI 3 application, e.g. ``AuthContextMiddleware(StreamableHTTPASGIApp(manager))``."""

AppFactory: TypeAlias = Callable[[], tuple[ASGIApp, AbstractAsyncContextManager[object] | None]]
"""Builds a fresh ``(app, lifespan)`` pair; called once per loop thread (per process, per restart)."""

DEFAULT_MAX_BODY_SIZE: Final = 4 * 1024 * 1024
"""Same default as the SDK's own request body limit."""

HOP_BY_HOP_HEADERS: Final = frozenset(
    {
        "connection",
        "keep-alive",
        "proxy-authenticate",
        "proxy-authorization",
        "te",
        "trailers",
        "transfer-encoding",
        "upgrade",
    }
)
"""Connection-level headers (RFC 9110 section 7.6.1) a WSGI application must not set (PEP 3333)."""

_DISCONNECT_GRACE: Final = 1.0
"""Seconds a closed response waits for the app to react to ``http.disconnect`` before cancelling it."""
_STOP_GRACE: Final = 1.0
"""Seconds in-flight requests get to finish after cancellation when the loop thread stops."""
_POLL_INTERVAL: Final = 0.5
"""How often a waiting worker thread checks that the loop thread is still alive."""
_HIGH_WATER: Final = 1024 * 1024
_LOW_WATER: Final = 256 * 1024
"""Flow control: the app's ``send`` waits while more than ``_HIGH_WATER`` body bytes are queued."""

_MAX_INLINE_LOOPS: Final = 64
"""Pooled loops for :meth:`AsgiBridge.handle_inline`; more concurrent requests take the hop."""
_INLINE_CLOSE_TIMEOUT: Final = 2.0

_JSONRPC_INVALID_REQUEST: Final = -32600
_JSONRPC_INTERNAL_ERROR: Final = -32603


class BridgeError(RuntimeError):
    """Base class of the errors raised by the WSGI bridge."""


class BridgeStartupError(BridgeError):
    """The event-loop thread or the application's lifespan could not be started."""


class UnsupportedServerError(BridgeError):
    """The WSGI server (or worker type) cannot serve the configured MCP transport mode."""


# --------------------------------------------------------------------------------------------
# Server capability check
# --------------------------------------------------------------------------------------------


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


# --------------------------------------------------------------------------------------------
# Environ -> scope, headers
# --------------------------------------------------------------------------------------------


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
    last, e.g. ``{"user": AuthenticatedUser(token), "auth": AuthCredentials(scopes)}`` so the
    SDK's ``AuthContextMiddleware`` exposes the token through ``get_access_token()``.
    """
    script_name = _latin1(environ.get("SCRIPT_NAME", ""))
    path_info = _latin1(environ.get("PATH_INFO", ""))
    full_path = (script_name + path_info) or b"/"
    raw_uri = environ.get("RAW_URI") or environ.get("REQUEST_URI")
    if raw_uri:
        raw_path = _latin1(raw_uri).split(b"?", 1)[0]
    else:
        raw_path = quote(full_path, safe="/:@!$&'()*+,;=~-._").encode("ascii")

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


def strip_hop_by_hop(headers: Iterable[tuple[str, str]]) -> list[tuple[str, str]]:
    """Drop connection-level headers (``Connection``, ``Transfer-Encoding``...), keep the rest in order.

    The SDK's SSE responses carry ``Connection: keep-alive``; PEP 3333 forbids hop-by-hop headers
    in a WSGI response and waitress and wsgiref reject them.
    """
    return [(name, value) for name, value in headers if name.lower() not in HOP_BY_HOP_HEADERS]


def status_line(status: int) -> str:
    """``"200 OK"``: the WSGI status line for ``status``."""
    try:
        phrase = http.HTTPStatus(status).phrase
    except ValueError:
        phrase = "Unknown"
    return f"{status} {phrase}"


def _error_body(status: int, message: str, code: int) -> tuple[int, list[tuple[str, str]], bytes]:
    """A JSON-RPC error body without an id, the shape the SDK uses for its own HTTP errors."""
    body = json.dumps({"jsonrpc": "2.0", "id": None, "error": {"code": code, "message": message}}).encode()
    headers = [("Content-Type", "application/json"), ("Content-Length", str(len(body)))]
    return status, headers, body


# --------------------------------------------------------------------------------------------
# One request/response exchange between a worker thread and the loop thread
# --------------------------------------------------------------------------------------------

_Item: TypeAlias = (
    tuple[Literal["start"], int, list[tuple[str, str]]]
    | tuple[Literal["body"], bytes]
    | tuple[Literal["end"]]
    | tuple[Literal["done"], BaseException | None]
)


class _Exchange:
    """State shared by the worker thread (consumer) and the loop thread (the ASGI app)."""

    def __init__(self, loop: asyncio.AbstractEventLoop, body: bytes) -> None:
        self.loop = loop
        self.items: queue.SimpleQueue[_Item] = queue.SimpleQueue()
        self._body: bytes | None = body
        # asyncio.Event binds to a loop on first use, so creating them here is safe; they are only
        # set from the loop thread (directly or through call_soon_threadsafe).
        self.disconnected = asyncio.Event()
        self._drained = asyncio.Event()
        self._lock = threading.Lock()
        self._queued_bytes = 0
        self._send_waiting = False
        self._started = False
        self._complete = False

    # -- loop side ------------------------------------------------------------------------

    async def receive(self) -> Message:
        if self._body is not None:
            body, self._body = self._body, None
            return {"type": "http.request", "body": body, "more_body": False}
        await self.disconnected.wait()
        return {"type": "http.disconnect"}

    async def send(self, message: Message) -> None:
        kind = message["type"]
        if self.disconnected.is_set() and not self._complete:
            raise OSError("the WSGI client disconnected")
        if kind == "http.response.start":
            if self._started:
                raise RuntimeError("ASGI app sent http.response.start twice")
            self._started = True
            headers = strip_hop_by_hop(
                (bytes(k).decode("latin-1"), bytes(v).decode("latin-1"))
                for k, v in message.get("headers", ())
            )
            self.items.put(("start", int(message["status"]), headers))
        elif kind == "http.response.body":
            if not self._started:
                raise RuntimeError("ASGI app sent a response body before http.response.start")
            if self._complete:
                return
            chunk = bytes(message.get("body", b""))
            if chunk:
                with self._lock:
                    self._queued_bytes += len(chunk)
                    wait = self._queued_bytes > _HIGH_WATER
                    if wait:
                        self._send_waiting = True
                        self._drained.clear()
                self.items.put(("body", chunk))
                if wait:
                    await self._drained.wait()
            if not message.get("more_body", False):
                self._complete = True
                self.items.put(("end",))
                # ASGI: once the response is complete, receive() reports a disconnect.
                self.disconnected.set()
        # Other message types (trailers, extensions) are not supported by WSGI; ignore them.

    # -- worker side ----------------------------------------------------------------------

    def consumed(self, nbytes: int) -> None:
        """Account for a body chunk handed to the WSGI server; wake a waiting ``send``."""
        with self._lock:
            self._queued_bytes -= nbytes
            wake = self._send_waiting and self._queued_bytes <= _LOW_WATER
            if wake:
                self._send_waiting = False
        if wake:
            self._call_in_loop(self._drained.set)

    def signal_disconnect(self) -> None:
        """Tell the app the client is gone (``http.disconnect``); also release a blocked ``send``."""
        self._call_in_loop(self.disconnected.set)
        self._call_in_loop(self._drained.set)

    def _call_in_loop(self, callback: Callable[[], object]) -> None:
        with contextlib.suppress(RuntimeError):  # the loop is already closed
            self.loop.call_soon_threadsafe(callback)


# --------------------------------------------------------------------------------------------
# The loop thread
# --------------------------------------------------------------------------------------------


class _LoopThread:
    """One event loop in one daemon thread, holding the application's lifespan open."""

    def __init__(self, factory: AppFactory, name: str) -> None:
        self.pid = os.getpid()
        self._factory = factory
        self._runner = asyncio.Runner(loop_factory=asyncio.new_event_loop)
        # The runner copies the current context for its main task: start it from an empty one
        # so the lifespan (and every session task it spawns) never sees the WSGI thread's
        # contextvars, such as a framework's request context.
        self.loop = contextvars.Context().run(self._runner.get_loop)
        self.app: ASGIApp | None = None
        self.error: BaseException | None = None
        self.ready = threading.Event()
        self._stop = asyncio.Event()
        self._main_task: asyncio.Task[None] | None = None
        self._tasks: set[asyncio.Task[None]] = set()
        self.thread = threading.Thread(target=self._run, name=name, daemon=True)

    @property
    def alive(self) -> bool:
        return self.thread.is_alive() and self.app is not None and not self.loop.is_closed()

    def start(self, timeout: float) -> None:
        """Start the thread and wait until the lifespan has been entered (or failed)."""
        self.thread.start()
        if not self.ready.wait(timeout):
            self.stop(timeout=1.0)
            raise BridgeStartupError(f"the ASGI lifespan did not start within {timeout:g} s")
        if self.error is not None or self.app is None:
            self.thread.join(timeout=1.0)
            raise BridgeStartupError("the ASGI application or its lifespan failed to start") from self.error

    def _run(self) -> None:
        try:
            self._runner.run(self._main())
        except BaseException:
            if self.ready.is_set() and self.error is None:
                logger.exception("the WSGI bridge event loop stopped unexpectedly")
        finally:
            # Cancels whatever is still pending, shuts down async generators and the default
            # executor, and closes the loop.
            self._runner.close()
            self.ready.set()

    async def _main(self) -> None:
        self._main_task = asyncio.current_task()
        try:
            app, lifespan = self._factory()
            async with contextlib.AsyncExitStack() as stack:
                if lifespan is not None:
                    await stack.enter_async_context(lifespan)
                self.app = app
                self.ready.set()
                await self._stop.wait()
                await self._cancel_requests()
        except BaseException as exc:
            if not self.ready.is_set():
                self.error = exc
                logger.error("the WSGI bridge could not start the ASGI application", exc_info=exc)
                return
            raise
        finally:
            self.app = None
            self.ready.set()

    async def _cancel_requests(self) -> None:
        tasks = set(self._tasks)
        for task in tasks:
            task.cancel()
        if tasks:
            await asyncio.wait(tasks, timeout=_STOP_GRACE)

    async def serve(self, app: ASGIApp, scope: Scope, exchange: _Exchange) -> None:
        """Run one request; registered so that stopping the thread can cancel it."""
        task = asyncio.current_task()
        assert task is not None
        self._tasks.add(task)
        try:
            await app(scope, exchange.receive, exchange.send)
        finally:
            self._tasks.discard(task)

    def _request_stop(self) -> None:
        self._stop.set()
        if not self.ready.is_set() and self._main_task is not None:
            self._main_task.cancel()  # still starting (a stuck lifespan): abandon the startup

    def stop(self, timeout: float) -> bool:
        """Ask the loop to leave the lifespan and wait for the thread; True if it ended."""
        with contextlib.suppress(RuntimeError):
            self.loop.call_soon_threadsafe(self._request_stop)
        if self.thread.is_alive() and self.thread is not threading.current_thread():
            self.thread.join(timeout)
        return not self.thread.is_alive()


# --------------------------------------------------------------------------------------------
# Loops run by the worker threads themselves (no thread hop)
# --------------------------------------------------------------------------------------------


class _InlineLoop:
    """An event loop that a WSGI worker thread borrows to run one request itself.

    A long-lived root task holds an anyio task group and starts each request as a child task:
    the request gets a copy of an empty context (never the worker thread's contextvars, nor a
    previous request's), and anyio's worker threads (where the SDK runs synchronous tools) stay
    bound to the root task, so they are reused across requests instead of started per request.
    Only one thread runs the loop at a time (the pool hands it out); between requests it is idle.
    """

    def __init__(self) -> None:
        self.pid = os.getpid()
        self.loop = asyncio.new_event_loop()
        self._inbox: asyncio.Queue[tuple[Callable[[], Awaitable[Any]], asyncio.Future[Any]] | None] = (
            asyncio.Queue()
        )
        self._root = contextvars.Context().run(self.loop.create_task, self._serve())

    async def _serve(self) -> None:
        import anyio

        async with anyio.create_task_group() as group:
            while True:
                item = await self._inbox.get()
                if item is None:
                    group.cancel_scope.cancel()
                    return
                group.start_soon(self._one, *item)

    @staticmethod
    async def _one(work: Callable[[], Awaitable[Any]], future: asyncio.Future[Any]) -> None:
        try:
            result = await work()
        except asyncio.CancelledError:
            if not future.done():
                future.cancel()
            raise
        except BaseException as exc:  # handed to the waiting worker thread, never to the group
            if not future.done():
                future.set_exception(exc)
            return
        if not future.done():
            future.set_result(result)

    @property
    def usable(self) -> bool:
        return self.pid == os.getpid() and not self.loop.is_closed() and not self._root.done()

    def run(self, work: Callable[[], Awaitable[Any]]) -> Any:
        """Run ``work()`` on this loop in the calling thread and return its result."""
        future: asyncio.Future[Any] = self.loop.create_future()
        self._inbox.put_nowait((work, future))
        return self.loop.run_until_complete(future)

    def close(self) -> None:
        """Stop the root task (and with it anyio's worker threads), then close the loop."""
        if self.loop.is_closed() or self.loop.is_running() or self.pid != os.getpid():
            return
        if asyncio._get_running_loop() is not None:
            # Called from async code (a test, an ASGI lifespan): this thread cannot run another
            # loop, so close it from a short-lived helper thread.
            helper = threading.Thread(target=self._close_now, name="mcp-tools-inline-close", daemon=True)
            helper.start()
            helper.join(_INLINE_CLOSE_TIMEOUT + 1.0)
            return
        self._close_now()

    def _close_now(self) -> None:
        try:
            if not self._root.done():
                self._inbox.put_nowait(None)
                self.loop.run_until_complete(asyncio.wait_for(self._root, _INLINE_CLOSE_TIMEOUT))
            self.loop.run_until_complete(self.loop.shutdown_asyncgens())
        except BaseException:  # closing must not fail the caller
            logger.debug("an inline event loop did not stop cleanly", exc_info=True)
        finally:
            self.loop.close()


async def _collect_response(
    app: ASGIApp, scope: Scope, body: bytes, timeout: float | None
) -> tuple[int, list[tuple[str, str]], bytes] | BaseException | None:
    """Run ``app`` for one request and buffer its response.

    Returns ``(status, headers, body)``, the exception the app raised before starting its
    response, or ``None`` when it returned without starting one.
    """
    sent = False
    complete = asyncio.Event()
    start: tuple[int, list[tuple[str, str]]] | None = None
    chunks: list[bytes] = []

    async def receive() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        await complete.wait()
        return {"type": "http.disconnect"}

    async def send(message: Message) -> None:
        nonlocal start
        kind = message["type"]
        if kind == "http.response.start":
            if start is not None:
                raise RuntimeError("ASGI app sent http.response.start twice")
            headers = strip_hop_by_hop(
                (bytes(k).decode("latin-1"), bytes(v).decode("latin-1"))
                for k, v in message.get("headers", ())
            )
            start = (int(message["status"]), headers)
        elif kind == "http.response.body":
            if start is None:
                raise RuntimeError("ASGI app sent a response body before http.response.start")
            if complete.is_set():
                return
            chunk = bytes(message.get("body", b""))
            if chunk:
                chunks.append(chunk)
            if not message.get("more_body", False):
                complete.set()

    try:
        if timeout is None:
            await app(scope, receive, send)
        else:
            await asyncio.wait_for(app(scope, receive, send), timeout)
    except Exception as exc:
        if start is None:
            return exc
        logger.error("the ASGI application failed after starting its response", exc_info=exc)
    if start is None:
        return None
    return start[0], start[1], b"".join(chunks)


# --------------------------------------------------------------------------------------------
# The response handed to the WSGI side
# --------------------------------------------------------------------------------------------


@dataclass
class BridgeResponse:
    """A response coming back from the ASGI app: status and headers now, body as it arrives.

    Iterate it to get the body chunks, blocking until each one is sent by the app. Always
    :meth:`close` it (every WSGI server and framework response does): closing before the end
    tells the app the client disconnected and then cancels it.
    """

    status: int
    headers: list[tuple[str, str]]
    _chunks: Iterator[bytes] = field(repr=False)
    _close: Callable[[], None] = field(repr=False)

    @property
    def status_line(self) -> str:
        """The WSGI status string, e.g. ``"200 OK"``."""
        return status_line(self.status)

    def __iter__(self) -> Iterator[bytes]:
        return self._chunks

    def close(self) -> None:
        """Finish the exchange; if the body was not fully read, disconnect and cancel the app."""
        self._close()

    def start(self, start_response: StartResponse) -> BridgeResponse:
        """Hand the status and headers to ``start_response`` and return self as the WSGI body;
        if ``start_response`` raises, the exchange is closed first (the app is not left running)."""
        try:
            start_response(self.status_line, self.headers)
        except BaseException:
            self.close()
            raise
        return self

    @classmethod
    def fixed(cls, status: int, headers: list[tuple[str, str]], body: bytes) -> BridgeResponse:
        """A response produced by the bridge itself, without running the app."""
        return cls(status, headers, iter((body,)), lambda: None)


class _Stream:
    """Iterator over the body chunks of one exchange (the worker-thread side)."""

    def __init__(
        self, exchange: _Exchange, future: concurrent.futures.Future[None], loop_thread: _LoopThread
    ) -> None:
        self._exchange = exchange
        self._future = future
        self._loop_thread = loop_thread
        self._finished = False

    def __iter__(self) -> Iterator[bytes]:
        return self

    def __next__(self) -> bytes:
        if self._finished:
            raise StopIteration
        item = _next_item(self._exchange, self._loop_thread, timeout=None)
        if item is None or item[0] == "done":
            self._finished = True
            error = item[1] if item is not None else None
            if item is not None and error is None:
                raise StopIteration  # the app returned without more_body=False: treat as the end
            # Raising makes the WSGI server abort the connection, so the client sees a truncated
            # response instead of a complete-looking one.
            raise BridgeError("the ASGI application failed while streaming its response") from error
        if item[0] == "end":
            self._finished = True
            raise StopIteration
        if item[0] == "body":
            self._exchange.consumed(len(item[1]))
            return item[1]
        raise BridgeError("the ASGI application sent http.response.start twice")

    def close(self) -> None:
        if self._finished or self._future.done():
            # Read to the end (the app may still be tidying up after its response; let it).
            self._finished = True
            return
        # The client went away (or the server stopped iterating): disconnect, then cancel.
        self._finished = True
        self._exchange.signal_disconnect()
        with contextlib.suppress(Exception):
            self._future.result(timeout=_DISCONNECT_GRACE)
        if not self._future.done():
            self._future.cancel()


def _next_item(exchange: _Exchange, loop_thread: _LoopThread, timeout: float | None) -> _Item | None:
    """Next message from the app; None on timeout or when the loop thread has died."""
    waited = 0.0
    while True:
        step = _POLL_INTERVAL if timeout is None else min(_POLL_INTERVAL, timeout - waited)
        try:
            return exchange.items.get(timeout=max(step, 0.0))
        except queue.Empty:
            waited += step
            if not loop_thread.thread.is_alive():
                # The loop thread may have queued its last item just before exiting.
                try:
                    return exchange.items.get_nowait()
                except queue.Empty:
                    return None
            if timeout is not None and waited >= timeout:
                return None


# --------------------------------------------------------------------------------------------
# The bridge
# --------------------------------------------------------------------------------------------

_bridges: weakref.WeakSet[AsgiBridge] = weakref.WeakSet()


class AsgiBridge:
    """Serve an ASGI app (the SDK's streamable HTTP endpoint) from WSGI worker threads.

    ``app`` is served as is and ``lifespan`` (optional) is a *factory* returning the async
    context manager to hold open while the loop runs, e.g. ``lambda: manager.run()``. A session
    manager's ``run()`` can be entered only once, so this form suits a process that starts the
    loop once; when the bridge must be able to start again (after ``fork``, or after the loop
    thread died) build a fresh manager each time with :meth:`from_factory`.

    The bridge is itself a WSGI application; adapters that want to keep the request inside their
    own views call :meth:`handle` and wrap the returned :class:`BridgeResponse`.

    Args:
        app: the ASGI application to serve.
        lifespan: zero-argument callable returning the async context manager to enter once per
            loop thread (``None``: nothing to enter).
        startup_timeout: seconds to wait for the loop thread and lifespan to start.
        response_timeout: seconds to wait for the response *headers*; ``None`` waits forever.
            Body streaming (SSE) is never timed out.
        max_body_size: request bodies above this many bytes get 413 without reaching the app.
        stateful, sse: how the served endpoint is configured; on the first request the bridge
            calls :func:`check_wsgi_server` with them and refuses servers that cannot work.
        name: the loop thread's name.
    """

    def __init__(
        self,
        app: ASGIApp,
        *,
        lifespan: Callable[[], AbstractAsyncContextManager[object]] | None = None,
        startup_timeout: float = 10.0,
        response_timeout: float | None = None,
        max_body_size: int = DEFAULT_MAX_BODY_SIZE,
        stateful: bool = False,
        sse: bool = False,
        name: str = "mcp-tools-wsgi-bridge",
    ) -> None:
        def factory() -> tuple[ASGIApp, AbstractAsyncContextManager[object] | None]:
            return app, (lifespan() if lifespan is not None else None)

        self._init(factory, startup_timeout, response_timeout, max_body_size, stateful, sse, name)

    @classmethod
    def from_factory(
        cls,
        factory: AppFactory,
        *,
        startup_timeout: float = 10.0,
        response_timeout: float | None = None,
        max_body_size: int = DEFAULT_MAX_BODY_SIZE,
        stateful: bool = False,
        sse: bool = False,
        name: str = "mcp-tools-wsgi-bridge",
    ) -> AsgiBridge:
        """A bridge that calls ``factory()`` in each new loop thread for a fresh ``(app, lifespan)``.

        This is the fork-safe form: a gunicorn worker forked from a ``--preload`` master, or a
        bridge restarting after its loop thread died, gets a new session manager instead of one
        whose ``run()`` was already used. ``factory`` runs on the loop thread.
        """
        bridge = cls.__new__(cls)
        bridge._init(factory, startup_timeout, response_timeout, max_body_size, stateful, sse, name)
        return bridge

    def _init(
        self,
        factory: AppFactory,
        startup_timeout: float,
        response_timeout: float | None,
        max_body_size: int,
        stateful: bool,
        sse: bool,
        name: str,
    ) -> None:
        if startup_timeout <= 0:
            raise ValueError("startup_timeout must be positive")
        if response_timeout is not None and response_timeout <= 0:
            raise ValueError("response_timeout must be positive or None")
        if max_body_size <= 0:
            raise ValueError("max_body_size must be a positive number of bytes")
        self._factory = factory
        self.startup_timeout = startup_timeout
        self.response_timeout = response_timeout
        self.max_body_size = max_body_size
        self.stateful = stateful
        self.sse = sse
        self.name = name
        self._lock = threading.Lock()
        self._loop_thread: _LoopThread | None = None
        self._closed = False
        self._checked_pid: int | None = None
        self._inline_idle: list[_InlineLoop] = []
        self._inline_count = 0
        _bridges.add(self)

    # -- lifecycle --------------------------------------------------------------------------

    @property
    def running(self) -> bool:
        """True when this process has a live loop thread with the lifespan entered."""
        lt = self._loop_thread
        return lt is not None and lt.pid == os.getpid() and lt.alive

    def start(self) -> None:
        """Start the loop thread now instead of on the first request.

        Raises :class:`BridgeStartupError` if the factory or lifespan fails or times out, and
        :class:`BridgeError` after :meth:`shutdown`.
        """
        self._ensure_started()

    def shutdown(self, timeout: float = 5.0) -> None:
        """Leave the lifespan, stop the loop thread and wait up to ``timeout`` seconds for it.

        In-flight requests are cancelled. The bridge cannot be used afterwards; requests get 503.
        Called for every live bridge at interpreter exit.
        """
        with self._lock:
            self._closed = True
            lt, self._loop_thread = self._loop_thread, None
            idle, self._inline_idle = self._inline_idle, []
        for inline in idle:  # loops borrowed right now are closed when they are given back
            inline.close()
        if lt is not None and lt.pid == os.getpid() and not lt.stop(timeout):
            logger.warning("the WSGI bridge loop thread did not stop within %g s", timeout)

    def _ensure_started(self) -> _LoopThread:
        lt = self._loop_thread
        if lt is not None and lt.pid == os.getpid() and lt.alive:
            return lt
        with self._lock:
            if self._closed:
                raise BridgeError("the WSGI bridge has been shut down")
            lt = self._loop_thread
            if lt is not None and lt.pid == os.getpid():
                if lt.alive:
                    return lt
                logger.error("the WSGI bridge event loop thread has ended; starting a new one")
                lt.stop(timeout=1.0)
            # A loop thread inherited across fork (lt.pid != our pid) does not exist in this
            # process; its loop must not be touched, only forgotten.
            self._loop_thread = None
            new = _LoopThread(self._factory, self.name)
            new.start(self.startup_timeout)
            self._loop_thread = new
            return new

    def _after_fork_in_child(self) -> None:
        # The parent's lock may have been held at fork time and its thread does not exist here.
        self._lock = threading.Lock()
        self._loop_thread = None
        # The parent's inline loops (and their anyio worker threads) are not ours to run.
        self._inline_idle = []
        self._inline_count = 0

    def _borrow_inline(self) -> _InlineLoop | None:
        with self._lock:
            while self._inline_idle:
                inline = self._inline_idle.pop()
                if inline.usable:
                    return inline
                self._inline_count -= 1
            if self._closed or self._inline_count >= _MAX_INLINE_LOOPS:
                return None
            self._inline_count += 1
        try:
            return _InlineLoop()
        except BaseException:
            with self._lock:
                self._inline_count -= 1
            raise

    def _give_back_inline(self, inline: _InlineLoop) -> None:
        with self._lock:
            keep = not self._closed and inline.usable and inline.pid == os.getpid()
            if keep:
                self._inline_idle.append(inline)
            else:
                self._inline_count -= 1
        if not keep:
            inline.close()

    # -- requests ---------------------------------------------------------------------------

    def __call__(
        self,
        environ: WSGIEnvironment,
        start_response: StartResponse,
        *,
        body: bytes | None = None,
        extra_scope: Mapping[str, Any] | None = None,
    ) -> Iterable[bytes]:
        """The WSGI entry point; see :meth:`handle` for ``body`` and ``extra_scope``."""
        return self.handle(environ, body=body, extra_scope=extra_scope).start(start_response)

    call = __call__

    def _prepare(
        self, environ: WSGIEnvironment, body: bytes | None
    ) -> BridgeResponse | tuple[bytes, _LoopThread, ASGIApp]:
        """What every request needs first: the body (bounded), a running loop thread and its app.

        Returns the refusal (400/413/503) instead when one of them cannot be had.
        """
        self._check_server(environ)
        if body is None:
            read = self._read_body(environ)
            if isinstance(read, BridgeResponse):
                return read
            body = read
        elif len(body) > self.max_body_size:
            return self._too_large()
        try:
            lt = self._ensure_started()
        except BridgeStartupError:
            logger.exception("the WSGI bridge could not start")
            return BridgeResponse.fixed(*_error_body(503, "Service unavailable", _JSONRPC_INTERNAL_ERROR))
        except BridgeError:
            return BridgeResponse.fixed(*_error_body(503, "Service unavailable", _JSONRPC_INTERNAL_ERROR))
        app = lt.app
        if app is None:
            return BridgeResponse.fixed(*_error_body(503, "Service unavailable", _JSONRPC_INTERNAL_ERROR))
        return body, lt, app

    def handle(
        self,
        environ: WSGIEnvironment,
        *,
        body: bytes | None = None,
        extra_scope: Mapping[str, Any] | None = None,
    ) -> BridgeResponse:
        """Run one request through the ASGI app; return once the response headers are known.

        Args:
            environ: the WSGI environ of the request.
            body: the request body if the caller has already read it; otherwise it is read from
                ``wsgi.input`` (respecting ``CONTENT_LENGTH``, bounded by ``max_body_size``).
            extra_scope: entries merged into the ASGI scope, e.g. the authenticated identity.

        Errors become JSON-RPC-shaped JSON responses without internals: 400 (bad
        ``Content-Length``), 413 (body too large), 500 (the app failed before its response
        started), 503 (loop unavailable or shut down), 504 (``response_timeout``).
        :class:`UnsupportedServerError` is raised for a server that cannot serve the mode.
        """
        prepared = self._prepare(environ, body)
        if isinstance(prepared, BridgeResponse):
            return prepared
        body, lt, app = prepared

        scope = build_scope(environ, extra_scope)
        exchange = _Exchange(lt.loop, body)
        try:
            # Submitted from an empty context: the app runs without the worker thread's
            # contextvars (a framework's request context would be stale while a stream runs).
            future = contextvars.Context().run(
                asyncio.run_coroutine_threadsafe, lt.serve(app, scope, exchange), lt.loop
            )
        except RuntimeError:  # the loop closed between the check and the submission
            return BridgeResponse.fixed(*_error_body(503, "Service unavailable", _JSONRPC_INTERNAL_ERROR))
        future.add_done_callback(lambda f: exchange.items.put(("done", _future_error(f))))

        item = _next_item(exchange, lt, timeout=self.response_timeout)
        if item is not None and item[0] == "start":
            stream = _Stream(exchange, future, lt)
            return BridgeResponse(item[1], item[2], stream, stream.close)

        # No response headers: a failure, a timeout, or the loop went away.
        exchange.signal_disconnect()
        future.cancel()
        if item is None and lt.thread.is_alive():
            logger.warning("the ASGI application sent no response within %g s", self.response_timeout or 0)
            return BridgeResponse.fixed(*_error_body(504, "Gateway timeout", _JSONRPC_INTERNAL_ERROR))
        if item is None or (item[0] == "done" and isinstance(item[1], asyncio.CancelledError | BridgeError)):
            return BridgeResponse.fixed(*_error_body(503, "Service unavailable", _JSONRPC_INTERNAL_ERROR))
        if item[0] == "done" and item[1] is not None:
            logger.error("the ASGI application failed before starting its response", exc_info=item[1])
        else:
            logger.error("the ASGI application returned without sending a response")
        return BridgeResponse.fixed(*_error_body(500, "Internal server error", _JSONRPC_INTERNAL_ERROR))

    def handle_inline(
        self,
        environ: WSGIEnvironment,
        *,
        body: bytes | None = None,
        extra_scope: Mapping[str, Any] | None = None,
    ) -> BridgeResponse:
        """Like :meth:`handle`, but the calling worker thread runs the app itself (no thread hop).

        The app runs on an event loop borrowed from a pool (one loop per concurrently served
        request), not on the bridge's loop thread, and the whole response is buffered. Use it
        only for requests whose handling touches nothing bound to the loop thread: no
        streaming, no stateful session, no coroutine of the application that may hold
        loop-bound resources (for the MCP endpoint, ``McpEndpoint.loop_free`` decides). The
        lifespan still runs on the loop thread, which is started if needed. When the pool is
        exhausted the request takes the normal path through :meth:`handle`.
        """
        prepared = self._prepare(environ, body)
        if isinstance(prepared, BridgeResponse):
            return prepared
        body, _lt, app = prepared
        inline = self._borrow_inline()
        if inline is None:
            return self.handle(environ, body=body, extra_scope=extra_scope)
        scope = build_scope(environ, extra_scope)
        timeout = self.response_timeout
        try:
            outcome = inline.run(lambda: _collect_response(app, scope, body, timeout))
        except asyncio.CancelledError:
            outcome = asyncio.CancelledError()
        finally:
            self._give_back_inline(inline)
        if isinstance(outcome, tuple):
            status, headers, content = outcome
            return BridgeResponse.fixed(status, headers, content)
        if isinstance(outcome, TimeoutError):
            logger.warning("the ASGI application sent no response within %g s", timeout or 0)
            return BridgeResponse.fixed(*_error_body(504, "Gateway timeout", _JSONRPC_INTERNAL_ERROR))
        if isinstance(outcome, asyncio.CancelledError):
            return BridgeResponse.fixed(*_error_body(503, "Service unavailable", _JSONRPC_INTERNAL_ERROR))
        if outcome is not None:
            logger.error("the ASGI application failed before starting its response", exc_info=outcome)
        else:
            logger.error("the ASGI application returned without sending a response")
        return BridgeResponse.fixed(*_error_body(500, "Internal server error", _JSONRPC_INTERNAL_ERROR))

    def _check_server(self, environ: WSGIEnvironment) -> None:
        if not (self.stateful or self.sse) or self._checked_pid == os.getpid():
            return
        check_wsgi_server(environ, stateful=self.stateful, sse=self.sse)
        self._checked_pid = os.getpid()

    def _too_large(self) -> BridgeResponse:
        return BridgeResponse.fixed(*_error_body(413, "Request body too large", _JSONRPC_INVALID_REQUEST))

    def _read_body(self, environ: WSGIEnvironment) -> bytes | BridgeResponse:
        try:
            return read_wsgi_body(environ, self.max_body_size)
        except InvalidBody as exc:
            if exc.status == 413:
                return self._too_large()
            return BridgeResponse.fixed(*_error_body(400, "Invalid Content-Length", _JSONRPC_INVALID_REQUEST))


class InvalidBody(ValueError):
    """A request body that cannot be read: ``status`` 400 (bad ``Content-Length``) or 413 (too large)."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


def read_wsgi_body(environ: WSGIEnvironment, max_size: int) -> bytes:
    """The request body from ``wsgi.input``, at most ``max_size`` bytes.

    Respects ``CONTENT_LENGTH``; without one, reads only when the server marks the input as
    terminated (PEP 3333, e.g. a chunked body). Raises :class:`InvalidBody` (400 or 413).
    """
    raw_length = environ.get("CONTENT_LENGTH") or ""
    stream = environ.get("wsgi.input")
    if raw_length:
        try:
            length = int(raw_length)
            if length < 0:
                raise ValueError
        except ValueError:
            raise InvalidBody(400, "invalid Content-Length") from None
        if length > max_size:
            raise InvalidBody(413, f"request body exceeds {max_size} bytes")
        return _read_exactly(stream, length)
    if stream is None or not environ.get("wsgi.input_terminated", False):
        return b""
    chunks: list[bytes] = []
    total = 0
    while True:
        chunk = stream.read(64 * 1024)
        if not chunk:
            return b"".join(chunks)
        total += len(chunk)
        if total > max_size:
            raise InvalidBody(413, f"request body exceeds {max_size} bytes")
        chunks.append(chunk)


def _read_exactly(stream: Any, length: int) -> bytes:
    if stream is None or length == 0:
        return b""
    chunks: list[bytes] = []
    remaining = length
    while remaining > 0:
        chunk = stream.read(min(remaining, 64 * 1024))
        if not chunk:
            break  # the client sent less than it announced; hand over what arrived
        chunks.append(chunk)
        remaining -= len(chunk)
    return b"".join(chunks)


def _future_error(future: concurrent.futures.Future[None]) -> BaseException | None:
    if future.cancelled():
        return asyncio.CancelledError()
    return future.exception()


# --------------------------------------------------------------------------------------------
# Process-wide hooks: fork and exit
# --------------------------------------------------------------------------------------------


def _reset_bridges_in_child() -> None:
    for bridge in list(_bridges):
        bridge._after_fork_in_child()


def _shutdown_bridges_at_exit() -> None:
    for bridge in list(_bridges):
        with contextlib.suppress(Exception):
            bridge.shutdown(timeout=2.0)


def _register_exit_hook() -> None:
    # anyio's worker threads (where the SDK runs synchronous tools) are not daemon threads and
    # live until their loop's root task ends. Python joins such threads *before* running atexit
    # callbacks, so a hook registered with atexit alone would never run: the process would hang
    # at exit (a gunicorn worker until the arbiter kills it). threading's own exit hooks run
    # before that join; concurrent.futures uses the same one.
    register = getattr(threading, "_register_atexit", None)
    if register is not None:
        register(_shutdown_bridges_at_exit)
    else:  # pragma: no cover - every supported Python has it
        atexit.register(_shutdown_bridges_at_exit)


os.register_at_fork(after_in_child=_reset_bridges_in_child)
_register_exit_hook()
