"""In-process micro-benchmarks: token verification, the bearer guard, metadata documents.

Each figure is the median over ``repeats`` timed batches of the cost of one call, in
microseconds. The reference is the raw joserfc verify of the same token (decode with the
static JWKS plus ``iss``/``aud``/``exp`` validation), which any JWT resource server pays.
"""

from __future__ import annotations

import asyncio
import json
import statistics
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from benchmarks.common import (
    CLIENT_ID,
    ISSUER,
    RESOURCE_URL,
    SCOPE,
    JoseVerifier,
    mint_token,
    tool_call_body,
    tool_call_headers,
)


def per_call_us(fn: Callable[[], object], seconds: float, repeats: int = 5) -> float:
    """Median CPU microseconds per call of ``fn`` over ``repeats`` batches of about ``seconds / repeats``.

    CPU time of this process (not wall time), so other load on the machine matters less.
    """
    fn()
    began = time.process_time()
    calls = 0
    while time.process_time() - began < 0.02:
        fn()
        calls += 1
    per_batch = max(1, int(calls / (time.process_time() - began) * seconds / repeats))
    samples = []
    for _ in range(repeats):
        start = time.process_time()
        for _ in range(per_batch):
            fn()
        samples.append((time.process_time() - start) / per_batch * 1e6)
    return statistics.median(samples)


def distinct_tokens_us(
    make_verify: Callable[[], Callable[[str], object]], tokens: list[str], repeats: int
) -> float:
    """Median microseconds per verification when every token is new to the verifier."""
    samples = []
    for _ in range(repeats):
        verify = make_verify()
        start = time.process_time()
        for token in tokens:
            if verify(token) is None:
                raise RuntimeError("a benchmark token was refused")
        samples.append((time.process_time() - start) / len(tokens) * 1e6)
    return statistics.median(samples)


@contextmanager
def introspection_endpoint() -> Iterator[str]:
    """A loopback RFC 7662 endpoint answering "active" for any token."""

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            self.rfile.read(int(self.headers.get("Content-Length") or 0))
            body = json.dumps(
                {
                    "active": True,
                    "client_id": CLIENT_ID,
                    "scope": SCOPE,
                    "sub": "alice",
                    "aud": RESOURCE_URL,
                    "iss": ISSUER,
                    "exp": int(time.time()) + 3600,
                }
            ).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.1}, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/introspect"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


def run_micro(key: Any, jwks: dict[str, Any], token: str, seconds: float = 0.5) -> dict[str, Any]:
    """Every micro-benchmark; returns ``{"rows": [...]}`` with microseconds and ratios to raw."""
    from benchmarks.common import build_server
    from mcp_tools.http import Headers, Request
    from mcp_tools.server.bearer import BearerGuard
    from mcp_tools.server.resource_server import McpResourceServer
    from mcp_tools.server.verifiers.introspection import IntrospectionVerifier
    from mcp_tools.server.verifiers.jwt import JWTVerifier

    raw = JoseVerifier(jwks)

    def our_verifier() -> JWTVerifier:
        return JWTVerifier(issuer=ISSUER, audience=RESOURCE_URL, keys=jwks)

    verifier = our_verifier()
    rows: list[dict[str, Any]] = []

    def add(name: str, us: float, note: str = "") -> None:
        rows.append({"name": name, "us": us, "note": note})

    raw_us = per_call_us(lambda: raw.raw_verify(token), seconds)
    add("raw joserfc verify (decode + iss/aud/exp), same token", raw_us, "reference")
    add("SDK-style verifier (raw verify + AccessToken)", per_call_us(lambda: raw.verify_sync(token), seconds))
    add(
        "JWTVerifier.verify_token_sync, same token",
        per_call_us(lambda: verifier.verify_token_sync(token), seconds),
    )

    loop = asyncio.new_event_loop()
    try:

        async def batch(n: int) -> None:
            for _ in range(n):
                await verifier.verify_token(token)

        add(
            "JWTVerifier.verify_token (async), same token",
            per_call_us(lambda: loop.run_until_complete(batch(100)), seconds) / 100,
        )
    finally:
        loop.close()

    tokens = [mint_token(key, subject=f"user-{i}") for i in range(400)]
    raw_distinct = distinct_tokens_us(lambda: raw.raw_verify, tokens, 5)
    add("raw joserfc verify, every token new", raw_distinct, "reference (cold)")
    add(
        "JWTVerifier.verify_token_sync, every token new",
        distinct_tokens_us(lambda: our_verifier().verify_token_sync, tokens, 5),
    )

    guard = BearerGuard(verifier, resource_url=RESOURCE_URL, required_scopes=[SCOPE])
    headers = tool_call_headers("modern", token)
    headers["Host"] = "127.0.0.1:8000"
    request = Request(
        method="POST",
        url="http://127.0.0.1:8000/mcp",
        headers=Headers(list(headers.items())),
        body=tool_call_body("modern"),
    )
    add(
        "BearerGuard.authenticate_sync (header parse + verify + checks)",
        per_call_us(lambda: guard.authenticate_sync(request), seconds),
    )

    resource_server = McpResourceServer(
        build_server(),
        verifier=verifier,
        resource_url=RESOURCE_URL,
        authorization_servers=[ISSUER],
        scopes=[SCOPE],
    )
    endpoint = resource_server.endpoint
    add(
        "McpEndpoint.authorize_sync (Host/Origin + scopes + guard)",
        per_call_us(lambda: endpoint.authorize_sync(request), seconds),
    )
    metadata_request = Request(
        method="GET",
        url="http://127.0.0.1:8000/.well-known/oauth-protected-resource/mcp",
        headers=Headers([("Host", "127.0.0.1:8000")]),
        body=b"",
    )
    add(
        "protected resource metadata document (McpResourceServer)",
        per_call_us(lambda: resource_server.handle_protected_resource(metadata_request), seconds),
    )

    with introspection_endpoint() as url:
        introspection = IntrospectionVerifier(
            introspection_endpoint=url,
            client_id="rs",
            client_secret="secret",
            audience=RESOURCE_URL,
            issuer=ISSUER,
        )
        opaque = "opaque-" + "x" * 40
        if introspection.verify_token_sync(opaque) is None:
            raise RuntimeError("introspection refused the benchmark token")
        add(
            "IntrospectionVerifier.verify_token_sync, cache hit",
            per_call_us(lambda: introspection.verify_token_sync(opaque), seconds),
        )

    for row in rows:
        reference = raw_distinct if "new" in row["name"] else raw_us
        row["ratio_to_raw"] = row["us"] / reference
    return {"rows": rows}
