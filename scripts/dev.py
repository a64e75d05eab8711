#!/usr/bin/env python3
"""One entry point for a fresh machine that has only Python 3.11+.

    python3 scripts/dev.py demo      # installs mcp-tools-demo into .venv-demo and runs `mcp-tools demo`
    python3 scripts/dev.py test      # installs nox into .venv-dev, starts services, runs CI's sessions

``demo`` passes further arguments to ``mcp-tools demo`` (``--headless``,
``--authorization-server URL``, ``--port N``...).

Everything the tests need (Python packages, Redis and PostgreSQL when they are not
already running) is installed or started from here, never by hand.
"""

from __future__ import annotations

import hashlib
import os
import pathlib
import subprocess
import sys
import venv

ROOT = pathlib.Path(__file__).resolve().parent.parent
TOOLS_VENV = ROOT / ".venv-dev"
DEMO_VENV = ROOT / ".venv-demo"
CI_SESSIONS = ["tests", "lint", "typecheck", "build", "docs", "demo", "interop"]
DEMO_PACKAGES = [
    "shared-core[crypto]",
    "packages/mcp-tools-fastapi",
    "packages/mcp-tools-flask",
    "packages/mcp-tools-django",
    "packages/mcp-tools-demo",  # the demo itself: pins the four above, brings uvicorn
]


def tools_python() -> pathlib.Path:
    python = TOOLS_VENV / "bin" / "python"
    if not python.exists():
        print(f"dev.py: creating {TOOLS_VENV.name} with nox and uv", flush=True)
        venv.EnvBuilder(with_pip=True, clear=True).create(TOOLS_VENV)
    subprocess.run(
        [str(python), "-m", "pip", "install", "-q", "--disable-pip-version-check", "nox>=2024.4", "uv>=0.4"],
        check=True,
    )
    return python


def run_nox(sessions: list[str], extra: list[str]) -> int:
    python = tools_python()
    env = dict(os.environ)
    env["PATH"] = f"{TOOLS_VENV / 'bin'}{os.pathsep}{env.get('PATH', '')}"
    cmd = [str(python), "-m", "nox", "--noxfile", str(ROOT / "noxfile.py"), "-s", *sessions, *extra]
    print("dev.py:", " ".join(cmd[1:]), flush=True)
    return subprocess.run(cmd, cwd=ROOT, env=env, check=False).returncode


def demo_python() -> pathlib.Path:
    """``.venv-demo`` with the demo and the four packages it pins (editable, from this checkout).

    Installed on first use and again whenever a pyproject.toml changes (a stamp file holds their hash).
    """
    python = DEMO_VENV / ("Scripts/python.exe" if os.name == "nt" else "bin/python")
    digest = hashlib.sha256()
    for package in DEMO_PACKAGES:
        digest.update((ROOT / package.split("[")[0] / "pyproject.toml").read_bytes())
    stamp = DEMO_VENV / ".installed"
    if python.exists() and stamp.exists() and stamp.read_text() == digest.hexdigest():
        return python
    if not python.exists():
        print(f"dev.py: creating {DEMO_VENV.name} for the demo", flush=True)
        venv.EnvBuilder(with_pip=True, clear=True).create(DEMO_VENV)
    print("dev.py: installing mcp-tools-demo with mcp-tools-core, -fastapi, -flask, -django", flush=True)
    editable = [arg for package in DEMO_PACKAGES for arg in ("-e", str(ROOT / package))]
    pip = [str(python), "-m", "pip", "install", "-q", "--disable-pip-version-check"]
    subprocess.run([*pip, *editable], check=True)
    stamp.write_text(digest.hexdigest())
    return python


def run_demo(extra: list[str]) -> int:
    python = demo_python()
    cmd = [str(python), "-m", "mcp_tools.cli", "demo", *extra]
    if os.name == "posix":  # become the demo: Ctrl-C and SIGTERM reach it directly
        sys.stdout.flush()
        os.execv(cmd[0], cmd)
    return subprocess.run(cmd, check=False).returncode


def main(argv: list[str]) -> int:
    if sys.version_info < (3, 11):  # noqa: UP036 - this script runs on whatever python3 is
        print("dev.py: Python 3.11 or newer is required", file=sys.stderr)
        return 2
    command = argv[0] if argv else "test"
    if command == "test":
        subprocess.run([sys.executable, str(ROOT / "scripts" / "ensure_services.py")], check=True)
        return run_nox(CI_SESSIONS, argv[1:])
    if command == "demo":
        return run_demo(argv[1:])
    if command == "nox":
        return run_nox(argv[1:2], argv[2:])
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
