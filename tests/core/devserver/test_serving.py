"""Serving: loopback-only binding, the Python handle, the WSGI app directly, and the CLI."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import pytest
import requests

from mcp_tools.devserver import DevAuthorizationServer, check_bind_host, serve


@pytest.mark.parametrize("host", ["0.0.0.0", "192.168.1.10", "::", "example.com"])
def test_refuses_non_loopback_addresses(host: str) -> None:
    with pytest.raises(ValueError, match="loopback"):
        serve(host=host)
    with pytest.raises(ValueError, match="allow_non_loopback"):
        check_bind_host(host)


@pytest.mark.parametrize("host", ["127.0.0.1", "localhost", "::1", "127.0.0.2"])
def test_accepts_loopback_addresses(host: str) -> None:
    check_bind_host(host)
    check_bind_host("0.0.0.0", allow_non_loopback=True)


def test_handle_lifecycle_and_explicit_issuer() -> None:
    app = DevAuthorizationServer("http://127.0.0.1:1/", scopes=["a"])
    assert app.issuer == "http://127.0.0.1:1"  # trailing slash stripped
    with app.serve() as running:
        assert repr(running).endswith(" running>")
        assert running.issuer == "http://127.0.0.1:1"
        assert running.url != running.issuer  # served elsewhere, issuer kept (e.g. behind a proxy)
        md = requests.get(running.url + "/.well-known/oauth-authorization-server", timeout=5).json()
        assert md["issuer"] == "http://127.0.0.1:1"
    assert not running.running
    with pytest.raises(requests.ConnectionError):
        requests.get(running.url + "/jwks", timeout=2)
    running.stop()  # idempotent


def test_issuer_unknown_before_serving() -> None:
    app = DevAuthorizationServer()
    with pytest.raises(RuntimeError):
        _ = app.issuer
    with pytest.raises(ValueError):
        DevAuthorizationServer("ftp://127.0.0.1")
    with pytest.raises(ValueError):
        DevAuthorizationServer(access_token_ttl=0)
    with pytest.raises(ValueError):
        DevAuthorizationServer(scopes=["bad scope"])


def test_ipv6_loopback() -> None:
    try:
        running = serve(host="::1")
    except OSError:
        pytest.skip("no IPv6 loopback here")
    with running:
        assert running.issuer.startswith("http://[::1]:")
        assert requests.get(running.url + "/jwks", timeout=5).status_code == 200


def test_cli_prints_ready_and_stops_on_ctrl_c() -> None:
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "mcp_tools.cli",
            "dev-auth-server",
            "--port",
            "0",
            "--auto-approve",
            "--scope",
            "x:y",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    try:
        deadline = time.monotonic() + 20
        issuer = None
        assert proc.stdout is not None
        while time.monotonic() < deadline:
            line = proc.stdout.readline()
            if not line:
                break
            if line.startswith("READY "):
                issuer = line.split()[1]
                break
        assert issuer
        assert issuer.startswith("http://127.0.0.1:")
        md = requests.get(issuer + "/.well-known/oauth-authorization-server", timeout=5).json()
        assert md["issuer"] == issuer
        assert md["scopes_supported"] == ["x:y", "offline_access"]
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=10)
        assert proc.returncode == 0, err
        assert "stopped" in out
        assert "Traceback" not in err
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(5)


def test_cli_refuses_a_public_bind_address() -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "mcp_tools.cli", "dev-auth-server", "--host", "0.0.0.0", "--port", "0"],
        capture_output=True,
        text=True,
        timeout=20,
    )
    assert proc.returncode == 2
    assert "loopback" in proc.stderr
    assert "READY" not in proc.stdout


def test_cli_without_subcommand_prints_help() -> None:
    from mcp_tools.cli import main

    assert main([]) == 2
