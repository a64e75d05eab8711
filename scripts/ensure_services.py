#!/usr/bin/env python3
"""Make sure the Redis and PostgreSQL servers the store tests use are listening.

On this project's machines both run at their standard ports (127.0.0.1:6379 and :5432).
Where one is not listening, start it with the machine's own service command; where the
server is not installed at all, install it from Debian's packages (root only). The tests
read ``MCP_TOOLS_TEST_REDIS_URL`` / ``MCP_TOOLS_TEST_POSTGRES_URL`` if set.
"""

from __future__ import annotations

import glob
import os
import shutil
import socket
import subprocess
import time


def listening(port: int, host: str = "127.0.0.1") -> bool:
    try:
        with socket.create_connection((host, port), timeout=1.0):
            return True
    except OSError:
        return False


def wait_for(port: int, seconds: float = 30.0) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if listening(port):
            return True
        time.sleep(0.5)
    return False


def apt_install(*packages: str) -> None:
    if os.geteuid() != 0 or shutil.which("apt-get") is None:
        return
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    subprocess.run(["apt-get", "update", "-q"], check=False, env=env)
    subprocess.run(["apt-get", "install", "-y", "-q", *packages], check=False, env=env)


def ensure_redis() -> None:
    if listening(6379):
        print("ensure_services: redis already listening on 6379")
        return
    if shutil.which("redis-server") is None:
        apt_install("redis-server")
    if shutil.which("redis-server") is None:
        print("ensure_services: redis-server unavailable; redis tests will be skipped")
        return
    os.makedirs("/var/lib/redis", exist_ok=True)
    os.makedirs("/var/log/redis", exist_ok=True)
    subprocess.run(
        ["redis-server", "--daemonize", "yes", "--bind", "127.0.0.1", "--port", "6379", "--save", "",
         "--appendonly", "no", "--dir", "/var/lib/redis", "--logfile", "/var/log/redis/ci.log"],
        check=False,
    )
    print("ensure_services: redis", "started" if wait_for(6379) else "FAILED to start")


def ensure_postgres() -> None:
    if listening(5432):
        print("ensure_services: postgres already listening on 5432")
        return
    if not glob.glob("/etc/postgresql/*"):
        apt_install("postgresql")
    versions = sorted(os.listdir("/etc/postgresql")) if os.path.isdir("/etc/postgresql") else []
    if not versions or shutil.which("pg_ctlcluster") is None:
        print("ensure_services: postgresql unavailable; postgres tests will be skipped")
        return
    subprocess.run(
        ["pg_ctlcluster", "--skip-systemctl-redirect", versions[-1], "main", "start"], check=False
    )
    ok = wait_for(5432)
    print("ensure_services: postgres", "started" if ok else "FAILED to start")
    if ok:
        # The tests connect as postgres to the database "test" over TCP with trust auth, as on this
        # machine kind; create the database where a fresh install lacks it.
        subprocess.run(
            ["su", "postgres", "-c", "psql -tc \"SELECT 1 FROM pg_database WHERE datname='test'\" | "
             "grep -q 1 || createdb test"],
            check=False,
        )


if __name__ == "__main__":
    ensure_redis()
    ensure_postgres()
