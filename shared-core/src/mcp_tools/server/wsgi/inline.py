"""Event loops that WSGI worker threads borrow to run a request themselves (no thread hop).

For requests that touch nothing bound to the bridge's loop thread (see
``McpEndpoint.loop_free``) the worker thread runs the app on a loop of its own, taken from a
small pool, and gets the whole response back.
"""

from __future__ import annotations

import asyncio
import contextvars
import logging
import os
import threading
from collections.abc import Awaitable, Callable
from typing import Any, Final

from mcp_tools._compat import running_loop

__all__ = ["InlineLoop", "InlinePool"]

logger = logging.getLogger(__name__)

_MAX_INLINE_LOOPS: Final = 64
"""Pooled loops per bridge; more concurrent inline requests take the hop to the loop thread."""
_INLINE_CLOSE_TIMEOUT: Final = 2.0


class InlineLoop:
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
        """True when this process owns the loop and its root task still runs."""
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
        if running_loop() is not None:
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


class InlinePool:
    """The idle :class:`InlineLoop` objects of one bridge, at most ``_MAX_INLINE_LOOPS`` in use."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._idle: list[InlineLoop] = []
        self._count = 0
        self._closed = False

    def borrow(self) -> InlineLoop | None:
        """An idle loop, a new one, or ``None`` when the pool is exhausted or closed."""
        with self._lock:
            while self._idle:
                inline = self._idle.pop()
                if inline.usable:
                    return inline
                self._count -= 1
            if self._closed or self._count >= _MAX_INLINE_LOOPS:
                return None
            self._count += 1
        try:
            return InlineLoop()
        except BaseException:
            with self._lock:
                self._count -= 1
            raise

    def give_back(self, inline: InlineLoop) -> None:
        """Return a borrowed loop; it is closed instead when it cannot be reused."""
        with self._lock:
            keep = not self._closed and inline.usable and inline.pid == os.getpid()
            if keep:
                self._idle.append(inline)
            else:
                self._count -= 1
        if not keep:
            inline.close()

    def close(self) -> None:
        """Close the idle loops; loops borrowed right now are closed when they are given back."""
        with self._lock:
            self._closed = True
            idle, self._idle = self._idle, []
        for inline in idle:
            inline.close()

    def after_fork_in_child(self) -> None:
        """Forget the parent's loops (and their anyio worker threads): they are not ours to run."""
        self._lock = threading.Lock()
        self._idle = []
        self._count = 0
