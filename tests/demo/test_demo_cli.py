"""``mcp-tools demo``: the machine-readable lines, --headless, --authorization-server, clean stops."""

from __future__ import annotations

import re
import signal
import subprocess
import sys

import pytest
import requests

from mcp_tools_demo import DemoOptions, runner
from tests.demo.demo_process import DemoProcess, port_is_closed, run_demo

FRAMEWORKS = {"fastapi", "flask", "django"}
MCP_LINE = re.compile(r"^MCP-SERVER (fastapi|flask|django) http://127\.0\.0\.1:\d+/mcp$")

pytestmark = pytest.mark.slow


def mcp_lines(stdout: str) -> list[str]:
    return [line for line in stdout.splitlines() if line.startswith("MCP-SERVER ")]


def test_headless_journey_through_all_three_servers() -> None:
    done = run_demo("--headless")
    assert done.returncode == 0, done.stdout + done.stderr
    lines = mcp_lines(done.stdout)
    assert len(lines) == 3, lines
    assert all(MCP_LINE.match(line) for line in lines), lines
    assert "HEADLESS OK: 3 servers connected, authorized and called" in done.stdout
    for framework in FRAMEWORKS:
        assert f"{framework} echoes: hello from the headless demo to {framework}" in done.stdout
        assert f"saved note 1 for demo-user on {framework}" in done.stdout  # after a step-up consent
        assert f'"framework": "{framework}"' in done.stdout
    assert done.stdout.count("needs another scope, consenting again (step-up)") == 3


class _AuthServer:
    def __init__(self, *args: str) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "mcp_tools.cli", "dev-auth-server", "--port", "0", *args],
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
        )
        assert self.proc.stdout is not None
        self.issuer = ""
        for line in self.proc.stdout:  # bounded by the test timeout; READY comes within a second
            if line.startswith("READY "):
                self.issuer = line.split()[1]
                break

    def close(self) -> None:
        self.proc.terminate()
        self.proc.wait(15)
        if self.proc.stdout is not None:
            self.proc.stdout.close()


@pytest.fixture
def external_as() -> object:
    server = _AuthServer("--scope", "notes:read", "--scope", "notes:write")
    yield server
    server.close()


def test_headless_against_an_existing_authorization_server(external_as: _AuthServer) -> None:
    done = run_demo("--headless", "--authorization-server", external_as.issuer)
    assert done.returncode == 0, done.stdout + done.stderr
    assert f"AUTHORIZATION-SERVER {external_as.issuer}" in done.stdout.splitlines()
    assert "(external)" in done.stdout
    assert "HEADLESS OK" in done.stdout


def test_headless_failure_exits_non_zero_with_the_reason() -> None:
    refusing = _AuthServer("--scope", "notes:read", "--resource", "http://127.0.0.1:1/mcp")
    try:
        done = run_demo("--headless", "--authorization-server", refusing.issuer, "--timeout", "60")
    finally:
        refusing.close()
    assert done.returncode == 1, done.stdout + done.stderr
    assert "HEADLESS FAILED [fastapi]" in done.stderr
    assert "HEADLESS OK" not in done.stdout


def test_an_unreachable_authorization_server_is_reported() -> None:
    done = run_demo("--headless", "--authorization-server", "http://127.0.0.1:9/")
    assert done.returncode == 2
    assert "no authorization server metadata found for http://127.0.0.1:9/" in done.stderr


def test_missing_adapters_are_named(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(runner, "missing_requirements", lambda: ["mcp-tools-flask", "uvicorn"])
    assert runner.run_demo(DemoOptions(headless=True)) == 2
    out = capsys.readouterr().out
    assert "pip install mcp-tools-flask uvicorn" in out


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_interactive_demo_serves_everything_and_stops_cleanly(sig: signal.Signals) -> None:
    with DemoProcess() as demo:
        demo.wait_ready()
        assert set(demo.servers) == FRAMEWORKS
        assert all(MCP_LINE.match(f"MCP-SERVER {k} {v}") for k, v in demo.servers.items())
        page = requests.get(demo.connector + "/", timeout=10)
        assert page.status_code == 200
        assert 'id="connect"' in page.text
        for url in demo.servers.values():
            challenge = requests.post(url, json={}, timeout=10)
            assert challenge.status_code == 401
            assert 'scope="notes:read"' in challenge.headers["WWW-Authenticate"]
            base, path = url.rsplit("/", 1)
            metadata = requests.get(f"{base}/.well-known/oauth-protected-resource/{path}", timeout=10).json()
            assert metadata["resource"] == url
            assert metadata["authorization_servers"] == [demo.authorization_server]
        urls = [demo.connector, demo.authorization_server, *demo.servers.values()]
        assert demo.stop(sig) == 0, demo.stderr()
        assert demo.lines[-1] == "stopped"
        assert all(port_is_closed(url) for url in urls)
