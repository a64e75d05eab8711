#!/usr/bin/env python3
"""Side-by-side throughput and latency of an authenticated MCP ``tools/call``.

    nox -s bench                      # the full run (about 6 minutes on 2 cores)
    nox -s bench -- --quick           # a smoke run (about 2 minutes)
    nox -s bench -- --compare-ref REF # also our contenders at git ref REF (before/after)
    python benchmarks/run.py --help   # in a venv with the family, fastmcp and matplotlib

Every contender is one server process on 127.0.0.1, started here and killed at the end:

==================  ==========================================================================
``sdk``             baseline: the bare SDK ``MCPServer.streamable_http_app()``, no auth (uvicorn)
``sdk-auth``        the SDK's ``AuthSettings`` with a plain joserfc JWT verifier (uvicorn)
``fastmcp``         fastmcp 4.2.3, ``RemoteAuthProvider`` + ``JWTVerifier`` (uvicorn)
``fastapi``         our ``create_mcp_router`` (uvicorn)
``django-asgi``     our Django app, ``mcp_tools_django.asgi`` (uvicorn)
``django-wsgi``     ``mcp_tools_django.wsgi`` (the MCP path routed ahead of Django): gunicorn gthread,
                    1 worker, 8 threads; ``-sync``: gunicorn's sync worker; ``-uwsgi``: uWSGI,
                    1 process, 1 thread
``flask``           our Flask blueprint (the MCP path routed ahead of Flask), same three servers
                    (``flask``, ``flask-sync``, ``flask-uwsgi``); ``flask-view`` (optional): the
                    MCP path as an ordinary Flask view
==================  ==========================================================================

All stateless with JSON responses; all but the baseline check the same RS256 JWT on every
request. Load comes from ``wrk`` (one thread, keep-alive) with ``mcp.lua``, or from
``loadgen.py`` with ``--loadgen python``; each run is bounded by ``--duration`` seconds and
``--max-requests``. Scenarios: a 2026-07-28 ``tools/call`` ("modern") and a 2025-11-25
stateless ``tools/call`` ("legacy"), at concurrency 1 and 8. Within each round and scenario
the baseline runs before and after every contender (B C1 B C2 B ...; the order rotates each
round), and a contender's ratio for that round is its req/s over the mean of those two
baseline runs, so drifts in the load of a shared machine cancel out. The tables give medians
over rounds. The server's CPU time per request (from /proc) is reported too: it is what a
request costs, and much less sensitive to other processes than req/s.

Outputs ``results.json``, ``results.md`` and ``results.png`` in ``--out`` (default
``benchmarks/results/``) and prints the markdown.
"""

from __future__ import annotations

import argparse
import contextlib
import http.client
import json
import os
import platform
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from benchmarks.common import (  # noqa: E402
    MCP_PATH,
    make_keys,
    mint_token,
    tool_call_body,
    tool_call_headers,
)

BASELINE = "sdk"
METADATA_PATH = "/.well-known/oauth-protected-resource/mcp"
TARGETS = {
    # contender: (minimum ratio to the baseline, the wording); each WSGI server apart
    "fastapi": (0.9, "FastAPI router >= 0.9x baseline"),
    "django-asgi": (0.9, "Django ASGI >= 0.9x baseline"),
    "django-wsgi-uwsgi": (0.7, "Django WSGI >= 0.7x baseline (uWSGI, 1 thread)"),
    "django-wsgi-sync": (0.7, "Django WSGI >= 0.7x baseline (gunicorn sync)"),
    "django-wsgi": (0.7, "Django WSGI >= 0.7x baseline (gunicorn gthread x8)"),
    "flask-uwsgi": (0.7, "Flask >= 0.7x baseline (uWSGI, 1 thread)"),
    "flask-sync": (0.7, "Flask >= 0.7x baseline (gunicorn sync)"),
    "flask": (0.7, "Flask >= 0.7x baseline (gunicorn gthread x8)"),
}


@dataclass
class Contender:
    key: str
    label: str
    server: str  # "uvicorn", "gunicorn" (gthread), "gunicorn-sync" or "uwsgi"
    target: str
    auth: bool = True
    needs: tuple[str, ...] = ()
    metadata: bool = True
    port: int = 0
    process: subprocess.Popen[bytes] | None = None
    log: Any = None
    skipped: str | None = None
    notes: list[str] = field(default_factory=list)
    pythonpath: str = ""
    env: dict[str, str] = field(default_factory=dict)
    optional: bool = False  # run only when named in --only


def contenders() -> list[Contender]:
    return [
        Contender(
            "sdk",
            "bare SDK, no auth (baseline)",
            "uvicorn",
            "benchmarks.apps.sdk_bare:app",
            auth=False,
            metadata=False,
        ),
        Contender("sdk-auth", "SDK AuthSettings + JWT verifier", "uvicorn", "benchmarks.apps.sdk_auth:app"),
        Contender(
            "fastmcp",
            "fastmcp 4.2.3 RemoteAuthProvider",
            "uvicorn",
            "benchmarks.apps.fastmcp_app:app",
            needs=("fastmcp",),
        ),
        Contender(
            "fastapi",
            "mcp-tools FastAPI router",
            "uvicorn",
            "benchmarks.apps.fastapi_app:app",
            needs=("mcp_tools_fastapi",),
        ),
        Contender(
            "django-asgi",
            "mcp-tools Django, ASGI (uvicorn)",
            "uvicorn",
            "benchmarks.apps.django_asgi:application",
            needs=("django", "mcp_tools_django.asgi"),
        ),
        Contender(
            "django-wsgi",
            "mcp-tools Django, WSGI (gunicorn gthread)",
            "gunicorn",
            "benchmarks.apps.django_wsgi:application",
            needs=("django", "mcp_tools_django.wsgi"),
        ),
        Contender(
            "django-wsgi-sync",
            "mcp-tools Django, WSGI (gunicorn sync)",
            "gunicorn-sync",
            "benchmarks.apps.django_wsgi:application",
            needs=("django", "mcp_tools_django.wsgi"),
        ),
        Contender(
            "django-wsgi-uwsgi",
            "mcp-tools Django, WSGI (uWSGI)",
            "uwsgi",
            "benchmarks.apps.django_wsgi:application",
            needs=("django", "mcp_tools_django.wsgi", "bin:uwsgi"),
        ),
        Contender(
            "flask",
            "mcp-tools Flask, WSGI (gunicorn gthread)",
            "gunicorn",
            "benchmarks.apps.flask_app:app",
            needs=("flask", "mcp_tools_flask"),
        ),
        Contender(
            "flask-sync",
            "mcp-tools Flask, WSGI (gunicorn sync)",
            "gunicorn-sync",
            "benchmarks.apps.flask_app:app",
            needs=("flask", "mcp_tools_flask"),
        ),
        Contender(
            "flask-uwsgi",
            "mcp-tools Flask, WSGI (uWSGI)",
            "uwsgi",
            "benchmarks.apps.flask_app:app",
            needs=("flask", "mcp_tools_flask", "bin:uwsgi"),
        ),
        Contender(
            "flask-view",
            "mcp-tools Flask, MCP path as a Flask view (gunicorn gthread)",
            "gunicorn",
            "benchmarks.apps.flask_app:app",
            needs=("flask", "mcp_tools_flask"),
            metadata=False,
            env={"BENCH_FLASK_DISPATCH": "0"},
            optional=True,
        ),
        Contender(
            "flask-hop",
            "mcp-tools Flask, every request via the loop thread",
            "gunicorn",
            "benchmarks.apps.flask_app:app",
            needs=("flask", "mcp_tools_flask"),
            metadata=False,
            env={"BENCH_WSGI_INLINE": "0"},
            optional=True,
        ),
    ]


# -- servers ------------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def server_command(c: Contender, threads: int) -> list[str]:
    if c.server == "uvicorn":
        return [
            sys.executable, "-m", "uvicorn", c.target,
            "--host", "127.0.0.1", "--port", str(c.port),
            "--log-level", "warning", "--no-access-log", "--lifespan", "on",
        ]  # fmt: skip
    if c.server == "uwsgi":
        # uWSGI's HTTP parser is C; one process with one thread (stateless JSON needs no
        # second one). Its plain HTTP socket has no keep-alive: it says so with
        # "Connection: close" (wrk reconnects instead of counting a read error).
        return [
            executable("uwsgi") or "uwsgi", "--http-socket", f"127.0.0.1:{c.port}",
            "--add-header", "Connection: close",
            "--module", c.target, "--pythonpath", str(ROOT), "--master", "--processes", "1",
            "--threads", "1", "--enable-threads", "--disable-logging", "--die-on-term",
            "--need-app", "--lazy-apps",
        ]  # fmt: skip
    worker = ["-k", "sync"] if c.server == "gunicorn-sync" else ["-k", "gthread", "--threads", str(threads)]
    return [
        sys.executable, "-m", "gunicorn", c.target,
        "-b", f"127.0.0.1:{c.port}", "-w", "1", *worker,
        "--log-level", "warning", "--graceful-timeout", "2",
    ]  # fmt: skip


def executable(name: str) -> str | None:
    """``name`` beside this interpreter (its venv's bin), else on ``PATH``."""
    local = Path(sys.executable).parent / name
    return str(local) if local.exists() else shutil.which(name)


OURS = (
    "fastapi",
    "django-asgi",
    "django-wsgi",
    "django-wsgi-sync",
    "django-wsgi-uwsgi",
    "flask",
    "flask-sync",
    "flask-uwsgi",
)


def before_contenders(selected: list[Contender], ref: str, tree: Path) -> list[Contender]:
    """Copies of our contenders that import the family's sources as of ``ref`` (git archive)."""
    archive = subprocess.run(
        ["git", "archive", "--format=tar", ref, "shared-core/src", "packages"],
        cwd=ROOT,
        capture_output=True,
        check=True,
    )
    subprocess.run(["tar", "-x", "-C", str(tree)], input=archive.stdout, check=True)
    paths = [str(tree / "shared-core" / "src"), *(str(p) for p in sorted((tree / "packages").glob("*/src")))]
    label = ref[:12]
    extra = []
    for c in selected:
        if c.key in OURS:
            extra.append(
                Contender(
                    f"{c.key}@{label}",
                    f"{c.label} @{label}",
                    c.server,
                    c.target,
                    needs=c.needs,
                    metadata=False,
                    pythonpath=os.pathsep.join(paths),
                )
            )
    return extra


def start_server(
    c: Contender, env: dict[str, str], log_dir: Path, cpus: set[int] | None, threads: int
) -> None:
    c.port = free_port()
    if c.pythonpath:
        env = dict(env, PYTHONPATH=os.pathsep.join([c.pythonpath, env.get("PYTHONPATH", "")]))
    if c.env:
        env = dict(env, **c.env)
    c.log = open(log_dir / f"{c.key}.log", "wb")  # noqa: SIM115
    preexec = (lambda: os.sched_setaffinity(0, cpus)) if cpus else None
    c.process = subprocess.Popen(
        server_command(c, threads),
        cwd=ROOT,
        env=env,
        stdout=c.log,
        stderr=subprocess.STDOUT,
        start_new_session=True,  # its own process group: gunicorn's worker is killed with it
        preexec_fn=preexec,
    )


_TICKS = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100


def cpu_seconds(pgid: int) -> float:
    """User + system CPU seconds of every process in the process group ``pgid`` (Linux /proc)."""
    total = 0
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            with open(f"/proc/{entry.name}/stat", "rb") as stat:
                fields = stat.read().rsplit(b")", 1)[1].split()
        except OSError:
            continue
        # After the command: state ppid pgrp ...; utime and stime are fields 14 and 15 of the line.
        if int(fields[2]) == pgid:
            total += int(fields[11]) + int(fields[12])
    return total / _TICKS


def stop_server(c: Contender) -> None:
    if c.process is None:
        return
    with contextlib.suppress(ProcessLookupError):
        os.killpg(c.process.pid, signal.SIGTERM)
    try:
        c.process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(c.process.pid, signal.SIGKILL)
        c.process.wait(timeout=10)
    if c.log is not None:
        c.log.close()


def http_request(
    port: int, method: str, path: str, headers: dict[str, str], body: bytes = b""
) -> tuple[int, bytes]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        conn.request(method, path, body=body or None, headers=headers)
        response = conn.getresponse()
        return response.status, response.read()
    finally:
        conn.close()


def tool_result_ok(body: bytes) -> bool:
    try:
        message = json.loads(body)
        result = message["result"]
    except (ValueError, KeyError, TypeError):
        return False
    text = [item.get("text") for item in result.get("content", [])]
    return not result.get("isError") and (
        "3" in text or result.get("structuredContent", {}).get("result") == 3
    )


def wait_ready(c: Contender, token: str, timeout: float = 40.0) -> None:
    """Wait until ``c`` answers a real tools/call correctly in both eras; check auth is on."""
    deadline = time.monotonic() + timeout
    last = "no answer"
    while time.monotonic() < deadline:
        assert c.process is not None
        if c.process.poll() is not None:
            raise RuntimeError(f"{c.key} exited with {c.process.returncode} (see its log)")
        try:
            status, body = http_request(
                c.port, "POST", MCP_PATH, tool_call_headers("modern", token), tool_call_body("modern")
            )
        except OSError as exc:
            last = str(exc)
            time.sleep(0.2)
            continue
        if status == 200 and tool_result_ok(body):
            break
        last = f"HTTP {status}: {body[:200]!r}"
        time.sleep(0.2)
    else:
        raise RuntimeError(f"{c.key} not ready: {last}")
    status, body = http_request(
        c.port, "POST", MCP_PATH, tool_call_headers("legacy", token), tool_call_body("legacy")
    )
    if status != 200 or not tool_result_ok(body):
        raise RuntimeError(f"{c.key}: legacy tools/call failed: HTTP {status}: {body[:200]!r}")
    status, _ = http_request(
        c.port, "POST", MCP_PATH, tool_call_headers("modern", None), tool_call_body("modern")
    )
    if c.auth and status != 401:
        raise RuntimeError(f"{c.key}: a request without a token got HTTP {status}, not 401")
    if c.metadata:
        status, _ = http_request(c.port, "GET", METADATA_PATH, {})
        if status != 200:
            c.notes.append(f"metadata {METADATA_PATH}: HTTP {status}")
            c.metadata = False


# -- load ---------------------------------------------------------------------------------------


@dataclass
class Load:
    tool: str  # "wrk" or "python"
    duration: float
    max_requests: int
    cpus: set[int] | None
    tmp: Path

    def run(
        self, port: int, *, method: str, path: str, headers: dict[str, str], body: bytes, concurrency: int
    ) -> dict[str, Any]:
        if self.tool == "python":
            from benchmarks.loadgen import run_load

            return run_load(
                port,
                path,
                method=method,
                headers=headers,
                body=body,
                concurrency=concurrency,
                seconds=self.duration,
                max_requests=self.max_requests,
            )
        body_file = self.tmp / "body.bin"
        body_file.write_bytes(body)
        env = dict(os.environ)
        env.update(
            BENCH_METHOD=method,
            BENCH_BODY_FILE=str(body_file) if body else "",
            BENCH_HEADERS="\n".join(f"{k}: {v}" for k, v in headers.items()),
            BENCH_MAX_REQUESTS=str(self.max_requests),
        )
        command = [
            "wrk", "-t1", f"-c{concurrency}", f"-d{max(1, round(self.duration))}s", "--timeout", "5s",
            "-s", str(ROOT / "benchmarks" / "mcp.lua"), f"http://127.0.0.1:{port}{path}",
        ]  # fmt: skip
        preexec = (lambda: os.sched_setaffinity(0, self.cpus)) if self.cpus else None
        out = subprocess.run(
            command, env=env, capture_output=True, timeout=self.duration + 30, preexec_fn=preexec, check=False
        )
        for line in out.stdout.decode(errors="replace").splitlines():
            if line.startswith("BENCHJSON "):
                return json.loads(line[len("BENCHJSON ") :])  # type: ignore[no-any-return]
        raise RuntimeError(f"wrk failed ({out.returncode}): {out.stderr.decode(errors='replace')[-500:]}")


def figures(raw: dict[str, Any]) -> dict[str, Any]:
    seconds = raw["duration_us"] / 1e6
    errors = raw["not_ok"] + sum(v for k, v in raw["errors"].items() if k != "status")
    return {
        "rps": raw["requests"] / seconds if seconds else 0.0,
        "p50_ms": raw["p50_us"] / 1000,
        "p99_ms": raw["p99_us"] / 1000,
        "requests": raw["requests"],
        "errors": errors,
    }


# -- orchestration ------------------------------------------------------------------------------


@contextlib.contextmanager
def running(
    selected: list[Contender], env: dict[str, str], log_dir: Path, cpus: set[int] | None, threads: int
) -> Iterator[None]:
    try:
        for c in selected:
            start_server(c, env, log_dir, cpus, threads)
        yield
    finally:
        for c in selected:
            stop_server(c)


def scenario_key(era: str, concurrency: int) -> str:
    return f"{era}-c{concurrency}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--quick", action="store_true", help="1 round, short micro-benchmarks")
    parser.add_argument("--duration", type=float, default=1.0, help="seconds per load run")
    parser.add_argument("--rounds", type=int, default=4, help="rounds (medians are reported)")
    parser.add_argument("--max-requests", type=int, default=200_000, help="request bound per load run")
    parser.add_argument("--concurrency", default="1,8")
    parser.add_argument("--eras", default="modern,legacy")
    parser.add_argument(
        "--only", default="", help="comma-separated contender keys (the baseline is always run)"
    )
    parser.add_argument(
        "--loadgen", choices=("wrk", "python"), default=None, help="default: wrk if installed"
    )
    parser.add_argument("--pin", action="store_true", help="servers on CPU 0, the load generator on CPU 1")
    parser.add_argument("--threads", type=int, default=8, help="gunicorn gthread threads")
    parser.add_argument("--no-micro", action="store_true")
    parser.add_argument("--no-stores", action="store_true")
    parser.add_argument("--out", default=str(ROOT / "benchmarks" / "results"))
    parser.add_argument(
        "--compare-ref",
        default="",
        help="also run our contenders with the family's code at this git ref (suffix '@ref')",
    )
    args = parser.parse_args(argv)
    if args.quick:
        args.duration, args.rounds = 1.0, 1
    loadgen = args.loadgen or ("wrk" if shutil.which("wrk") else "python")
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    started = time.monotonic()

    key, jwks, pem = make_keys()
    token = mint_token(key, lifetime=6 * 3600)
    env = dict(os.environ)
    env.update(
        PYTHONPATH=os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH", "")])),
        BENCH_JWKS=json.dumps(jwks),
        BENCH_PUBLIC_PEM=pem,
        PYTHONDONTWRITEBYTECODE="1",
    )
    env.pop("DJANGO_SETTINGS_MODULE", None)

    only = {k for k in args.only.split(",") if k}
    selected: list[Contender] = []
    for c in contenders():
        if (only and c.key not in only and c.key != BASELINE) or (c.optional and c.key not in only):
            continue
        missing = [m for m in c.needs if not _importable(m)]
        if missing:
            c.skipped = f"not installed: {', '.join(missing)}"
            print(f"skipping {c.key}: {c.skipped}", flush=True)
            continue
        selected.append(c)

    old_tree = tempfile.TemporaryDirectory() if args.compare_ref else None
    if old_tree is not None:
        selected += before_contenders(selected, args.compare_ref, Path(old_tree.name))

    pin = args.pin and (os.cpu_count() or 1) >= 2
    server_cpus = {0} if pin else None
    load_cpus = {1} if pin else None
    eras = [e for e in args.eras.split(",") if e]
    levels = [int(n) for n in args.concurrency.split(",") if n]
    scenarios = [(era, n) for era in eras for n in levels]
    samples: dict[str, dict[str, list[dict[str, Any]]]] = {}
    metadata: dict[str, dict[str, Any]] = {}
    micro: dict[str, Any] | None = None
    stores_text: str | None = None

    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        load = Load(loadgen, args.duration, args.max_requests, load_cpus, tmp)
        log_dir = out / "logs"
        log_dir.mkdir(exist_ok=True)
        with running(selected, env, log_dir, server_cpus, args.threads):
            ready: list[Contender] = []
            for c in selected:
                try:
                    wait_ready(c, token)
                    ready.append(c)
                except RuntimeError as exc:
                    c.skipped = str(exc)
                    print(f"skipping {c.key}: {exc}", flush=True)
            if not any(c.key == BASELINE for c in ready):
                raise SystemExit("the baseline did not start; see benchmarks/results/logs/")
            print(f"load: {loadgen}; contenders: {', '.join(c.key for c in ready)}", flush=True)
            warm = Load(loadgen, 1.0, args.max_requests, load_cpus, tmp)
            for c in ready:
                for era in eras:
                    warm.run(
                        c.port,
                        method="POST",
                        path=MCP_PATH,
                        headers=tool_call_headers(era, token),
                        body=tool_call_body(era),
                        concurrency=8,
                    )
            baseline = next(c for c in ready if c.key == BASELINE)
            others = [c for c in ready if c.key != BASELINE]
            for round_no in range(args.rounds):
                for era, concurrency in scenarios:
                    name = scenario_key(era, concurrency)

                    def measure(
                        c: Contender,
                        era: str = era,
                        concurrency: int = concurrency,
                        name: str = name,
                        round_no: int = round_no,
                    ) -> dict[str, Any]:
                        assert c.process is not None
                        cpu_before = cpu_seconds(c.process.pid)
                        raw = load.run(
                            c.port,
                            method="POST",
                            path=MCP_PATH,
                            headers=tool_call_headers(era, token if c.auth else None),
                            body=tool_call_body(era),
                            concurrency=concurrency,
                        )
                        cpu = cpu_seconds(c.process.pid) - cpu_before
                        fig = figures(raw) | {"round": round_no}
                        fig["cpu_us"] = cpu / raw["requests"] * 1e6 if raw["requests"] else 0.0
                        samples.setdefault(c.key, {}).setdefault(name, []).append(fig)
                        report(round_no, args.rounds, name, c.key, fig)
                        return fig

                    # B C1 B C2 B ...: each contender is compared with the baseline runs just
                    # before and after it, so drifts in the machine's load cancel out.
                    shift = round_no % max(1, len(others))
                    before = measure(baseline)
                    for c in others[shift:] + others[:shift]:
                        fig = measure(c)
                        after = measure(baseline)
                        fig["base_rps"] = (before["rps"] + after["rps"]) / 2
                        fig["base_cpu_us"] = (before["cpu_us"] + after["cpu_us"]) / 2
                        before = after
            meta_load = Load(loadgen, min(2.0, args.duration), args.max_requests, load_cpus, tmp)
            for c in ready:
                if c.metadata:
                    metadata[c.key] = figures(
                        meta_load.run(
                            c.port, method="GET", path=METADATA_PATH, headers={}, body=b"", concurrency=8
                        )
                    )
            alive = {c.key: c.process is not None and c.process.poll() is None for c in ready}
        if not args.no_micro:
            from benchmarks.micro import run_micro

            micro = run_micro(key, jwks, token, seconds=0.25 if args.quick else 0.6)
        if not args.no_stores:
            stores_text = run_stores(0.1 if args.quick else 0.25)

    if old_tree is not None:
        old_tree.cleanup()
    summary = summarise(selected, samples, scenarios)
    result = {
        "meta": {
            "date": time.strftime("%Y-%m-%d %H:%M:%S %Z"),
            "python": platform.python_version(),
            "machine": f"{platform.machine()}, {os.cpu_count()} CPUs",
            "loadgen": loadgen,
            "duration_s": args.duration,
            "rounds": args.rounds,
            "pinned": pin,
            "gunicorn_threads": args.threads,
            "versions": versions(),
            "elapsed_s": round(time.monotonic() - started, 1),
            "servers_alive_at_end": alive,
        },
        "contenders": {
            c.key: {
                "label": c.label,
                "server": c.server,
                "auth": c.auth,
                "skipped": c.skipped,
                "notes": c.notes,
            }
            for c in contenders_by_key(selected)
        },
        "scenarios": [scenario_key(e, n) for e, n in scenarios],
        "summary": summary,
        "samples": samples,
        "metadata_endpoint": metadata,
        "micro": micro,
        "stores": stores_text,
    }
    (out / "results.json").write_text(json.dumps(result, indent=2))
    markdown = render_markdown(result)
    (out / "results.md").write_text(markdown)
    chart(result, out / "results.png")
    print()
    print(markdown)
    print(f"wrote {out / 'results.md'}, results.json, results.png in {result['meta']['elapsed_s']} s")
    return 0


def report(round_no: int, rounds: int, scenario: str, key: str, fig: dict[str, Any]) -> None:
    errors = f"  ERRORS {fig['errors']}" if fig["errors"] else ""
    print(
        f"round {round_no + 1}/{rounds} {scenario:<10} {key:<12} {fig['rps']:8.0f} req/s  "
        f"p50 {fig['p50_ms']:6.2f} ms  p99 {fig['p99_ms']:6.2f} ms  cpu {fig['cpu_us']:5.0f} µs/req{errors}",
        flush=True,
    )


def contenders_by_key(selected: list[Contender]) -> list[Contender]:
    return selected


def _importable(module: str) -> bool:
    if module.startswith("bin:"):  # an executable, not a module
        return executable(module[4:]) is not None
    import importlib.util

    try:
        return importlib.util.find_spec(module) is not None
    except (ImportError, ValueError):
        return False


def versions() -> dict[str, str]:
    from importlib import metadata as md

    found = {}
    for name in (
        "mcp",
        "fastmcp",
        "starlette",
        "fastapi",
        "uvicorn",
        "gunicorn",
        "flask",
        "django",
        "joserfc",
        "mcp-tools-core",
    ):
        with contextlib.suppress(md.PackageNotFoundError):
            found[name] = md.version(name)
    if shutil.which("wrk"):
        probe = subprocess.run(["wrk", "--version"], capture_output=True, check=False)
        found["wrk"] = (
            (probe.stdout or probe.stderr).decode(errors="replace").split()[1]
            if (probe.stdout or probe.stderr)
            else "?"
        )
    return found


def run_stores(seconds: float) -> str:
    script = ROOT / "benchmarks" / "stores.py"
    try:
        out = subprocess.run(
            [sys.executable, str(script), "--seconds", str(seconds)],
            capture_output=True,
            timeout=180,
            cwd=ROOT,
            check=False,
        )
    except subprocess.TimeoutExpired:
        return "store benchmark timed out"
    text = out.stdout.decode(errors="replace")
    if out.returncode:
        text += "\n(store benchmark failed: " + out.stderr.decode(errors="replace")[-300:] + ")"
    return text


def summarise(
    selected: list[Contender],
    samples: dict[str, dict[str, list[dict[str, Any]]]],
    scenarios: list[tuple[str, int]],
) -> dict[str, dict[str, Any]]:
    summary: dict[str, dict[str, Any]] = {}
    for c in selected:
        per: dict[str, Any] = {}
        for era, concurrency in scenarios:
            name = scenario_key(era, concurrency)
            runs = samples.get(c.key, {}).get(name, [])
            if not runs:
                continue
            if c.key == BASELINE:
                ratios = [1.0 for _ in runs]
                cpu_ratios = [1.0 for _ in runs]
            else:
                ratios = [r["rps"] / r["base_rps"] for r in runs if r.get("base_rps")]
                cpu_ratios = [
                    r["base_cpu_us"] / r["cpu_us"] for r in runs if r.get("cpu_us") and r.get("base_cpu_us")
                ]
            per[name] = {
                "rps": statistics.median(r["rps"] for r in runs),
                "p50_ms": statistics.median(r["p50_ms"] for r in runs),
                "p99_ms": statistics.median(r["p99_ms"] for r in runs),
                "ratio": statistics.median(ratios) if ratios else None,
                "ratio_min": min(ratios) if ratios else None,
                "ratio_max": max(ratios) if ratios else None,
                "cpu_us": statistics.median(r.get("cpu_us", 0.0) for r in runs),
                "cpu_ratio": statistics.median(cpu_ratios) if cpu_ratios else None,
                "errors": sum(r["errors"] for r in runs),
                "rounds": len(runs),
            }
        summary[c.key] = per
    return summary


def _fmt_ratio(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.2f}x"


def render_markdown(result: dict[str, Any]) -> str:
    meta = result["meta"]
    summary = result["summary"]
    labels = {k: v["label"] for k, v in result["contenders"].items()}
    lines = [
        "# MCP tools/call benchmark",
        "",
        f"{meta['date']}; Python {meta['python']}; {meta['machine']}; load: {meta['loadgen']}, "
        f"{meta['rounds']} round(s) of {meta['duration_s']:g} s per scenario and contender"
        + ("; server and load generator pinned to separate CPUs" if meta["pinned"] else "")
        + f"; run took {meta['elapsed_s']:g} s.",
        "",
        "Versions: " + ", ".join(f"{k} {v}" for k, v in meta["versions"].items()) + ".",
        "",
        "## Ratio to the bare SDK (req/s, median of per-round ratios; higher is better)",
        "",
    ]
    names = result["scenarios"]
    lines.append("| contender | " + " | ".join(names) + " |")
    lines.append("|---|" + "---:|" * len(names))
    for key, per in summary.items():
        cells = [_fmt_ratio(per.get(n, {}).get("ratio")) for n in names]
        lines.append(f"| {labels[key]} | " + " | ".join(cells) + " |")
    lines += [
        "",
        "## Server CPU per request, relative to the bare SDK (baseline µs / contender µs; higher is better)",
        "",
        "Less sensitive to other load on the machine than req/s: what each request costs the server process.",
        "",
        "| contender | " + " | ".join(names) + " |",
        "|---|" + "---:|" * len(names),
    ]
    for key, per in summary.items():
        cells = [_fmt_ratio(per.get(n, {}).get("cpu_ratio")) for n in names]
        lines.append(f"| {labels[key]} | " + " | ".join(cells) + " |")
    for name in names:
        lines += [
            "",
            f"## {name}: "
            + ("2026-07-28 tools/call" if name.startswith("modern") else "2025-11-25 stateless tools/call")
            + f", concurrency {name.rsplit('c', 1)[1]}",
            "",
            "| contender | req/s | × baseline (min-max) | p50 ms | p99 ms | CPU µs/req | CPU × | errors |",
            "|---|---:|---:|---:|---:|---:|---:|---:|",
        ]
        for key, per in summary.items():
            row = per.get(name)
            if not row:
                continue
            spread = (
                f" ({row['ratio_min']:.2f}-{row['ratio_max']:.2f})"
                if row["ratio"] is not None and row["rounds"] > 1
                else ""
            )
            lines.append(
                f"| {labels[key]} | {row['rps']:.0f} | {_fmt_ratio(row['ratio'])}{spread} | "
                f"{row['p50_ms']:.2f} | {row['p99_ms']:.2f} | {row['cpu_us']:.0f} | "
                f"{_fmt_ratio(row['cpu_ratio'])} | {row['errors']} |"
            )
    lines += [
        "",
        "## Targets",
        "",
        "| target | measured (modern c1 / c8, legacy c1 / c8) | met |",
        "|---|---|---|",
    ]
    for key, (minimum, text) in TARGETS.items():
        per = summary.get(key)
        if not per:
            lines.append(f"| {text} | not run | n/a |")
            continue
        ratios = [per[n]["ratio"] for n in names if n in per and per[n]["ratio"] is not None]
        met = all(r >= minimum for r in ratios)
        lines.append(
            f"| {text} | " + " / ".join(f"{r:.2f}" for r in ratios) + f" | {'yes' if met else 'no'} |"
        )
    if "fastapi" in summary and "fastmcp" in summary:
        pairs = [
            (summary["fastapi"][n]["rps"], summary["fastmcp"][n]["rps"])
            for n in names
            if n in summary["fastapi"] and n in summary["fastmcp"]
        ]
        met = all(a >= b for a, b in pairs)
        lines.append(
            "| FastAPI router >= fastmcp | "
            + " / ".join(f"{a / b:.2f}x" for a, b in pairs)
            + f" | {'yes' if met else 'no'} |"
        )
    micro = result.get("micro")
    if micro:
        verify = next(
            (r for r in micro["rows"] if r["name"].startswith("JWTVerifier.verify_token_sync, same")), None
        )
        if verify:
            lines.append(
                f"| verification <= 1.2x raw verify | {verify['ratio_to_raw']:.2f}x (same token) | "
                f"{'yes' if verify['ratio_to_raw'] <= 1.2 else 'no'} |"
            )
        lines += [
            "",
            "## Micro-benchmarks (in process, median µs per call)",
            "",
            "| what | µs | × raw verify |",
            "|---|---:|---:|",
        ]
        for row in micro["rows"]:
            lines.append(f"| {row['name']} | {row['us']:.2f} | {row['ratio_to_raw']:.2f}x |")
    if result.get("metadata_endpoint"):
        lines += [
            "",
            f"## Metadata endpoint over HTTP (GET {METADATA_PATH}, concurrency 8)",
            "",
            "| contender | req/s | p50 ms | p99 ms |",
            "|---|---:|---:|---:|",
        ]
        for key, row in result["metadata_endpoint"].items():
            lines.append(f"| {labels[key]} | {row['rps']:.0f} | {row['p50_ms']:.2f} | {row['p99_ms']:.2f} |")
    skipped = {k: v["skipped"] for k, v in result["contenders"].items() if v["skipped"]}
    if skipped:
        lines += ["", "Skipped: " + "; ".join(f"{k} ({v})" for k, v in skipped.items())]
    if result.get("stores"):
        lines += ["", "## Stores (benchmarks/stores.py)", "", "```", result["stores"].rstrip(), "```"]
    return "\n".join(lines) + "\n"


def chart(result: dict[str, Any], path: Path) -> None:
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print("matplotlib not installed: no chart")
        return
    summary = result["summary"]
    names = result["scenarios"]
    keys = list(summary)
    labels = [result["contenders"][k]["label"] for k in keys]
    fig, ax = plt.subplots(figsize=(11, 5.5), dpi=110)
    width = 0.8 / max(1, len(names))
    for i, name in enumerate(names):
        values = [(summary[k].get(name, {}).get("ratio") or 0.0) for k in keys]
        xs = [x + (i - (len(names) - 1) / 2) * width for x in range(len(keys))]
        bars = ax.bar(xs, values, width, label=name)
        for x, v in zip(xs, values, strict=True):
            if v:
                ax.text(x, v + 0.01, f"{v:.2f}", ha="center", va="bottom", fontsize=7)
        del bars
    ax.axhline(1.0, color="black", linewidth=0.8)
    ax.axhline(0.9, color="green", linewidth=0.8, linestyle="--", label="0.9x target (ASGI)")
    ax.axhline(0.7, color="orange", linewidth=0.8, linestyle="--", label="0.7x target (WSGI)")
    ax.set_xticks(range(len(keys)))
    ax.set_xticklabels(labels, rotation=20, ha="right", fontsize=8)
    top = max([1.0, *(v.get("ratio") or 0.0 for per in summary.values() for v in per.values())])
    ax.set_ylim(0, top + 0.25)
    ax.set_ylabel("req/s relative to the bare SDK (no auth)")
    ax.set_title("Authenticated MCP tools/call, single process, 127.0.0.1 (higher is better)")
    ax.legend(fontsize=8, ncol=3, loc="upper right")
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)


if __name__ == "__main__":
    raise SystemExit(main())
