#!/usr/bin/env python3
"""One entry point for a fresh machine that has only Python 3.11+.

    python3 scripts/dev.py test      # installs nox into .venv-dev, starts services, runs CI's sessions

Everything the tests need (Python packages, Redis and PostgreSQL when they are not
already running) is installed or started from here, never by hand.
"""

from __future__ import annotations

import os
import pathlib
import subprocess
import sys
import venv

ROOT = pathlib.Path(__file__).resolve().parent.parent
TOOLS_VENV = ROOT / ".venv-dev"
CI_SESSIONS = ["tests", "lint", "typecheck", "build", "docs"]


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


def main(argv: list[str]) -> int:
    if sys.version_info < (3, 11):  # noqa: UP036 - this script runs on whatever python3 is
        print("dev.py: Python 3.11 or newer is required", file=sys.stderr)
        return 2
    command = argv[0] if argv else "test"
    if command == "test":
        subprocess.run([sys.executable, str(ROOT / "scripts" / "ensure_services.py")], check=True)
        return run_nox(CI_SESSIONS, argv[1:])
    if command == "nox":
        return run_nox(argv[1:2], argv[2:])
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
