"""The ``mcp-tools`` command line (argparse, one subcommand per tool).

``mcp-tools dev-auth-server`` runs the development authorization server
(:mod:`mcp_tools.devserver`) until Ctrl-C; ``mcp-tools demo`` runs the demo
(:mod:`mcp_tools.demo`). To add a subcommand, write a
``_add_<name>(subparsers)`` function that registers its parser with ``set_defaults(run=...)``
and append it to :data:`SUBCOMMANDS`; the ``run`` callable gets the parsed arguments and
returns the exit code.
"""

from __future__ import annotations

import argparse
import signal
import sys
import threading
from collections.abc import Callable, Sequence
from typing import Any

__all__ = ["SUBCOMMANDS", "build_parser", "main"]


def _run_dev_auth_server(args: argparse.Namespace) -> int:
    from mcp_tools.devserver import DevAuthorizationServer

    try:
        app = DevAuthorizationServer(
            args.issuer,
            scopes=args.scope or ["mcp"],
            auto_approve=args.auto_approve,
            default_user=args.user,
            access_token_ttl=args.access_token_ttl,
            resources=args.resource or None,
        )
        running = app.serve(args.host, args.port, allow_non_loopback=args.allow_non_loopback)
    except (ValueError, OSError) as exc:
        print(f"mcp-tools dev-auth-server: {exc}", file=sys.stderr)
        return 2
    stop = threading.Event()

    def _on_signal(signum: int, frame: Any) -> None:
        stop.set()

    previous = signal.signal(signal.SIGTERM, _on_signal)
    try:
        print("Development authorization server: never use it in production.", flush=True)
        print(f"  metadata  {app.metadata_url}", flush=True)
        print(f"  jwks      {app.jwks_uri}", flush=True)
        print(f"  mode      {'auto-approve as ' + args.user if args.auto_approve else 'login + consent'}")
        print(f"READY {app.issuer}", flush=True)
        while not stop.wait(0.2):
            pass
    except KeyboardInterrupt:
        pass
    finally:
        running.stop()
        signal.signal(signal.SIGTERM, previous)
        print("stopped", flush=True)
    return 0


def _add_dev_auth_server(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "dev-auth-server",
        help="run the development OAuth authorization server (in memory, loopback only)",
        description=(
            "Run an in-memory OAuth 2.1 authorization server for trying MCP servers locally: "
            "metadata, dynamic registration, PKCE, resource indicators, JWT access tokens. "
            "Development only. Prints 'READY <issuer>' when it accepts requests; Ctrl-C stops it."
        ),
    )
    parser.add_argument("--host", default="127.0.0.1", help="bind address (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=9000, help="port (default 9000; 0 picks a free one)")
    parser.add_argument("--issuer", default=None, help="issuer URL (default http://HOST:PORT)")
    parser.add_argument(
        "--scope", action="append", metavar="SCOPE", help="a scope to offer (repeatable; default: mcp)"
    )
    parser.add_argument(
        "--resource", action="append", metavar="URL", help="allow only these resources (repeatable)"
    )
    parser.add_argument("--auto-approve", action="store_true", help="no login or consent pages")
    parser.add_argument("--user", default="dev-user", help="the user (sub) in auto-approve mode")
    parser.add_argument("--access-token-ttl", type=int, default=300, help="seconds (default 300)")
    parser.add_argument(
        "--allow-non-loopback", action="store_true", help="allow binding to a non-loopback address (unsafe)"
    )
    parser.set_defaults(run=_run_dev_auth_server)


def _run_demo(args: argparse.Namespace) -> int:
    from mcp_tools.demo import DemoOptions, run_demo

    options = DemoOptions(
        authorization_server=args.authorization_server,
        headless=args.headless,
        auto_approve=args.auto_approve,
        store=args.store,
        port=args.port,
        user=args.user,
        timeout=args.timeout,
    )

    def out(line: str) -> None:
        print(line, flush=True)

    def err(line: str) -> None:
        print(line, file=sys.stderr, flush=True)

    return run_demo(options, out=out, err=err)


def _add_demo(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "demo",
        help="run the demo: dev authorization server, MCP servers on FastAPI, Flask and Django, a connector",
        description=(
            "Start on 127.0.0.1 the development authorization server, one OAuth-protected MCP server per "
            "framework (FastAPI, Flask, Django) and a connector web app where you connect to them, sign in, "
            "consent and call tools. Prints 'MCP-SERVER <framework> <url>' per server and 'READY' when "
            "everything accepts requests; Ctrl-C stops it. Development only."
        ),
    )
    parser.add_argument(
        "--authorization-server",
        metavar="URL",
        help="use this existing authorization server (its issuer URL) instead of the embedded one",
    )
    parser.add_argument(
        "--headless",
        action="store_true",
        help="run the journey without a person for every server, print the tool results, exit",
    )
    parser.add_argument(
        "--auto-approve",
        action="store_true",
        help="the embedded authorization server skips login and consent",
    )
    parser.add_argument(
        "--store",
        metavar="URL",
        help="the connector's token store (default: SQLite in a temporary directory, deleted at exit)",
    )
    parser.add_argument("--port", type=int, default=0, help="the connector's port (default: a free one)")
    parser.add_argument("--user", default="demo-user", help="the username --headless signs in with")
    parser.add_argument(
        "--timeout", type=float, default=120.0, help="seconds the --headless journey may take (default 120)"
    )
    parser.set_defaults(run=_run_demo)


#: Functions registering one subcommand each.
SUBCOMMANDS: list[Callable[[Any], None]] = [_add_dev_auth_server, _add_demo]


def build_parser() -> argparse.ArgumentParser:
    """The ``mcp-tools`` argument parser with every registered subcommand."""
    parser = argparse.ArgumentParser(prog="mcp-tools", description="mcp-tools command line")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    for add in SUBCOMMANDS:
        add(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``mcp-tools`` console script."""
    parser = build_parser()
    args = parser.parse_args(argv)
    run: Callable[[argparse.Namespace], int] | None = getattr(args, "run", None)
    if run is None:
        parser.print_help()
        return 2
    return run(args)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
