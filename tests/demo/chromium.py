"""Debian's Chromium for the browser tests: found, or installed with apt-get (root, bounded).

Locally a missing Chromium (or Playwright) skips the browser tests with the reason; under
``CI=true`` it fails them. ``playwright install`` is never run: the tests drive
``/usr/bin/chromium`` through ``executable_path``.
"""

from __future__ import annotations

import os
import pathlib
import shutil
import subprocess

import pytest

CHROMIUM = pathlib.Path("/usr/bin/chromium")
LAUNCH_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
INSTALL_TIMEOUT = 900


def unavailable(reason: str) -> None:
    """Skip locally; fail under CI=true."""
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(f"{reason} (CI=true: browser tests must run)")
    pytest.skip(reason)


def _apt_install() -> str | None:
    """Install Debian's chromium package; return why it could not be, or None."""
    if not hasattr(os, "geteuid") or os.geteuid() != 0:
        return "not root"
    if shutil.which("apt-get") is None:
        return "no apt-get"
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    command = "apt-get install -y -qq chromium || (apt-get update -qq && apt-get install -y -qq chromium)"
    try:
        done = subprocess.run(
            ["sh", "-c", command],
            env=env,
            capture_output=True,
            text=True,
            timeout=INSTALL_TIMEOUT,
            check=False,
        )
    except subprocess.TimeoutExpired:
        return f"apt-get did not finish within {INSTALL_TIMEOUT} s"
    if done.returncode != 0:
        return f"apt-get failed: {done.stderr.strip()[-300:]}"
    return None


def ensure_chromium() -> str:
    """The path of Chromium, installing it when missing (skip or fail when impossible)."""
    if not CHROMIUM.exists():
        problem = _apt_install()
        if problem is not None or not CHROMIUM.exists():
            unavailable(f"Chromium is not installed at {CHROMIUM} and could not be installed ({problem})")
    return str(CHROMIUM)
