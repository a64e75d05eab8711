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

import collections
import contextlib
import heapq
import itertools
import os
import socket
import threading
import time
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any, Final

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
    """One daemon thread per process cutting the reads whose deadline passed.

    Arming costs a worker one ``deque.append`` (no lock, no wake-up): the thread looks at new
    deadlines every :data:`_TICK` seconds, which is also the precision of a cut.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._new: collections.deque[Deadline] = collections.deque()
        self._pid: int | None = None

    def arm(self, deadline: Deadline) -> None:
        if self._pid != os.getpid():  # first use, or a forked child: (re)start the thread
            with self._lock:
                if self._pid != os.getpid():
                    self._new = collections.deque()
                    self._pid = os.getpid()
                    threading.Thread(target=self._run, name="mcp-tools-body-deadline", daemon=True).start()
        self._new.append(deadline)

    @staticmethod
    def disarm(deadline: Deadline) -> None:
        deadline.done = True  # dropped by the thread when it comes up

    def _run(self) -> None:
        pid = os.getpid()
        heap: list[tuple[float, int, Deadline]] = []
        order = itertools.count()
        while self._pid == pid:
            time.sleep(_TICK)
            new = self._new
            while new:
                deadline = new.popleft()
                heapq.heappush(heap, (deadline.at, next(order), deadline))
            now = time.monotonic()
            while heap and (heap[0][2].done or heap[0][0] <= now):
                _, _, deadline = heapq.heappop(heap)
                if not deadline.done:
                    deadline.cut_now()


_TICK: Final = 0.25
"""Seconds between the watchdog's looks at the armed deadlines."""

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
