"""Process-wide hooks of the bridges: forget the parent's loops after ``fork``, stop at exit."""

from __future__ import annotations

import contextlib
import os
import weakref
from typing import Protocol

from mcp_tools._compat import register_before_thread_join

__all__ = ["register"]


class _Bridge(Protocol):
    def after_fork_in_child(self) -> None: ...

    def shutdown(self, timeout: float = ...) -> None: ...


_bridges: weakref.WeakSet[_Bridge] = weakref.WeakSet()


def register(bridge: _Bridge) -> None:
    """Have ``bridge`` reset in a forked child and shut down at interpreter exit."""
    _bridges.add(bridge)


def _reset_bridges_in_child() -> None:
    for bridge in list(_bridges):
        bridge.after_fork_in_child()


def _shutdown_bridges_at_exit() -> None:
    for bridge in list(_bridges):
        with contextlib.suppress(Exception):
            bridge.shutdown(timeout=2.0)


os.register_at_fork(after_in_child=_reset_bridges_in_child)
# anyio's worker threads (where the SDK runs synchronous tools) are not daemon threads and live
# until their loop's root task ends; Python joins them before atexit hooks run, so the bridges
# must stop earlier or the process hangs at exit (a gunicorn worker until the arbiter kills it).
register_before_thread_join(_shutdown_bridges_at_exit)
