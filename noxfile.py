"""Developer sessions for the mcp-tools family.

Run ``nox -l`` to list them. ``python3 scripts/dev.py test`` bootstraps nox on a fresh
machine and runs the same sessions CI runs.
"""

from __future__ import annotations

import os
import pathlib
import shutil

import nox

nox.options.default_venv_backend = "uv|virtualenv"
nox.options.sessions = ["tests", "lint", "typecheck", "build", "docs", "demo", "interop"]

ROOT = pathlib.Path(__file__).parent
CORE = "shared-core"
ADAPTERS = {
    "django": "packages/mcp-tools-django",
    "flask": "packages/mcp-tools-flask",
    "fastapi": "packages/mcp-tools-fastapi",
}
DEMO = "packages/mcp-tools-demo"  # above the three adapters; nothing imports it
DISTRIBUTIONS = [CORE, *ADAPTERS.values(), DEMO]
SRC_TREES = [f"{path}/src" for path in DISTRIBUTIONS]
TEST_DEPS = [
    "pytest>=8",
    "pytest-timeout>=2.3",
    "hypothesis>=6.100",
    "uvicorn>=0.30",
    "gunicorn>=22",
    "waitress>=3",
    "cryptography>=42",
    "playwright>=1.45",  # tests/demo/test_browser.py: drives /usr/bin/chromium, no `playwright install`
]


def install_family(session: nox.Session, *extra: str) -> None:
    """Install the five distributions (editable) plus test dependencies in one resolve."""
    args = ["-e", f"{CORE}[all]"]
    for path in [*ADAPTERS.values(), DEMO]:
        args += ["-e", path]
    session.install(*args, *TEST_DEPS, *extra)


def run_pytest(session: nox.Session, *paths: str) -> None:
    session.run("pytest", *(session.posargs or paths))


@nox.session
def tests(session: nox.Session) -> None:
    """Every test of every package (the docs samples run in the ``docs`` session, interop in ``interop``)."""
    install_family(session)
    run_pytest(session, "tests", "--ignore=tests/docs", "--ignore=tests/interop")


@nox.session(name="tests-core")
def tests_core(session: nox.Session) -> None:
    """Tests of mcp-tools-core (server side, client side, stores)."""
    install_family(session)
    run_pytest(session, "tests/core")


@nox.session(name="tests-fastapi")
def tests_fastapi(session: nox.Session) -> None:
    """Tests of mcp-tools-fastapi."""
    install_family(session)
    run_pytest(session, "tests/fastapi")


@nox.session(name="tests-flask")
def tests_flask(session: nox.Session) -> None:
    """Tests of mcp-tools-flask."""
    install_family(session)
    run_pytest(session, "tests/flask")


@nox.session(name="tests-django")
@nox.parametrize("django", ["latest", "4.2"])
def tests_django(session: nox.Session, django: str) -> None:
    """Tests of mcp-tools-django, against the latest Django and the previous LTS (4.2)."""
    install_family(session)
    spec = ">=4.2" if django == "latest" else f"~={django}.0"
    session.install("--upgrade", f"django{spec}")
    run_pytest(session, "tests/django")


@nox.session(name="conformance-client")
def conformance_client(session: nox.Session) -> None:
    """The official MCP conformance suite's client auth scenarios against mcp_tools.client.

    ``npm ci`` installs @modelcontextprotocol/conformance and the Node 22 it needs (from the npm
    registry) under tests/node/ on first use. The ``tests`` session runs it too.
    """
    install_family(session)
    run_pytest(session, "tests/core/client/test_conformance.py")


DEMO_TIMEOUT = 300  # seconds for the whole `mcp-tools demo --headless` run


@nox.session
def demo(session: nox.Session) -> None:
    """``mcp-tools demo --headless``: dev AS, MCP servers on FastAPI, Flask and Django, the connector.

    Installs mcp-tools-demo from the repository (not editable: what a user gets) with the core and
    the three adapters it pins, then runs the journey for every server without a person; any
    failure exits non-zero.
    The whole run is bounded by ``DEMO_TIMEOUT``. Extra arguments go to ``mcp-tools demo``.
    """
    session.install(f"./{CORE}[crypto]", *(f"./{path}" for path in ADAPTERS.values()), f"./{DEMO}")
    bounded = f"import subprocess as s, sys; sys.exit(s.run(sys.argv[1:], timeout={DEMO_TIMEOUT}).returncode)"
    session.run("python", "-c", bounded, "mcp-tools", "demo", "--headless", *session.posargs)


@nox.session
def interop(session: nox.Session) -> None:
    """Foreign clients and the official conformance suite against every adapter (tests/interop/).

    oidc-provider as the authorization server; the TypeScript SDK (full OAuth flow and refresh),
    the MCP Inspector CLI and the conformance suite's server scenarios against FastAPI (uvicorn),
    Flask (gunicorn) and Django (gunicorn, uvicorn); the Clerk HTTP-handler parity vectors.
    ``npm ci`` installs the pinned Node tools (tests/node/, tests/oauth_as/) on first use.
    Writes docs/interop-results.md. About 3 minutes.
    """
    install_family(session)
    run_pytest(session, "tests/interop")


@nox.session
def lint(session: nox.Session) -> None:
    """ruff check and ruff format --check over the whole repository, then the import contracts.

    ``lint-imports`` (import-linter, configured in pyproject.toml) checks the layers (demo ->
    adapters -> core; inside the core, server/client/devserver -> stores/http), that the core imports
    no framework and that no package has an import cycle between its subpackages;
    ``scripts/check_import_cycles.py`` (grimp, which import-linter is built on) refuses any cycle
    between two modules of the five src trees. Both read the sources only: nothing is installed.
    """
    session.install("ruff>=0.6", "import-linter>=2.1")
    session.run("ruff", "check", ".")
    session.run("ruff", "format", "--check", ".")
    env = {"PYTHONPATH": os.pathsep.join(str(ROOT / tree) for tree in SRC_TREES)}
    broken = []
    for check in (["lint-imports", "--no-cache"], ["python", "scripts/check_import_cycles.py"]):
        try:  # run both, so that one run shows every finding
            session.run(*check, env=env)
        except nox.command.CommandFailed:
            broken.append(" ".join(check))
    if broken:
        session.error(f"import contracts broken: {', '.join(broken)} (see above)")


@nox.session
def typecheck(session: nox.Session) -> None:
    """mypy --strict on the five src/ trees."""
    install_family(session, "mypy>=1.11", "types-requests", "django-stubs")
    session.run("mypy", "--strict", *SRC_TREES)


@nox.session
def build(session: nox.Session) -> None:
    """Build all five wheels and sdists, then check metadata and wheel contents."""
    session.install("build>=1.2", "twine>=5")
    dist = ROOT / "dist"
    shutil.rmtree(dist, ignore_errors=True)
    for path in DISTRIBUTIONS:
        session.run("python", "-m", "build", "--outdir", str(dist), path)
    session.run("twine", "check", "--strict", *sorted(str(p) for p in dist.iterdir()))
    session.run("python", "scripts/check_dists.py", str(dist))


DOCS_DEPS = [
    "mkdocs==1.6.1",
    "mkdocs-material==9.8.2",
    "mkdocstrings[python]==1.0.8",
    "mkdocstrings-python==2.0.11",
]


@nox.session
def docs(session: nox.Session) -> None:
    """Build the site with ``mkdocs build --strict`` into site/, then run every code sample in the docs.

    ``nox -s docs -- serve`` previews the site on http://127.0.0.1:8000 instead.
    """
    install_family(session, *DOCS_DEPS)
    env = {"NO_MKDOCS_2_WARNING": "1"}  # Material's end-of-life banner is not a build warning
    if session.posargs[:1] == ["serve"]:
        session.run("mkdocs", "serve", *session.posargs[1:], env=env)
        return
    session.run("mkdocs", "build", "--strict", "--site-dir", str(ROOT / "site"), env=env)
    session.run("pytest", "tests/docs", *session.posargs)


BENCH_DEPS = ["fastmcp==4.2.3", "matplotlib>=3.8", "httpx2", "uvicorn>=0.30", "gunicorn>=22", "uwsgi>=2.0.28"]


@nox.session
def bench(session: nox.Session) -> None:
    """Throughput and latency of every adapter against the bare SDK and fastmcp (not run by CI).

    Load comes from ``wrk`` (Debian's package; installed with apt-get when missing and root).
    Results go to benchmarks/results/ (markdown, JSON, PNG). ``nox -s bench -- --quick`` for a
    short smoke run; other arguments are passed to ``benchmarks/run.py``.
    """
    install_family(session, *BENCH_DEPS)
    if shutil.which("wrk") is None:
        if hasattr(os, "geteuid") and os.geteuid() == 0 and shutil.which("apt-get"):
            install = "apt-get install -y -qq wrk || (apt-get update -qq && apt-get install -y -qq wrk)"
            session.run("sh", "-c", install, external=True)
        else:
            session.log("wrk not found: falling back to the Python load generator (noisier)")
    session.run("python", "benchmarks/run.py", *session.posargs)


@nox.session
def soak(session: nox.Session) -> None:
    """Bounded soak: 8 concurrent clients for 60 s through each adapter (not run by CI).

    FastAPI under uvicorn, Flask under gunicorn gthread, Django under gunicorn and uvicorn, all on
    127.0.0.1. Fails on any error, on RSS growth of 10 % or more of the serving process, or on a
    traceback or token in server stderr (kept in a temp dir). ``nox -s soak -- --duration 10
    --only flask-gunicorn``; see ``tests/reliability/soak.py``.
    """
    install_family(session)
    session.run("python", "-m", "tests.reliability.soak", *session.posargs)
