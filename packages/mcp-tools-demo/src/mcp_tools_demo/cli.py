"""``mcp-tools demo``: the subcommand this distribution adds to the core's command line.

The core's ``mcp-tools`` (:mod:`mcp_tools.cli`) never imports this package; it loads
:func:`register` through the ``mcp_tools.cli`` entry point group declared in this
distribution's ``pyproject.toml``. Registering the parser imports no framework: the demo
imports them when it starts.
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

__all__ = ["register", "run"]


def run(args: argparse.Namespace) -> int:
    """Run the demo with the parsed ``mcp-tools demo`` arguments; the exit code."""
    from .runner import DemoOptions, run_demo

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


def register(subparsers: Any) -> None:
    """Add the ``demo`` subcommand to the ``mcp-tools`` parser's subparsers."""
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
    parser.set_defaults(run=run)
