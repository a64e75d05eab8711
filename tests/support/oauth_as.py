"""npm ``oidc-provider`` as a real authorization server for tests (``tests/oauth_as/as.mjs``).

One implementation shared by the client tests (``tests/core/client``), the FastAPI client
views and the interop run: install (``npm ci`` from the committed lock file on first use),
start (``node as.mjs 0``, bounded wait for its ``READY <issuer>`` line, always killed), and
play the browser through its redirects (:func:`consent`).
"""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import parse_qs, urljoin, urlsplit

import pytest
import requests

AS_DIR = Path(__file__).resolve().parents[1] / "oauth_as"
IN_CI = os.environ.get("CI", "").strip().lower() in {"1", "true", "yes"}


def unavailable(reason: str) -> None:
    """Skip locally, fail under CI=true."""
    if IN_CI:
        pytest.fail(f"{reason} (CI=true, so this is a failure, not a skip)")
    pytest.skip(reason)


def install_oauth_as() -> Path:
    """``tests/oauth_as`` with its pinned node_modules (``npm ci`` on first use)."""
    if shutil.which("node") is None or shutil.which("npm") is None:
        unavailable("Node.js and npm are needed to run the oidc-provider authorization server")
    if not (AS_DIR / "node_modules" / "oidc-provider").is_dir():
        result = subprocess.run(
            ["npm", "ci", "--no-audit", "--no-fund"], cwd=AS_DIR, capture_output=True, text=True, timeout=180
        )
        if result.returncode != 0:
            unavailable(f"npm ci in {AS_DIR} failed: {result.stderr[-500:]}")
    return AS_DIR


@pytest.fixture(scope="session")
def oauth_as_installed() -> Path:
    """``tests/oauth_as`` with its pinned node_modules (``npm ci`` on first use)."""
    return install_oauth_as()


@dataclass
class AuthServer:
    """A running oidc-provider: its issuer and its test counters."""

    issuer: str
    process: subprocess.Popen[str]

    def stats(self) -> dict[str, int]:
        return dict(requests.get(f"{self.issuer}/test/stats", timeout=5).json())

    def deny_next(self) -> None:
        requests.post(f"{self.issuer}/test/deny-next", timeout=5).raise_for_status()


@contextlib.contextmanager
def run_auth_server(directory: Path, **env: str) -> Iterator[AuthServer]:
    """Start ``node as.mjs 0`` with ``env``; wait (bounded) for its READY line; kill it afterwards."""
    process = subprocess.Popen(
        ["node", "as.mjs", "0"],
        cwd=directory,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        env={**os.environ, **env},
    )
    try:
        line: list[str] = []
        reader = threading.Thread(
            target=lambda: line.append(process.stdout.readline() if process.stdout else "")
        )
        reader.start()
        reader.join(timeout=20)
        if not line or not line[0].startswith("READY "):
            raise RuntimeError(f"oidc-provider did not start: {line!r}")
        yield AuthServer(line[0].split()[1], process)
    finally:
        process.kill()
        process.wait(timeout=10)


def consent(authorization_url: str, redirect: str, browser: requests.Session | None = None) -> dict[str, str]:
    """Play the browser: follow the authorization server's redirects until it sends us to ``redirect``.

    Returns the callback's query parameters (``code``, ``state``, ``iss`` or ``error``).
    """
    browser = browser or requests.Session()
    url = authorization_url
    for _ in range(12):
        response = browser.get(url, allow_redirects=False, timeout=10)
        location = response.headers.get("location")
        assert location, f"no redirect from {url}: {response.status_code} {response.text[:300]}"
        if location.startswith(redirect):
            return {k: v[0] for k, v in parse_qs(urlsplit(location).query).items()}
        url = urljoin(url, location)
    raise AssertionError("too many redirects at the authorization server")
