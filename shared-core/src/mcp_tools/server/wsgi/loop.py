"""The bridge's loop thread and the flow-controlled exchange of one request with it.

A daemon thread runs one asyncio loop and, inside it, the application's lifespan (for the MCP
endpoint, the session manager's ``run()``). A WSGI worker thread submits a request to that
loop and reads the response back through a queue: the headers as soon as
``http.response.start`` arrives, then each body chunk as it is sent, so server-sent events
stream through WSGI unbuffered.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import contextvars
import logging
import os
import queue
import threading
from collections.abc import Callable, Iterator
from contextlib import AbstractAsyncContextManager
from typing import Final, Literal, TypeAlias

from mcp_tools.asgi import ASGIApp, Message, ResponseCollector, Scope
from mcp_tools.server.wsgi.errors import BridgeError, BridgeStartupError
from mcp_tools.server.wsgi.response import strip_hop_by_hop

__all__ = ["AppFactory", "Exchange", "LoopThread", "Stream", "next_item"]

logger = logging.getLogger(__name__)

AppFactory: TypeAlias = Callable[[], tuple[ASGIApp, AbstractAsyncContextManager[object] | None]]
"""Builds a fresh ``(app, lifespan)`` pair; called once per loop thread (per process, per restart)."""

_DISCONNECT_GRACE: Final = 1.0
"""Seconds a closed response waits for the app to react to ``http.disconnect`` before cancelling it."""
_STOP_GRACE: Final = 1.0
"""Seconds in-flight requests get to finish after cancellation when the loop thread stops."""
_POLL_INTERVAL: Final = 0.5
"""How often a waiting worker thread checks that the loop thread is still alive."""
_HIGH_WATER: Final = 1024 * 1024
_LOW_WATER: Final = 256 * 1024
"""Flow control: the app's ``send`` waits while more than ``_HIGH_WATER`` body bytes are queued."""

Item: TypeAlias = (
    tuple[Literal["start"], int, list[tuple[str, str]]]
    | tuple[Literal["body"], bytes]
    | tuple[Literal["end"]]
    | tuple[Literal["done"], BaseException | None]
)


class Exchange:
    """One request between a worker thread (the consumer) and the loop thread (the ASGI app)."""

    def __init__(self, loop: asyncio.AbstractEventLoop, body: bytes) -> None:
        self.loop = loop
        self.items: queue.SimpleQueue[Item] = queue.SimpleQueue()
        self._body: bytes | None = body
        # asyncio.Event binds to a loop on first use, so creating them here is safe; they are only
        # set from the loop thread (directly or through call_soon_threadsafe).
        self.disconnected = asyncio.Event()
        self._drained = asyncio.Event()
        self._lock = threading.Lock()
        self._queued_bytes = 0
        self._send_waiting = False
        self._response = ResponseCollector(self._on_body, self._on_start)
        self.send = self._response.send
        """The app's ``send``: the shared response state machine, feeding the queue."""

    # -- loop side ------------------------------------------------------------------------

    async def receive(self) -> Message:
        """The app's ``receive``: the whole body once, then ``http.disconnect`` when it happens."""
        if self._body is not None:
            body, self._body = self._body, None
            return {"type": "http.request", "body": body, "more_body": False}
        await self.disconnected.wait()
        return {"type": "http.disconnect"}

    def _on_start(self) -> None:
        if self.disconnected.is_set():
            raise OSError("the WSGI client disconnected")
        response = self._response
        assert response.status is not None
        self.items.put(("start", response.status, strip_hop_by_hop(response.headers)))

    async def _on_body(self, chunk: bytes, end: bool) -> None:
        if self.disconnected.is_set():
            raise OSError("the WSGI client disconnected")
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
        if end:
            self.items.put(("end",))
            # ASGI: once the response is complete, receive() reports a disconnect.
            self.disconnected.set()

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


class LoopThread:
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
        """True while the thread runs with the lifespan entered and the loop open."""
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

    async def _serve(self, app: ASGIApp, scope: Scope, exchange: Exchange) -> None:
        """Run one request; registered so that stopping the thread can cancel it."""
        task = asyncio.current_task()
        assert task is not None
        self._tasks.add(task)
        try:
            await app(scope, exchange.receive, exchange.send)
        finally:
            self._tasks.discard(task)

    def submit(
        self, app: ASGIApp, scope: Scope, body: bytes
    ) -> tuple[Exchange, concurrent.futures.Future[None]]:
        """Start one request on the loop; its messages arrive in ``exchange.items``.

        Raises ``RuntimeError`` when the loop has closed in the meantime.
        """
        exchange = Exchange(self.loop, body)
        # Submitted from an empty context: the app runs without the worker thread's
        # contextvars (a framework's request context would be stale while a stream runs).
        future = contextvars.Context().run(
            asyncio.run_coroutine_threadsafe, self._serve(app, scope, exchange), self.loop
        )
        future.add_done_callback(lambda f: exchange.items.put(("done", _future_error(f))))
        return exchange, future

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


def _future_error(future: concurrent.futures.Future[None]) -> BaseException | None:
    if future.cancelled():
        return asyncio.CancelledError()
    return future.exception()


def next_item(exchange: Exchange, loop_thread: LoopThread, timeout: float | None) -> Item | None:
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


class Stream:
    """Iterator over the body chunks of one exchange (the worker-thread side)."""

    def __init__(
        self, exchange: Exchange, future: concurrent.futures.Future[None], loop_thread: LoopThread
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
        item = next_item(self._exchange, self._loop_thread, timeout=None)
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
        """End the exchange; before its end, disconnect the app, then cancel it after a grace."""
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
