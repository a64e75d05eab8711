"""The ``mcp-tools`` command line (argparse, one subcommand per tool).

``mcp-tools dev-auth-server`` runs the development authorization server
(:mod:`mcp_tools.devserver`) until Ctrl-C. ``mcp-tools demo`` belongs to the ``mcp-tools-demo``
distribution, which registers it through the ``mcp_tools.cli`` entry point group: the core never
imports the demo (it sits above the three adapters), and without it ``mcp-tools demo`` says what
to install. To add a subcommand, write a ``_add_<name>(subparsers)`` function that registers its
parser with ``set_defaults(run=...)`` and append it to :data:`SUBCOMMANDS` (or, from another
distribution, declare such a function as an entry point of the group); the ``run`` callable gets
the parsed arguments and returns the exit code.
"""

from __future__ import annotations

import argparse
import signal
import sys
import threading
from collections.abc import Callable, Sequence
from importlib.metadata import entry_points
from typing import Any

__all__ = ["ENTRY_POINT_GROUP", "OPTIONAL_SUBCOMMANDS", "SUBCOMMANDS", "build_parser", "main"]


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


#: The entry point group through which other distributions add subcommands: each entry point
#: names a ``register(subparsers)`` function like the ``_add_<name>`` ones here.
ENTRY_POINT_GROUP = "mcp_tools.cli"

#: Subcommands that live in another distribution: name -> (distribution, how to get it). When
#: the distribution is not installed, ``mcp-tools NAME`` says so and exits 2.
OPTIONAL_SUBCOMMANDS = {
    "demo": (
        "mcp-tools-demo",
        "pip install mcp-tools-demo\n"
        "or, from a checkout of the repository, run it with `python3 scripts/dev.py demo`",
    ),
}


def _installed_subcommands() -> dict[str, Callable[[Any], None]]:
    """``name -> register`` for each subcommand an installed distribution declares.

    An entry point that cannot be imported (a broken install) is left out, so the command line
    still works and the subcommand, if optional, explains what to install.
    """
    found: dict[str, Callable[[Any], None]] = {}
    for entry_point in entry_points(group=ENTRY_POINT_GROUP):
        if entry_point.name in found:  # the same distribution seen twice on sys.path
            continue
        try:
            found[entry_point.name] = entry_point.load()
        except ImportError:
            continue
    return dict(sorted(found.items()))


def _add_missing(subparsers: Any, name: str, distribution: str, install: str) -> None:
    """A stand-in ``name`` subcommand that names the distribution to install, then exits 2."""
    parser = subparsers.add_parser(
        name, help=f"(not installed: needs {distribution})", description=install, add_help=False
    )

    def run(args: argparse.Namespace) -> int:
        print(f"mcp-tools {name} needs the {distribution} distribution; install it with", file=sys.stderr)
        print(f"    {install}", file=sys.stderr)
        return 2

    parser.set_defaults(run=run, accepts_any_arguments=True)


#: Functions registering one subcommand each.
SUBCOMMANDS: list[Callable[[Any], None]] = [_add_dev_auth_server]


def build_parser() -> argparse.ArgumentParser:
    """The ``mcp-tools`` argument parser with every registered subcommand.

    Those of :data:`SUBCOMMANDS`, then those installed distributions declare in the
    :data:`ENTRY_POINT_GROUP` group, then a stub for each of :data:`OPTIONAL_SUBCOMMANDS`
    that is not installed.
    """
    parser = argparse.ArgumentParser(prog="mcp-tools", description="mcp-tools command line")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    for add in SUBCOMMANDS:
        add(subparsers)
    installed = _installed_subcommands()
    for register in installed.values():
        register(subparsers)
    for name, (distribution, install) in OPTIONAL_SUBCOMMANDS.items():
        if name not in installed:
            _add_missing(subparsers, name, distribution, install)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``mcp-tools`` console script."""
    parser = build_parser()
    args, unknown = parser.parse_known_args(argv)
    if unknown and not getattr(args, "accepts_any_arguments", False):
        parser.error(f"unrecognized arguments: {' '.join(unknown)}")
    run: Callable[[argparse.Namespace], int] | None = getattr(args, "run", None)
    if run is None:
        parser.print_help()
        return 2
    return run(args)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
