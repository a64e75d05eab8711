"""Bounded soak test: 8 concurrent clients for 60 seconds through each adapter (``nox -s soak``).

Not collected by pytest (not a ``test_*`` module): run ``python -m tests.reliability.soak`` or
``nox -s soak [-- --duration 60 --clients 8 --only fastapi-uvicorn]``.

Each server is the project's example app in a subprocess on 127.0.0.1 (FastAPI under uvicorn,
Flask under gunicorn ``gthread``, Django under gunicorn ``gthread`` and under uvicorn), verifying
RS256 JWTs against a JWKS served by this process. Each client thread loops over: ``tools/list``
(2025 era), ``tools/call read_notes`` (2026 era), the same without a token (must be 401) and the
protected resource metadata (200). Beside them run hostile and heavy peers: *slow clients*
(``--slow-clients``) that send a request's headers and then trickle its body a byte at a time,
half of them without a token (refused at once, body given up on) and half with one (408 after
``wsgi_body_timeout`` on WSGI), reconnecting each time; and *stream holders*
(``--stream-holders``) that keep a long ``review_notes`` call open (or, where the example has no
slow tool, an idle kept-alive connection). Only the normal clients'
answers count as errors; the others' outcomes are printed. After a warm-up, the serving
process's ``VmRSS`` (gunicorn: its worker) is read from ``/proc``; the run fails on any
unexpected status or exception, on RSS growth of 10 % or more, or on a traceback or a token in
the server's stderr.
"""

from __future__ import annotations

import argparse
import json
import os
import pathlib
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import requests

from tests.contract.spec import ISSUER, mint, public_jwks
from tests.support.servers import free_port

ROOT = pathlib.Path(__file__).resolve().parents[2]
BIN = pathlib.Path(sys.executable).parent
MAX_GROWTH = 0.10
SERVERS = ("fastapi-uvicorn", "flask-gunicorn", "django-gunicorn", "django-uvicorn")


@contextmanager
def jwks_server() -> Iterator[str]:
    body = json.dumps(public_jwks()).encode()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: Any) -> None:
            pass

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}/jwks.json"
    finally:
        httpd.shutdown()
        httpd.server_close()
        thread.join(timeout=10)


def command(kind: str, port: int, threads: int = 8) -> tuple[list[str], pathlib.Path]:
    bind = f"127.0.0.1:{port}"
    gunicorn = [str(BIN / "gunicorn"), "-k", "gthread", "-w", "1", "--threads", str(threads), "-b", bind]
    uvicorn = [str(BIN / "uvicorn"), "--host", "127.0.0.1", "--port", str(port), "--log-level", "warning"]
    django = ROOT / "examples" / "django"
    if kind == "fastapi-uvicorn":
        return [*uvicorn, "examples.fastapi.app:app"], ROOT
    if kind == "flask-gunicorn":
        return [*gunicorn, "examples.flask.app:create_app_from_env()"], ROOT
    if kind == "django-gunicorn":
        return [*gunicorn, "notes_project.wsgi:application"], django
    if kind == "django-uvicorn":
        return [*uvicorn, "--lifespan", "on", "notes_project.asgi:application"], django
    raise ValueError(kind)


@contextmanager
def server(
    kind: str, jwks_uri: str, stderr_path: pathlib.Path, *, threads: int = 8
) -> Iterator[tuple[str, int]]:
    """The example app under ``kind``; yields ``(mcp_url, pid)``. Always killed (process group)."""
    port = free_port()
    resource = f"http://127.0.0.1:{port}/mcp"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MCP_", "DJANGO_"))}
    env.update(
        MCP_ISSUER=ISSUER,
        MCP_JWKS_URI=jwks_uri,
        MCP_RESOURCE_URL=resource,
        DJANGO_SETTINGS_MODULE="notes_project.settings",
        DJANGO_DEBUG="0",
        PYTHONPATH=os.pathsep.join(p for p in (str(ROOT), os.environ.get("PYTHONPATH")) if p),
    )
    argv, cwd = command(kind, port, threads)
    with stderr_path.open("wb") as stderr:
        process = subprocess.Popen(
            argv, cwd=cwd, env=env, stdout=subprocess.DEVNULL, stderr=stderr, start_new_session=True
        )
    try:
        deadline = time.monotonic() + 30
        while True:
            if process.poll() is not None:
                raise RuntimeError(f"{kind} exited: {stderr_path.read_text(errors='replace')[-2000:]}")
            try:
                if requests.get(
                    f"http://127.0.0.1:{port}/.well-known/oauth-protected-resource/mcp", timeout=1
                ).ok:
                    break
            except requests.RequestException:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"{kind} not ready on 127.0.0.1:{port}")
            time.sleep(0.1)
        yield resource, process.pid
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGTERM)
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait(timeout=15)


def children(pid: int) -> list[int]:
    found = []
    for entry in pathlib.Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
                found.append(int(entry.name))
    return found


def rss_kib(pid: int) -> int:
    for line in pathlib.Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise RuntimeError(f"no VmRSS for {pid}")


def serving_pid(kind: str, pid: int) -> int:
    """The process that serves requests: uvicorn itself, gunicorn's (single) worker."""
    if "gunicorn" not in kind:
        return pid
    workers = children(pid)
    if len(workers) != 1:
        raise RuntimeError(f"expected one gunicorn worker under {pid}, found {workers}")
    return workers[0]


@dataclass
class Stats:
    requests: int = 0
    errors: list[str] = field(default_factory=list)
    latencies: list[float] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)


def client_loop(index: int, mcp_url: str, deadline: float, stats: Stats) -> None:
    token = mint(sub=f"soak-{index}", aud=mcp_url, scope="notes:read notes:write", exp_in=3600)
    prm = mcp_url.replace("/mcp", "/.well-known/oauth-protected-resource/mcp")
    base = {"Content-Type": "application/json", "Accept": "application/json, text/event-stream"}
    calls: list[tuple[str, str, dict[str, str], bytes | None, int]] = [
        (
            "POST",
            mcp_url,
            {**base, "Authorization": f"Bearer {token}", "MCP-Protocol-Version": "2025-11-25"},
            json.dumps({"jsonrpc": "2.0", "id": 1, "method": "tools/list"}).encode(),
            200,
        ),
        (
            "POST",
            mcp_url,
            {
                **base,
                "Authorization": f"Bearer {token}",
                "MCP-Protocol-Version": "2026-07-28",
                "Mcp-Method": "tools/call",
                "Mcp-Name": "read_notes",
            },
            json.dumps(
                {
                    "jsonrpc": "2.0",
                    "id": 2,
                    "method": "tools/call",
                    "params": {
                        "name": "read_notes",
                        "arguments": {},
                        "_meta": {
                            "io.modelcontextprotocol/protocolVersion": "2026-07-28",
                            "io.modelcontextprotocol/clientCapabilities": {},
                        },
                    },
                }
            ).encode(),
            200,
        ),
        ("POST", mcp_url, {**base, "MCP-Protocol-Version": "2025-11-25"}, b"{}", 401),
        ("GET", prm, {}, None, 200),
    ]
    http = requests.Session()
    step = 0
    try:
        while time.monotonic() < deadline:
            method, url, headers, body, expected = calls[step % len(calls)]
            step += 1
            started = time.monotonic()
            try:
                response = http.request(method, url, headers=headers, data=body, timeout=10)
                status, text = response.status_code, response.text
                problem = None if status == expected else f"{method} {url}: {status} (wanted {expected})"
                if status == 200 and "error" in text[:200] and "result" not in text:
                    problem = f"{method} {url}: error body {text[:200]}"
            except requests.RequestException as exc:
                problem = f"{method} {url}: {type(exc).__name__}: {exc}"
            elapsed = time.monotonic() - started
            with stats.lock:
                stats.requests += 1
                stats.latencies.append(elapsed)
                if problem:
                    stats.errors.append(problem)
    finally:
        http.close()


@dataclass
class Outcomes:
    """What the slow clients and stream holders got (status line or exception), counted."""

    counts: dict[str, int] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def add(self, what: str) -> None:
        with self.lock:
            self.counts[what] = self.counts.get(what, 0) + 1


def slow_client_loop(index: int, mcp_url: str, deadline: float, outcomes: Outcomes) -> None:
    """Send headers, then trickle the body one byte every 0.2 s until answered; again."""
    host_port = mcp_url.split("/")[2]
    token = mint(sub=f"slow-{index}", aud=mcp_url, scope="notes:read", exp_in=3600) if index % 2 else None
    head = (
        "POST /mcp HTTP/1.1\r\n"
        f"Host: {host_port}\r\n"
        "Content-Type: application/json\r\nAccept: application/json, text/event-stream\r\n"
        "MCP-Protocol-Version: 2025-11-25\r\nContent-Length: 100000\r\n"
        + (f"Authorization: Bearer {token}\r\n" if token else "")
        + "\r\n"
    ).encode()
    host, port = host_port.rsplit(":", 1)
    while time.monotonic() < deadline:
        try:
            with socket.create_connection((host, int(port)), timeout=5) as sock:
                sock.sendall(head)
                sock.settimeout(0.2)
                answer = None
                while answer is None and time.monotonic() < deadline:
                    try:
                        answer = sock.recv(64)
                    except TimeoutError:
                        sock.sendall(b" ")
                if answer is None:
                    outcomes.add("still trickling at the end")
                else:
                    outcomes.add(answer.split(b"\r\n", 1)[0].decode("latin-1") or "closed")
        except OSError as exc:
            outcomes.add(type(exc).__name__)


def stream_holder_loop(index: int, mcp_url: str, deadline: float, outcomes: Outcomes) -> None:
    """Keep a long tool call open (``review_notes``: two passes 5 s apart), over and over; with
    an example that has no such tool, keep the connection open and idle 5 s between calls."""
    token = mint(sub=f"holder-{index}", aud=mcp_url, scope="notes:read", exp_in=3600)
    headers = {
        "Authorization": f"Bearer {token}",
        "Content-Type": "application/json",
        "Accept": "application/json, text/event-stream",
        "MCP-Protocol-Version": "2026-07-28",
        "Mcp-Method": "tools/call",
        "Mcp-Name": "review_notes",
    }
    params = {
        "name": "review_notes",
        "arguments": {"steps": 2, "delay": 5},
        "_meta": {
            "io.modelcontextprotocol/protocolVersion": "2026-07-28",
            "io.modelcontextprotocol/clientCapabilities": {},
        },
    }
    body = json.dumps({"jsonrpc": "2.0", "id": 1, "method": "tools/call", "params": params})
    with requests.Session() as http:
        while time.monotonic() < deadline:
            try:
                response = http.post(mcp_url, headers=headers, data=body, timeout=30)
            except requests.RequestException as exc:
                outcomes.add(f"holder {type(exc).__name__}")
                continue
            if "Unknown tool" in response.text:
                outcomes.add(f"holder {response.status_code}, then 5 s idle on the connection")
                time.sleep(min(5.0, max(0.0, deadline - time.monotonic())))
            else:
                outcomes.add(f"holder {response.status_code} after a long call")


def load(
    mcp_url: str, clients: int, seconds: float, *, slow: int = 0, holders: int = 0
) -> tuple[Stats, Outcomes]:
    stats = Stats()
    outcomes = Outcomes()
    deadline = time.monotonic() + seconds
    threads = [
        threading.Thread(target=client_loop, args=(i, mcp_url, deadline, stats), daemon=True)
        for i in range(clients)
    ]
    threads += [
        threading.Thread(target=slow_client_loop, args=(i, mcp_url, deadline, outcomes), daemon=True)
        for i in range(slow)
    ]
    threads += [
        threading.Thread(target=stream_holder_loop, args=(i, mcp_url, deadline, outcomes), daemon=True)
        for i in range(holders)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=max(1.0, deadline + 60 - time.monotonic()))
        if thread.is_alive():
            stats.errors.append("a client thread did not finish")
    return stats, outcomes


def soak(
    kind: str,
    jwks_uri: str,
    clients: int,
    duration: float,
    warmup: float,
    logdir: pathlib.Path,
    *,
    slow: int = 0,
    holders: int = 0,
) -> bool:
    stderr_path = logdir / f"{kind}.stderr.log"
    with server(kind, jwks_uri, stderr_path) as (mcp_url, pid):
        target = serving_pid(kind, pid)
        warm, _ = load(mcp_url, clients, warmup, slow=slow, holders=holders)
        before = rss_kib(target)
        stats, outcomes = load(mcp_url, clients, duration, slow=slow, holders=holders)
        after = rss_kib(target)
    stderr = stderr_path.read_text(errors="replace")
    growth = (after - before) / before
    latencies = sorted(stats.latencies) or [0.0]
    p99 = latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))]
    problems = list(stats.errors[:5]) + list(warm.errors[:5])
    if "Traceback" in stderr:
        problems.append("a traceback in the server's stderr")
    if "eyJ" in stderr:
        problems.append("something like a JWT in the server's stderr")
    ok = not stats.errors and not warm.errors and growth < MAX_GROWTH and not problems
    print(
        f"{kind:16} {stats.requests:7d} req {stats.requests / duration:8.1f} req/s "
        f"errors {len(stats.errors) + len(warm.errors):3d}  "
        f"p50 {statistics.median(latencies) * 1000:6.1f} ms  p99 {p99 * 1000:6.1f} ms  "
        f"RSS {before / 1024:6.1f} -> {after / 1024:6.1f} MiB ({growth:+.1%})  {'OK' if ok else 'FAIL'}",
        flush=True,
    )
    if outcomes.counts:
        seen = ", ".join(f"{what}: {count}" for what, count in sorted(outcomes.counts.items()))
        print(f"    slow clients and stream holders got {seen}", flush=True)
    for problem in problems:
        print(f"    {problem}", flush=True)
    return ok


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--duration", type=float, default=60.0, help="seconds of measured load per server")
    parser.add_argument("--warmup", type=float, default=10.0, help="seconds of load before the RSS baseline")
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--slow-clients", type=int, default=4, help="connections trickling their body")
    parser.add_argument("--stream-holders", type=int, default=2, help="clients holding a long tool call")
    parser.add_argument("--only", choices=SERVERS, action="append", help="run only these servers")
    parser.add_argument("--logdir", default=None, help="where server stderr is kept (default: a temp dir)")
    args = parser.parse_args(argv)
    logdir = pathlib.Path(args.logdir or tempfile.mkdtemp(prefix="mcp-tools-soak-"))
    logdir.mkdir(parents=True, exist_ok=True)
    print(
        f"soak: {args.clients} clients x {args.duration:g} s per server (after {args.warmup:g} s warm-up); "
        f"server stderr in {logdir}"
    )
    results = []
    with jwks_server() as jwks_uri:
        for kind in args.only or SERVERS:
            results.append(
                soak(
                    kind,
                    jwks_uri,
                    args.clients,
                    args.duration,
                    args.warmup,
                    logdir,
                    slow=args.slow_clients,
                    holders=args.stream_holders,
                )
            )
    return 0 if all(results) else 1


if __name__ == "__main__":
    sys.exit(main())
