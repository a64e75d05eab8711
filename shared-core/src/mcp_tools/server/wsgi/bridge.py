"""Serve an ASGI application (the SDK's streamable HTTP endpoint) from WSGI worker threads.

The MCP SDK is ASGI-only, and its ``StreamableHTTPSessionManager`` must run inside one
long-lived event loop, which a WSGI server does not have. :class:`AsgiBridge` keeps one per
process on a daemon thread (:mod:`.loop`), started on the first request and again in a forked
child; requests that touch nothing bound to that loop may run on the worker thread itself
(:mod:`.inline`). See ``docs/wsgi-bridge.md``.
"""

from __future__ import annotations

import asyncio
import logging
import os
import threading
from collections.abc import Callable, Iterable, Mapping
from contextlib import AbstractAsyncContextManager
from typing import TYPE_CHECKING, Any, NamedTuple

from mcp_tools.asgi import ASGIApp, Scope, collect_response
from mcp_tools.server.options import DEFAULT_MAX_BODY
from mcp_tools.server.wsgi import hooks
from mcp_tools.server.wsgi.environ import InvalidBody, build_scope, check_wsgi_server, read_wsgi_body
from mcp_tools.server.wsgi.errors import BridgeError, BridgeStartupError, refusal
from mcp_tools.server.wsgi.inline import InlinePool
from mcp_tools.server.wsgi.loop import AppFactory, LoopThread, Stream, next_item
from mcp_tools.server.wsgi.response import BridgeResponse, strip_hop_by_hop

if TYPE_CHECKING:
    from wsgiref.types import StartResponse, WSGIEnvironment

__all__ = ["AsgiBridge"]

logger = logging.getLogger(__name__)


class _Prepared(NamedTuple):
    loop_thread: LoopThread
    app: ASGIApp
    scope: Scope
    body: bytes


class AsgiBridge:
    """Serve an ASGI app (the SDK's streamable HTTP endpoint) from WSGI worker threads.

    Give either ``app`` (with an optional ``lifespan``) or ``factory``:

    * ``factory`` is called in each new loop thread for a fresh ``(app, lifespan)`` pair. This
      is the fork-safe form: a gunicorn worker forked from a ``--preload`` master, or a bridge
      restarting after its loop thread died, gets a new session manager instead of one whose
      ``run()`` was already used. It runs on the loop thread.
    * ``app`` is served as is, and ``lifespan`` (optional) is a zero-argument callable returning
      the async context manager to hold open while the loop runs, e.g. ``lambda: manager.run()``;
      a manager's ``run()`` can be entered only once, so this form suits a loop started once.

    The bridge is itself a WSGI application; views call :meth:`handle` (or
    :meth:`handle_inline`) and wrap the returned :class:`BridgeResponse`.

    Args:
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
        app: ASGIApp | None = None,
        *,
        factory: AppFactory | None = None,
        lifespan: Callable[[], AbstractAsyncContextManager[object]] | None = None,
        startup_timeout: float = 10.0,
        response_timeout: float | None = None,
        max_body_size: int = DEFAULT_MAX_BODY,
        stateful: bool = False,
        sse: bool = False,
        name: str = "mcp-tools-wsgi-bridge",
    ) -> None:
        if (app is None) == (factory is None):
            raise TypeError("AsgiBridge takes either an app or a factory")
        if factory is None:
            if lifespan is not None and not callable(lifespan):
                raise TypeError("lifespan must be a callable returning an async context manager")
            fixed_app = app

            def factory() -> tuple[ASGIApp, AbstractAsyncContextManager[object] | None]:
                assert fixed_app is not None
                return fixed_app, (lifespan() if lifespan is not None else None)

        elif lifespan is not None:
            raise TypeError("a factory returns its own lifespan; pass lifespan only with app")
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
        self._loop_thread: LoopThread | None = None
        self._closed = False
        self._checked_pid: int | None = None
        self._inline = InlinePool()
        hooks.register(self)

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
        self._inline.close()
        if lt is not None and lt.pid == os.getpid() and not lt.stop(timeout):
            logger.warning("the WSGI bridge loop thread did not stop within %g s", timeout)

    def after_fork_in_child(self) -> None:
        """Forget the parent's loop thread and inline loops (called by the fork hook)."""
        # The parent's lock may have been held at fork time and its thread does not exist here.
        self._lock = threading.Lock()
        self._loop_thread = None
        self._inline.after_fork_in_child()

    def _ensure_started(self) -> LoopThread:
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
            new = LoopThread(self._factory, self.name)
            new.start(self.startup_timeout)
            self._loop_thread = new
            return new

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

    def handle(
        self,
        environ: WSGIEnvironment,
        *,
        body: bytes | None = None,
        extra_scope: Mapping[str, Any] | None = None,
        scope: Scope | None = None,
        inline: bool = False,
    ) -> BridgeResponse:
        """Run one request through the ASGI app; return once the response headers are known.

        Args:
            environ: the WSGI environ of the request.
            body: the request body if the caller has already read it; otherwise it is read from
                ``wsgi.input`` (respecting ``CONTENT_LENGTH``, bounded by ``max_body_size``).
            extra_scope: entries merged into the ASGI scope, e.g. the authenticated identity.
            scope: the scope the caller already built from ``environ`` with :func:`build_scope`;
                ``body`` then comes with it, read and bounded by the caller, and is not
                checked again.
            inline: the calling worker thread runs the app itself, on an event loop borrowed
                from a pool, and the whole response is buffered (no thread hop). Only for
                requests that touch nothing bound to the loop thread: no streaming, no stateful
                session, no application coroutine that may hold loop-bound resources (for the
                MCP endpoint, ``McpEndpoint.loop_free`` decides). The lifespan still runs on the
                loop thread; when the pool is exhausted the request takes the hop instead.

        Errors become JSON-RPC-shaped JSON responses without internals: 400 (bad
        ``Content-Length``), 413 (body too large), 500 (the app failed before its response
        started), 503 (loop unavailable or shut down), 504 (``response_timeout``).
        :class:`UnsupportedServerError` is raised for a server that cannot serve the mode.
        """
        prepared = self._prepare(environ, body, extra_scope, scope)
        if isinstance(prepared, BridgeResponse):
            return prepared
        return self._run_inline(prepared) if inline else self._hop(prepared)

    def handle_inline(self, environ: WSGIEnvironment, **options: Any) -> BridgeResponse:
        """:meth:`handle` with ``inline=True``."""
        return AsgiBridge.handle(self, environ, inline=True, **options)  # the method, not a wrapper of it

    def _run_inline(self, prepared: _Prepared) -> BridgeResponse:
        inline = self._inline.borrow()
        if inline is None:
            return self._hop(prepared)
        app, scope, body, timeout = prepared.app, prepared.scope, prepared.body, self.response_timeout
        try:
            outcome = inline.run(lambda: collect_response(app, scope, body, timeout))
        except asyncio.CancelledError:
            outcome = asyncio.CancelledError()
        finally:
            self._inline.give_back(inline)
        if isinstance(outcome, tuple):
            status, headers, content = outcome
            return BridgeResponse.fixed(status, strip_hop_by_hop(headers), content)
        if isinstance(outcome, TimeoutError):
            logger.warning("the ASGI application sent no response within %g s", timeout or 0)
            return refusal(504)
        if isinstance(outcome, asyncio.CancelledError):
            return refusal(503)
        return self._failed(outcome)

    def _prepare(
        self,
        environ: WSGIEnvironment,
        body: bytes | None,
        extra_scope: Mapping[str, Any] | None,
        scope: Scope | None,
    ) -> BridgeResponse | _Prepared:
        """What every request needs first: the body (bounded), a running loop thread and its app,
        and the scope. Returns the refusal (400/413/503) instead when one cannot be had."""
        self._check_server(environ)
        if scope is None:
            if body is None:
                try:
                    body = read_wsgi_body(environ, self.max_body_size)
                except InvalidBody as exc:
                    return refusal(exc.status)
            elif len(body) > self.max_body_size:
                return refusal(413)
        elif body is None:
            raise TypeError("a prepared scope comes with its body")
        try:
            lt = self._ensure_started()
        except BridgeStartupError:
            logger.exception("the WSGI bridge could not start")
            return refusal(503)
        except BridgeError:
            return refusal(503)
        app = lt.app
        if app is None:
            return refusal(503)
        if scope is None:
            scope = build_scope(environ, extra_scope)
        elif extra_scope:
            scope.update(extra_scope)
        return _Prepared(lt, app, scope, body)

    def _hop(self, prepared: _Prepared) -> BridgeResponse:
        """Serve a prepared request on the loop thread; stream its body back."""
        lt = prepared.loop_thread
        try:
            exchange, future = lt.submit(prepared.app, prepared.scope, prepared.body)
        except RuntimeError:  # the loop closed between the check and the submission
            return refusal(503)

        item = next_item(exchange, lt, timeout=self.response_timeout)
        if item is not None and item[0] == "start":
            stream = Stream(exchange, future, lt)
            return BridgeResponse(item[1], item[2], stream, stream.close)

        # No response headers: a failure, a timeout, or the loop went away.
        exchange.signal_disconnect()
        future.cancel()
        if item is None and lt.thread.is_alive():
            logger.warning("the ASGI application sent no response within %g s", self.response_timeout or 0)
            return refusal(504)
        if item is None or (item[0] == "done" and isinstance(item[1], asyncio.CancelledError | BridgeError)):
            return refusal(503)
        return self._failed(item[1] if item[0] == "done" else None)

    @staticmethod
    def _failed(error: BaseException | None) -> BridgeResponse:
        if error is not None:
            logger.error("the ASGI application failed before starting its response", exc_info=error)
        else:
            logger.error("the ASGI application returned without sending a response")
        return refusal(500)

    def _check_server(self, environ: WSGIEnvironment) -> None:
        if not (self.stateful or self.sse) or self._checked_pid == os.getpid():
            return
        check_wsgi_server(environ, stateful=self.stateful, sse=self.sse)
        self._checked_pid = os.getpid()
