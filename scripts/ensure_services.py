#!/usr/bin/env python3
"""Make sure the Redis and PostgreSQL servers the store tests use are listening.

On this project's machines both run at their standard ports (127.0.0.1:6379 and :5432).
Where one is not listening, start it with the machine's own service command; where the
server is not installed at all, install it from Debian's packages (root only). The tests
read ``MCP_TOOLS_TEST_REDIS_URL`` / ``MCP_TOOLS_TEST_POSTGRES_URL`` if set.

Under ``CI=true`` the script exits non-zero when a server could not be made available: the
store tests fail rather than skip there, and this names the cause first.
"""

from __future__ import annotations

import glob
import os
import shutil
import socket
import subprocess
import sys
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


def ensure_redis() -> bool:
    if listening(6379):
        print("ensure_services: redis already listening on 6379")
        return True
    if shutil.which("redis-server") is None:
        apt_install("redis-server")
    if shutil.which("redis-server") is None:
        print("ensure_services: redis-server unavailable; redis tests will be skipped (fail under CI=true)")
        return False
    os.makedirs("/var/lib/redis", exist_ok=True)
    os.makedirs("/var/log/redis", exist_ok=True)
    subprocess.run(
        [
            "redis-server",
            "--daemonize",
            "yes",
            "--bind",
            "127.0.0.1",
            "--port",
            "6379",
            "--save",
            "",
            "--appendonly",
            "no",
            "--dir",
            "/var/lib/redis",
            "--logfile",
            "/var/log/redis/ci.log",
        ],
        check=False,
    )
    ok = wait_for(6379)
    print("ensure_services: redis", "started" if ok else "FAILED to start")
    return ok


def ensure_test_database() -> None:
    """The tests connect as postgres to the database "test"; create it where it is missing."""
    if shutil.which("psql") is None:
        return
    command = "psql -tc \"SELECT 1 FROM pg_database WHERE datname='test'\" | grep -q 1 || createdb test"
    if os.geteuid() == 0:
        subprocess.run(["su", "postgres", "-c", command], check=False)
    else:
        subprocess.run(
            ["sh", "-c", command], check=False, env=dict(os.environ, PGHOST="127.0.0.1", PGUSER="postgres")
        )


def ensure_postgres() -> bool:
    if listening(5432):
        print("ensure_services: postgres already listening on 5432")
        ensure_test_database()
        return True
    if not glob.glob("/etc/postgresql/*"):
        apt_install("postgresql")
    versions = sorted(os.listdir("/etc/postgresql")) if os.path.isdir("/etc/postgresql") else []
    if not versions or shutil.which("pg_ctlcluster") is None:
        print("ensure_services: postgresql unavailable; postgres tests will be skipped (fail under CI=true)")
        return False
    subprocess.run(["pg_ctlcluster", "--skip-systemctl-redirect", versions[-1], "main", "start"], check=False)
    ok = wait_for(5432)
    print("ensure_services: postgres", "started" if ok else "FAILED to start")
    if ok:
        ensure_test_database()
    return ok


if __name__ == "__main__":
    redis_ok = ensure_redis()
    postgres_ok = ensure_postgres()
    in_ci = os.environ.get("CI", "").strip().lower() in {"1", "true", "yes"}
    if in_ci and not (redis_ok and postgres_ok):
        print("ensure_services: CI=true and a service is missing; failing early", file=sys.stderr)
        raise SystemExit(1)
