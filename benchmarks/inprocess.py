#!/usr/bin/env python3
"""In-process A/B: CPU per ``tools/call`` of the bare SDK app against the Django ASGI wrapper.

    python benchmarks/inprocess.py [--era modern|legacy] [--requests 6000]

Both ASGI apps run in one process, their lifespans started, and take turns request by request
(A B B A A B ...), so drifts of a shared machine hit both alike. Each request is timed with the
process CPU clock (the SDK runs synchronous tools in a worker thread). No HTTP server and no
sockets: what remains is the app itself, with the CPU caches as cold for our code as they are
in a server, since the other app's request ran in between. The figure to read is the ratio of
the trimmed means; ``nox -s bench`` measures the same over HTTP.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from benchmarks.common import make_keys, mint_token, tool_call_body, tool_call_headers  # noqa: E402


def scope_for(era: str, token: str | None, body: bytes) -> dict[str, Any]:
    headers = [(k.lower().encode(), v.encode()) for k, v in tool_call_headers(era, token).items()]
    headers += [(b"host", b"127.0.0.1:8000"), (b"content-length", str(len(body)).encode())]
    return {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": "/mcp",
        "raw_path": b"/mcp",
        "root_path": "",
        "query_string": b"",
        "headers": headers,
        "client": ("127.0.0.1", 50000),
        "server": ("127.0.0.1", 8000),
    }


async def call(app: Any, scope: dict[str, Any], body: bytes) -> None:
    delivered = False

    async def receive() -> dict[str, Any]:
        nonlocal delivered
        if not delivered:
            delivered = True
            return {"type": "http.request", "body": body, "more_body": False}
        await asyncio.Event().wait()  # no disconnect: the app cancels this wait when it is done
        raise AssertionError("unreachable")

    messages: list[dict[str, Any]] = []

    async def send(message: dict[str, Any]) -> None:
        messages.append(message)

    await app(dict(scope), receive, send)
    if messages[0].get("status") != 200:
        raise SystemExit(f"unexpected answer: {messages}")


async def start(app: Any) -> None:
    inbox: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
    outbox: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
    await inbox.put({"type": "lifespan.startup"})

    async def send(message: dict[str, Any]) -> None:
        await outbox.put(message)

    lifespan = {"type": "lifespan", "asgi": {"version": "3.0"}, "state": {}}
    asyncio.get_running_loop().create_task(app(lifespan, inbox.get, send))
    message = await outbox.get()
    if message["type"] != "lifespan.startup.complete":
        raise SystemExit(f"lifespan failed: {message}")


def trimmed_mean(samples: list[float], cut: float = 0.1) -> float:
    ordered = sorted(samples)
    k = int(len(ordered) * cut)
    kept = ordered[k : len(ordered) - k] or ordered
    return statistics.fmean(kept)


async def run(era: str, requests: int) -> None:
    key, jwks, pem = make_keys()
    os.environ["BENCH_JWKS"] = json.dumps(jwks)
    os.environ["BENCH_PUBLIC_PEM"] = pem
    token = mint_token(key)
    from benchmarks.apps.django_asgi import application as django_app
    from benchmarks.apps.sdk_bare import app as sdk_app

    body = tool_call_body(era)
    contenders = {
        "bare SDK, no auth": (sdk_app, scope_for(era, None, body)),
        "Django ASGI wrapper": (django_app, scope_for(era, token, body)),
    }
    for app, _ in contenders.values():
        await start(app)
    for app, scope in contenders.values():
        for _ in range(300):
            await call(app, scope, body)
    samples: dict[str, list[float]] = {name: [] for name in contenders}
    order = list(contenders.items())
    for i in range(requests):
        for name, (app, scope) in order if i % 2 else reversed(order):
            began = time.process_time()
            await call(app, scope, body)
            samples[name].append((time.process_time() - began) * 1e6)
    base = trimmed_mean(samples["bare SDK, no auth"])
    print(f"{era} tools/call, {requests} requests each, CPU µs per request (trimmed mean, median):")
    for name, values in samples.items():
        mean = trimmed_mean(values)
        print(f"  {name:22} {mean:8.1f} {statistics.median(values):8.1f}   {mean / base:.3f}x the bare SDK")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--era", choices=["modern", "legacy"], default="modern")
    parser.add_argument("--requests", type=int, default=6000)
    args = parser.parse_args()
    asyncio.run(run(args.era, args.requests))
    os._exit(0)  # the apps' lifespans are still running; nothing is left to clean up


if __name__ == "__main__":
    main()
