"""Fixtures for the client tests: a real authorization server and a real MCP resource server.

The authorization server is npm ``oidc-provider`` run by ``tests/oauth_as/as.mjs`` (installed
with ``npm ci`` from the committed lock file when ``node_modules`` is missing). The resource
server is the FastAPI example app under uvicorn, verifying the AS's JWT access tokens through
its JWKS. Everything listens on 127.0.0.1; every subprocess is killed in a finalizer.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import requests

from examples.fastapi.app import create_app
from mcp_tools.client import UrlGuard
from tests.core.stores.conftest import POSTGRES_URL, REDIS_URL, require_postgres, require_redis
from tests.support.oauth_as import AS_DIR, AuthServer, oauth_as_installed, run_auth_server, unavailable
from tests.support.oauth_as import consent as follow_to_redirect
from tests.support.servers import free_port, uvicorn_thread

__all__ = ["AS_DIR", "AuthServer", "oauth_as_installed", "run_auth_server", "unavailable"]
REDIRECT = "https://app.example.test/oauth/callback"
GUARD = UrlGuard(allow_loopback=True, timeout=10)
ACCESS_TOKEN_TTL = 3


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


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
    return follow_to_redirect(authorization_url, redirect, browser)


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
