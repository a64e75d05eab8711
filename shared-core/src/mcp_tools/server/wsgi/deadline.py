"""A total deadline for reading a WSGI request body.

A WSGI server's ``wsgi.input.read(n)`` blocks until ``n`` bytes arrived (gunicorn loops over
``recv`` for them), so a client sending one byte a second holds the worker thread for as long as
the announced body lasts; a per-read socket timeout never fires. :func:`body_deadline` arms one
shared watchdog thread: when the deadline passes before the read is over, it shuts the client
socket down for reading (``shutdown(SHUT_RD)``), which ends the blocked read with what arrived;
the caller then sees the deadline passed and answers 408. Writing the answer still works.

The socket comes from the server's environ (gunicorn ``gunicorn.socket``, werkzeug
``werkzeug.socket``). Servers that buffer the body before calling the application (waitress,
nginx in front) need none; elsewhere the deadline is checked between reads only.
"""

from __future__ import annotations

import contextlib
import heapq
import itertools
import os
import socket
import threading
import time
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from wsgiref.types import WSGIEnvironment

__all__ = ["Deadline", "body_deadline"]

_SOCKET_KEYS = ("gunicorn.socket", "werkzeug.socket")


class Deadline:
    """One armed deadline: :attr:`expired` once its time has passed."""

    __slots__ = ("at", "cut", "done", "sock")

    def __init__(self, at: float, sock: Any) -> None:
        self.at = at
        self.sock = sock
        self.done = False
        self.cut = False  # the watchdog shut the socket down for reading

    @property
    def expired(self) -> bool:
        return self.cut or time.monotonic() >= self.at

    def cut_now(self) -> None:
        """Shut the connection down for reading now (what is unread is given up on)."""
        if self.sock is not None and not self.cut:
            self.cut = True
            with contextlib.suppress(OSError):
                self.sock.shutdown(socket.SHUT_RD)


class _Watchdog:
    """One daemon thread per process cutting the reads whose deadline passed."""

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._heap: list[tuple[float, int, Deadline]] = []
        self._order = itertools.count()
        self._pid: int | None = None

    def arm(self, deadline: Deadline) -> None:
        with self._cond:
            if self._pid != os.getpid():  # first use, or a forked child: (re)start the thread
                self._heap.clear()
                self._pid = os.getpid()
                threading.Thread(target=self._run, name="mcp-tools-body-deadline", daemon=True).start()
            # Wake the watchdog only when it must wait less than it does: with one timeout for
            # every request, a new deadline is rarely the earliest, and a wake-up (a thread
            # switch) per request costs the worker more than the rest of this module.
            earliest = not self._heap or deadline.at < self._heap[0][0]
            heapq.heappush(self._heap, (deadline.at, next(self._order), deadline))
            if earliest:
                self._cond.notify()

    def disarm(self, deadline: Deadline) -> None:
        with self._cond:
            deadline.done = True  # the heap entry is dropped when it comes up

    def _run(self) -> None:
        pid = os.getpid()
        with self._cond:
            while self._pid == pid:
                if not self._heap:
                    self._cond.wait()
                    continue
                at, _, deadline = self._heap[0]
                wait = at - time.monotonic()
                if wait > 0 and not deadline.done:
                    self._cond.wait(wait)
                    continue
                heapq.heappop(self._heap)
                if not deadline.done:
                    deadline.cut = True
                    with contextlib.suppress(OSError):
                        deadline.sock.shutdown(socket.SHUT_RD)


_watchdog = _Watchdog()


@contextlib.contextmanager
def body_deadline(environ: WSGIEnvironment, seconds: float) -> Iterator[Deadline]:
    """Bound the body reads done in the block by ``seconds`` in total (see the module)."""
    sock = next((environ[k] for k in _SOCKET_KEYS if hasattr(environ.get(k), "shutdown")), None)
    deadline = Deadline(time.monotonic() + seconds, sock)
    if sock is None:
        yield deadline
        return
    _watchdog.arm(deadline)
    try:
        yield deadline
    finally:
        _watchdog.disarm(deadline)
