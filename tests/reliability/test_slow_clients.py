"""Slow clients against Flask and Django under gunicorn ``gthread`` with 4 threads, on 127.0.0.1.

Five connections send their headers and then trickle the body one byte at a time. The MCP
endpoint used to read the whole body before looking at the token, so each such connection held
a worker thread for as long as it cared to trickle, and a normal call timed out. Now the bearer
token (a header) is checked first: the unauthenticated tricklers get their 401 at once and hold
nothing, and a normal authenticated call completes. A trickler *with* a valid token gets its
body read under a total deadline (``wsgi_body_timeout``) and a 408 when it runs out.

A client trickling header lines is gunicorn's business (the application is not called before
the headers are complete); ``docs/deployment.md`` says to put a buffering proxy in front.
"""

from __future__ import annotations

import contextlib
import json
import pathlib
import socket
import threading
import time
from collections.abc import Iterator

import pytest
import requests

from mcp_tools.server.options import DEFAULT_BODY_TIMEOUT
from tests.contract.spec import mint
from tests.reliability.soak import jwks_server, server

THREADS = 4
SLOW_CLIENTS = 5
CALL_TIMEOUT = 10.0  # the normal call's own timeout: generous on a loaded 2-core machine
KINDS = ("flask-gunicorn", "django-gunicorn")


class Trickler:
    """Connections that send a request's headers and then one body byte every ``interval``."""

    def __init__(self, port: int, head: bytes, count: int, interval: float = 0.5) -> None:
        self.port, self.head, self.interval = port, head, interval
        self.stop = threading.Event()
        self.sockets = [socket.create_connection(("127.0.0.1", port), timeout=5) for _ in range(count)]
        for sock in self.sockets:
            sock.sendall(head)
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self) -> None:
        while not self.stop.wait(self.interval):
            for sock in self.sockets:
                with contextlib.suppress(OSError):
                    sock.sendall(b" ")

    def close(self) -> None:
        self.stop.set()
        self.thread.join(timeout=5)
        for sock in self.sockets:
            sock.close()


def mcp_head(port: int, *, token: str | None, length: int = 100_000) -> bytes:
    lines = [
        "POST /mcp HTTP/1.1",
        f"Host: 127.0.0.1:{port}",
        "Content-Type: application/json",
        "Accept: application/json, text/event-stream",
        "MCP-Protocol-Version: 2025-11-25",
        f"Content-Length: {length}",
    ]
    if token:
        lines.append(f"Authorization: Bearer {token}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


@contextlib.contextmanager
def served(kind: str, tmp_path: pathlib.Path) -> Iterator[tuple[str, int]]:
    with (
        jwks_server() as jwks_uri,
        server(kind, jwks_uri, tmp_path / "stderr.log", threads=THREADS) as (
            url,
            _pid,
        ),
    ):
        yield url, int(url.rsplit(":", 1)[1].split("/", 1)[0])


def normal_call(url: str) -> requests.Response:
    token = mint(sub="normal", aud=url, scope="notes:read notes:write")
    return requests.post(
        url,
        headers={
            "Authorization": f"Bearer {token}",
            "Content-Type": "application/json",
            "Accept": "application/json, text/event-stream",
            "MCP-Protocol-Version": "2025-11-25",
        },
        data=json.dumps({"jsonrpc": "2.0", "id": 1, "method": "tools/list"}).encode(),
        timeout=CALL_TIMEOUT,
    )


@pytest.mark.parametrize("kind", KINDS)
def test_unauthenticated_body_tricklers_do_not_starve_gthread(kind: str, tmp_path: pathlib.Path) -> None:
    with served(kind, tmp_path) as (url, port):
        slow = Trickler(port, mcp_head(port, token=None), SLOW_CLIENTS)
        try:
            time.sleep(1.5)  # every trickler is in a worker thread by now (old code: all of them)
            for _ in range(3):
                response = normal_call(url)  # requests raises Timeout on the old code
                assert response.status_code == 200, response.text
                assert {t["name"] for t in response.json()["result"]["tools"]} >= {"read_notes"}
            # each trickler got its 401 without the body being read
            for sock in slow.sockets:
                sock.settimeout(5)
                assert sock.recv(64).startswith(b"HTTP/1.1 401"), kind
        finally:
            slow.close()


@pytest.mark.parametrize("kind", KINDS)
def test_an_authenticated_body_trickler_gets_408_within_the_body_deadline(
    kind: str, tmp_path: pathlib.Path
) -> None:
    with served(kind, tmp_path) as (url, port):
        token = mint(sub="slow", aud=url, scope="notes:read notes:write")
        slow = Trickler(port, mcp_head(port, token=token), 1, interval=0.2)
        try:
            sock = slow.sockets[0]
            sock.settimeout(DEFAULT_BODY_TIMEOUT + 20)  # old code: no answer for 100,000 bytes x 0.2 s
            started = time.monotonic()
            answer = b""
            while b"}" not in answer.partition(b"\r\n\r\n")[2]:  # the JSON body (maybe chunked)
                chunk = sock.recv(4096)
                if not chunk:
                    break
                answer += chunk
            elapsed = time.monotonic() - started
            assert answer.startswith(b"HTTP/1.1 408"), answer[:200]
            assert elapsed < DEFAULT_BODY_TIMEOUT + 15
            payload = answer.partition(b"\r\n\r\n")[2]
            document = json.loads(payload[payload.index(b"{") : payload.rindex(b"}") + 1])
            assert document["error"] == "request_timeout"
            # and the server still serves
            assert normal_call(url).status_code == 200
        finally:
            slow.close()
