"""A small asyncio HTTP/1.1 load generator (keep-alive, raw sockets), the fallback to ``wrk``.

Same contract as ``mcp.lua``: ``concurrency`` connections, each sending the same request
back to back, bounded by ``max_requests`` and ``seconds``; returns the same figures. It runs
in the benchmark's own process and so competes with the server for the 2 cores more than
wrk does (see docs/benchmarks.md for the side-by-side comparison).
"""

from __future__ import annotations

import asyncio
import time
from typing import Any


def _request_bytes(method: str, host: str, path: str, headers: dict[str, str], body: bytes) -> bytes:
    lines = [f"{method} {path} HTTP/1.1", f"Host: {host}"]
    lines += [f"{k}: {v}" for k, v in headers.items()]
    if body or method == "POST":
        lines.append(f"Content-Length: {len(body)}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body


async def _read_response(reader: asyncio.StreamReader) -> int:
    head = await reader.readuntil(b"\r\n\r\n")
    status_line, _, rest = head.partition(b"\r\n")
    status = int(status_line.split(b" ", 2)[1])
    length = 0
    chunked = False
    for line in rest.split(b"\r\n"):
        name, _, value = line.partition(b":")
        lowered = name.strip().lower()
        if lowered == b"content-length":
            length = int(value.strip())
        elif lowered == b"transfer-encoding" and b"chunked" in value.lower():
            chunked = True
    if chunked:
        while True:
            size = int((await reader.readuntil(b"\r\n")).split(b";")[0], 16)
            await reader.readexactly(size + 2)
            if size == 0:
                break
    elif length:
        await reader.readexactly(length)
    return status


async def _run(
    port: int,
    path: str,
    method: str,
    headers: dict[str, str],
    body: bytes,
    concurrency: int,
    seconds: float,
    max_requests: int,
) -> dict[str, Any]:
    payload = _request_bytes(method, f"127.0.0.1:{port}", path, headers, body)
    latencies: list[float] = []
    counters = {"not_ok": 0, "errors": 0, "sent": 0}
    deadline = time.perf_counter() + seconds

    async def worker() -> None:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        try:
            while time.perf_counter() < deadline and counters["sent"] < max_requests:
                counters["sent"] += 1
                began = time.perf_counter()
                writer.write(payload)
                try:
                    status = await asyncio.wait_for(_read_response(reader), timeout=5.0)
                except (TimeoutError, asyncio.IncompleteReadError, ConnectionError):
                    counters["errors"] += 1
                    writer.close()
                    reader, writer = await asyncio.open_connection("127.0.0.1", port)
                    continue
                latencies.append(time.perf_counter() - began)
                if status != 200:
                    counters["not_ok"] += 1
        finally:
            writer.close()

    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    elapsed = time.perf_counter() - started
    latencies.sort()

    def pct(p: float) -> int:
        if not latencies:
            return 0
        return int(latencies[min(len(latencies) - 1, int(p / 100 * len(latencies)))] * 1e6)

    return {
        "requests": len(latencies),
        "responses": len(latencies),
        "duration_us": int(elapsed * 1e6),
        "not_ok": counters["not_ok"],
        "errors": {
            "connect": 0,
            "read": counters["errors"],
            "write": 0,
            "status": counters["not_ok"],
            "timeout": 0,
        },
        "p50_us": pct(50),
        "p90_us": pct(90),
        "p99_us": pct(99),
        "max_us": int(latencies[-1] * 1e6) if latencies else 0,
        "mean_us": (sum(latencies) / len(latencies) * 1e6) if latencies else 0.0,
    }


def run_load(
    port: int,
    path: str,
    *,
    method: str = "POST",
    headers: dict[str, str],
    body: bytes = b"",
    concurrency: int,
    seconds: float,
    max_requests: int,
) -> dict[str, Any]:
    """Run one bounded load test on 127.0.0.1:``port`` and return wrk-shaped figures."""
    return asyncio.run(_run(port, path, method, headers, body, concurrency, seconds, max_requests))
