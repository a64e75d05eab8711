"""Fixtures for the client tests: a real authorization server and a real MCP resource server.

The authorization server is npm ``oidc-provider`` run by ``tests/oauth_as/as.mjs`` (installed
with ``npm ci`` from the committed lock file when ``node_modules`` is missing). The resource
server is the FastAPI example app under uvicorn, verifying the AS's JWT access tokens through
its JWKS. Everything listens on 127.0.0.1; every subprocess is killed in a finalizer.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import threading
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urljoin, urlsplit

import pytest
import requests

from examples.fastapi.app import create_app
from mcp_tools.client import UrlGuard
from tests.core.stores.conftest import IN_CI, POSTGRES_URL, REDIS_URL, require_postgres, require_redis
from tests.support.servers import free_port, uvicorn_thread

AS_DIR = Path(__file__).resolve().parents[2] / "oauth_as"
REDIRECT = "https://app.example.test/oauth/callback"
GUARD = UrlGuard(allow_loopback=True, timeout=10)
ACCESS_TOKEN_TTL = 3


def unavailable(reason: str) -> None:
    """Skip locally, fail under CI=true."""
    if IN_CI:
        pytest.fail(f"{reason} (CI=true, so this is a failure, not a skip)")
    pytest.skip(reason)


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture(scope="session")
def oauth_as_installed() -> Path:
    """``tests/oauth_as`` with its pinned node_modules (``npm ci`` on first use)."""
    if shutil.which("node") is None or shutil.which("npm") is None:
        unavailable("Node.js and npm are needed to run the oidc-provider authorization server")
    if not (AS_DIR / "node_modules" / "oidc-provider").is_dir():
        result = subprocess.run(
            ["npm", "ci", "--no-audit", "--no-fund"], cwd=AS_DIR, capture_output=True, text=True, timeout=180
        )
        if result.returncode != 0:
            unavailable(f"npm ci in {AS_DIR} failed: {result.stderr[-500:]}")
    return AS_DIR


@dataclass
class AuthServer:
    """A running oidc-provider: its issuer and its test counters."""

    issuer: str
    process: subprocess.Popen[str]

    def stats(self) -> dict[str, int]:
        return dict(requests.get(f"{self.issuer}/test/stats", timeout=5).json())

    def deny_next(self) -> None:
        requests.post(f"{self.issuer}/test/deny-next", timeout=5).raise_for_status()


@contextlib.contextmanager
def run_auth_server(directory: Path, **env: str) -> Iterator[AuthServer]:
    """Start ``node as.mjs 0`` with ``env``; wait (bounded) for its READY line; kill it afterwards."""
    process = subprocess.Popen(
        ["node", "as.mjs", "0"],
        cwd=directory,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        env={**os.environ, **env},
    )
    try:
        line: list[str] = []
        reader = threading.Thread(
            target=lambda: line.append(process.stdout.readline() if process.stdout else "")
        )
        reader.start()
        reader.join(timeout=20)
        if not line or not line[0].startswith("READY "):
            raise RuntimeError(f"oidc-provider did not start: {line!r}")
        yield AuthServer(line[0].split()[1], process)
    finally:
        process.kill()
        process.wait(timeout=10)


@pytest.fixture(scope="session")
def auth_server(oauth_as_installed: Path) -> Iterator[AuthServer]:
    """oidc-provider in auto-consent mode, access tokens valid for 3 seconds."""
    with run_auth_server(
        oauth_as_installed, AS_AUTO_CONSENT="1", AS_ACCESS_TOKEN_TTL=str(ACCESS_TOKEN_TTL)
    ) as server:
        yield server


@pytest.fixture(scope="session")
def mcp_server(auth_server: AuthServer) -> Iterator[str]:
    """The FastAPI example (notes tools) as the resource server; yields its MCP URL."""
    port = free_port()
    resource = f"http://127.0.0.1:{port}/mcp"
    app = create_app(issuer=auth_server.issuer, resource_url=resource, jwks_uri=f"{auth_server.issuer}/jwks")
    with uvicorn_thread(app, port):
        yield resource


def consent(
    authorization_url: str, browser: requests.Session | None = None, redirect: str = REDIRECT
) -> dict[str, str]:
    """Play the browser: follow the authorization server's redirects until it sends us to ``redirect``.

    Returns the callback's query parameters (``code``, ``state``, ``iss`` or ``error``).
    """
    browser = browser or requests.Session()
    url = authorization_url
    for _ in range(12):
        response = browser.get(url, allow_redirects=False, timeout=10)
        location = response.headers.get("location")
        assert location, f"no redirect from {url}: {response.status_code} {response.text[:300]}"
        if location.startswith(redirect):
            return {k: v[0] for k, v in parse_qs(urlsplit(location).query).items()}
        url = urljoin(url, location)
    raise AssertionError("too many redirects at the authorization server")


@pytest.fixture
def memory_store() -> Any:
    from mcp_tools.stores import MemoryStore

    return MemoryStore()


@dataclass(frozen=True)
class SharedStore:
    """A store on a real server that child processes can open too."""

    kind: str
    url: str
    namespace: str

    def open(self) -> Any:
        from mcp_tools.stores import create_postgres_store, create_redis_store

        if self.kind == "redis":
            return create_redis_store(self.url, key_prefix=self.namespace, connect_timeout=2)
        return create_postgres_store(self.url, table_name=self.namespace, connect_timeout=3, max_size=4)


@pytest.fixture(
    params=[
        pytest.param("redis", marks=pytest.mark.redis),
        pytest.param("postgres", marks=pytest.mark.postgres),
    ]
)
def shared_store(request: pytest.FixtureRequest) -> Iterator[SharedStore]:
    """Redis or PostgreSQL (real servers) under a unique namespace, removed afterwards."""
    if request.param == "redis":
        require_redis()
        shared = SharedStore("redis", REDIS_URL, f"mcp-client-test:{uuid.uuid4().hex[:10]}:")
    else:
        require_postgres()
        shared = SharedStore("postgres", POSTGRES_URL, f"mcp_client_test_{uuid.uuid4().hex[:10]}")
    yield shared
    if shared.kind == "redis":
        import redis

        client = redis.Redis.from_url(REDIS_URL)
        names = list(client.scan_iter(match=shared.namespace + "*")) + list(
            client.scan_iter(match="__lock__:" + shared.namespace + "*")
        )
        if names:
            client.delete(*names)
        client.close()
    else:
        import psycopg
        from psycopg import sql

        with psycopg.connect(POSTGRES_URL, autocommit=True) as conn:
            for table in (shared.namespace, f"{shared.namespace}__locks"):
                conn.execute(sql.SQL("DROP TABLE IF EXISTS {}").format(sql.Identifier(table)))


Consent = Callable[..., dict[str, str]]
