"""Run ``mcp-tools demo`` as a child process and read its machine-readable lines (bounded waits)."""

from __future__ import annotations

import os
import queue
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Sequence
from types import TracebackType


class DemoProcess:
    """``python -m mcp_tools.cli demo ARGS`` with its stdout read by a thread.

    ``servers`` maps framework to MCP URL (the ``MCP-SERVER`` lines), ``connector`` and
    ``authorization_server`` hold the ``CONNECTOR`` / ``AUTHORIZATION-SERVER`` URLs once
    :meth:`wait_ready` returned. The process is always stopped on exit.
    """

    def __init__(self, *args: str, env: dict[str, str] | None = None) -> None:
        self.args = ["demo", *args]
        self.lines: list[str] = []
        self.servers: dict[str, str] = {}
        self.connector = ""
        self.authorization_server = ""
        self._queue: queue.Queue[str | None] = queue.Queue()
        self._err = tempfile.TemporaryFile(mode="w+")  # noqa: SIM115 - closed in __exit__
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "mcp_tools.cli", *self.args],
            stdout=subprocess.PIPE,
            stderr=self._err,
            text=True,
            env={**os.environ, **(env or {}), "PYTHONUNBUFFERED": "1"},
        )
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self._queue.put(line.rstrip("\n"))
        self._queue.put(None)

    def _take(self, line: str) -> None:
        self.lines.append(line)
        parts = line.split()
        if len(parts) == 3 and parts[0] == "MCP-SERVER":
            self.servers[parts[1]] = parts[2]
        elif len(parts) == 2 and parts[0] == "CONNECTOR":
            self.connector = parts[1].rstrip("/")
        elif len(parts) == 2 and parts[0] == "AUTHORIZATION-SERVER":
            self.authorization_server = parts[1]

    def wait_for(self, prefix: str, timeout: float = 90.0) -> str:
        deadline = time.monotonic() + timeout
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise TimeoutError(f"no line starting with {prefix!r} within {timeout} s: {self.lines}")
            try:
                line = self._queue.get(timeout=remaining)
            except queue.Empty:
                continue
            if line is None:
                raise RuntimeError(
                    f"mcp-tools demo exited ({self.proc.wait(10)}): {self.lines} {self.stderr()}"
                )
            self._take(line)
            if line.startswith(prefix):
                return line

    def wait_ready(self, timeout: float = 90.0) -> DemoProcess:
        self.wait_for("READY", timeout)
        return self

    def drain(self) -> list[str]:
        while True:
            try:
                line = self._queue.get(timeout=5)
            except queue.Empty:
                return self.lines
            if line is None:
                return self.lines
            self._take(line)

    def stderr(self) -> str:
        self._err.seek(0)
        return self._err.read()

    def stop(self, sig: signal.Signals = signal.SIGINT, timeout: float = 30.0) -> int:
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)
        self.drain()
        return self.proc.returncode

    def __enter__(self) -> DemoProcess:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()
        if self.proc.stdout is not None:
            self.proc.stdout.close()
        self._err.close()


def run_demo(*args: str, timeout: float = 240.0) -> subprocess.CompletedProcess[str]:
    """Run ``mcp-tools demo ARGS`` to completion (``--headless``)."""
    return subprocess.run(
        [sys.executable, "-m", "mcp_tools.cli", "demo", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def port_is_closed(url: str) -> bool:
    import socket
    from urllib.parse import urlsplit

    parts = urlsplit(url)
    with socket.socket() as sock:
        sock.settimeout(2)
        return sock.connect_ex((parts.hostname or "127.0.0.1", parts.port or 80)) != 0


__all__: Sequence[str] = ["DemoProcess", "port_is_closed", "run_demo"]
