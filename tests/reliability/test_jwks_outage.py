"""The JWKS endpoint down, slow or rotated, seen through every adapter's MCP endpoint.

A small HTTP server on 127.0.0.1 serves the contract's public JWKS and can be switched to
answer 500, to hang, or to serve rotated keys. The verifier caches nothing but keys
(``cache_ttl=0``), so every request exercises the key lookup. Expected:

* keys cached -> an outage changes nothing for tokens signed with them;
* a token naming a key nobody has (unknown ``kid``) is never accepted: 503 while the JWKS
  cannot be consulted, 401 once it answers without that key;
* nothing cached and the JWKS down -> 503 ``temporarily_unavailable`` with ``Retry-After`` and
  no bearer challenge (not the client's fault), within the configured timeout when it hangs.
"""

from __future__ import annotations

import contextlib
import json
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from joserfc.jwk import RSAKey

from mcp_tools.server.verifiers.jwt import JWTVerifier
from tests.contract.spec import ISSUER, RESOURCE, SIGNING_KEY, mint
from tests.contract.suite import MCP_PATH, ContractClient, HttpResult, mcp_headers, rpc
from tests.security.adapters import ADAPTERS, open_adapter

ROTATED = RSAKey.generate_key(2048, parameters={"kid": "rotated-2"}, private=True)
TIMEOUT = 1.0


class JwksServer:
    """Serves ``keys``; ``mode`` is ``"up"``, ``"error"`` (HTTP 500) or ``"hang"``."""

    def __init__(self) -> None:
        self.mode = "up"
        self.keys: list[RSAKey] = [SIGNING_KEY]
        self.hits = 0
        self.release = threading.Event()
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                outer.hits += 1
                if outer.mode == "hang":
                    outer.release.wait(10)
                    return
                if outer.mode == "error":
                    self.send_response(500)
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                body = json.dumps({"keys": [k.as_dict(private=False) for k in outer.keys]}).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/jwks.json"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def __enter__(self) -> JwksServer:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.release.set()
        self.httpd.shutdown()
        self.httpd.server_close()
        self.thread.join(timeout=10)


def verifier_for(server: JwksServer) -> JWTVerifier:
    return JWTVerifier(
        issuer=ISSUER,
        audience=RESOURCE,
        jwks_uri=server.url,
        timeout=TIMEOUT,
        jwks_cache_ttl=0.2,  # expires at once: every later request wants a refresh
        jwks_min_refetch_interval=0.2,
        cache_ttl=0,
    )


@contextlib.contextmanager
def adapter_with_jwks(kind: str) -> Iterator[tuple[JwksServer, ContractClient]]:
    with JwksServer() as server, open_adapter(kind, verifier=verifier_for(server)) as client:
        yield server, client


def list_tools(client: ContractClient, token: str) -> HttpResult:
    return client.request("POST", MCP_PATH, headers=mcp_headers(token), body=rpc("tools/list"))


def assert_unavailable(result: HttpResult) -> None:
    assert result.status == 503, result.body
    assert result.json()["error"] == "temporarily_unavailable"
    assert "retry-after" in result.headers
    assert "www-authenticate" not in result.headers


@pytest.mark.parametrize("kind", ADAPTERS)
def test_cached_keys_outlive_an_outage_and_unknown_keys_are_refused(kind: str) -> None:
    with adapter_with_jwks(kind) as (server, client):
        assert list_tools(client, mint(sub="before")).status == 200
        server.mode = "error"
        time.sleep(0.3)  # past the JWKS cache TTL and the refetch interval
        for sub in ("during-1", "during-2"):
            assert list_tools(client, mint(sub=sub)).status == 200  # stale keys keep serving
        stranger = mint(key=ROTATED)  # kid "rotated-2": not in the cached set
        assert_unavailable(list_tools(client, stranger))  # cannot tell while the JWKS is down
        server.mode = "up"
        time.sleep(0.3)
        result = list_tools(client, stranger)
        assert result.status == 401, result.body  # the JWKS answers, without that key
        server.keys = [SIGNING_KEY, ROTATED]  # key rotation published
        time.sleep(0.3)
        assert list_tools(client, mint(key=ROTATED)).status == 200


@pytest.mark.parametrize("kind", ADAPTERS)
def test_nothing_cached_and_jwks_down_is_503(kind: str) -> None:
    with adapter_with_jwks(kind) as (server, client):
        server.mode = "error"
        assert_unavailable(list_tools(client, mint()))
        server.mode = "up"
        time.sleep(0.3)  # the failure is remembered for the refetch interval only
        assert list_tools(client, mint()).status == 200


@pytest.mark.parametrize("kind", ADAPTERS)
def test_hanging_jwks_is_bounded_by_the_timeout(kind: str) -> None:
    with adapter_with_jwks(kind) as (server, client):
        server.mode = "hang"
        started = time.monotonic()
        assert_unavailable(list_tools(client, mint()))
        assert time.monotonic() - started < TIMEOUT + 1.5
        # while the failure is fresh, further requests fail fast without another wait
        started = time.monotonic()
        assert_unavailable(list_tools(client, mint()))
        assert time.monotonic() - started < 0.5


def test_jwks_endpoint_refused_connection_is_503() -> None:
    with JwksServer() as server:
        url = server.url
    verifier = JWTVerifier(issuer=ISSUER, audience=RESOURCE, jwks_uri=url, timeout=TIMEOUT, cache_ttl=0)
    with open_adapter("fastapi", verifier=verifier) as client:
        started = time.monotonic()
        assert_unavailable(list_tools(client, mint()))
        assert time.monotonic() - started < TIMEOUT + 1
