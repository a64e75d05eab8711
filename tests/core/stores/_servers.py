"""Throwaway Redis and PostgreSQL servers on free 127.0.0.1 ports, for restart tests.

They never touch the machine's shared servers. Binaries that are missing make the test skip
(fail under CI=true, through ``conftest.unavailable``).
"""

from __future__ import annotations

import contextlib
import glob
import os
import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path

from .conftest import free_port, unavailable


def wait_listening(port: int, seconds: float = 20.0) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.05)
    raise TimeoutError(f"nothing listening on 127.0.0.1:{port} after {seconds}s")


class OwnRedis:
    """``redis-server`` with an append-only file in a temp dir, so data survives a restart."""

    def __init__(self) -> None:
        self.binary = shutil.which("redis-server")
        if self.binary is None:
            unavailable("redis-server binary not found; cannot run the Redis restart test")
        self.port = free_port()
        self.dir = tempfile.mkdtemp(prefix="mcp-redis-")
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        assert self.binary is not None
        self.process = subprocess.Popen(
            [
                self.binary,
                "--bind",
                "127.0.0.1",
                "--port",
                str(self.port),
                "--save",
                "",
                "--appendonly",
                "yes",
                "--appendfsync",
                "always",
                "--dir",
                self.dir,
                "--logfile",
                os.path.join(self.dir, "log"),
            ],
        )
        wait_listening(self.port)

    def stop(self) -> None:
        if self.process is not None:
            self.process.terminate()
            self.process.wait(timeout=10)
            self.process = None

    def remove(self) -> None:
        self.stop()
        shutil.rmtree(self.dir, ignore_errors=True)


class OwnPostgres:
    """A private PostgreSQL cluster (initdb + pg_ctl) run as the postgres user when we are root."""

    def __init__(self) -> None:
        candidates = sorted(glob.glob("/usr/lib/postgresql/*/bin/pg_ctl"))
        path_ctl = shutil.which("pg_ctl")
        if path_ctl:
            candidates.append(path_ctl)
        if not candidates:
            unavailable("PostgreSQL server binaries (initdb, pg_ctl) not found; cannot run the restart test")
        self.bindir = Path(candidates[-1]).parent
        self.port = free_port()
        self.dir = Path(tempfile.mkdtemp(prefix="mcp-pg-"))
        self.data = self.dir / "data"
        self.user_prefix: list[str] = []
        if os.geteuid() == 0:
            runuser = shutil.which("runuser")
            if runuser is None:
                unavailable("running as root without runuser; cannot start a private PostgreSQL")
            self.user_prefix = [str(runuser), "-u", "postgres", "--"]
            shutil.chown(self.dir, "postgres", "postgres")
        self._run(
            str(self.bindir / "initdb"), "-D", str(self.data), "-A", "trust", "-U", "postgres", "--no-sync"
        )

    @property
    def url(self) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/postgres"

    def _run(self, *args: str) -> None:
        subprocess.run([*self.user_prefix, *args], check=True, capture_output=True, timeout=120)

    def _ctl(self, *args: str) -> None:
        self._run(str(self.bindir / "pg_ctl"), "-D", str(self.data), *args)

    def start(self) -> None:
        options = f"-p {self.port} -c listen_addresses=127.0.0.1 -k {self.dir} -c fsync=off"
        self._ctl("-o", options, "-l", str(self.dir / "log"), "-w", "start")

    def stop(self) -> None:
        self._ctl("-m", "fast", "-w", "stop")

    def remove(self) -> None:
        with contextlib.suppress(subprocess.CalledProcessError):
            self._ctl("-m", "immediate", "-w", "stop")
        shutil.rmtree(self.dir, ignore_errors=True)
