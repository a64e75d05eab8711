"""The ``mcp-tools`` command line: subcommands from other distributions through entry points."""

from __future__ import annotations

import argparse
from importlib.metadata import EntryPoint
from typing import Any

import pytest

from mcp_tools import cli


def _no_entry_points(group: str) -> list[EntryPoint]:
    return []


def test_without_the_demo_distribution_demo_says_what_to_install(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(cli, "entry_points", _no_entry_points)
    assert cli.main(["demo", "--headless", "--port", "8000"]) == 2
    err = capsys.readouterr().err
    assert "mcp-tools demo needs the mcp-tools-demo distribution" in err
    assert "pip install mcp-tools-demo" in err
    assert "not installed" in cli.build_parser().format_help()


def test_unknown_arguments_of_a_real_subcommand_are_still_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(cli, "entry_points", _no_entry_points)
    with pytest.raises(SystemExit) as exc:
        cli.main(["dev-auth-server", "--no-such-option"])
    assert exc.value.code == 2


def test_an_entry_point_adds_a_subcommand(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[argparse.Namespace] = []

    def register(subparsers: Any) -> None:
        parser = subparsers.add_parser("demo")
        parser.add_argument("--flag", action="store_true")
        parser.set_defaults(run=lambda args: calls.append(args) or 7)

    class FakeEntryPoint:
        name = "demo"

        def load(self) -> Any:
            return register

    monkeypatch.setattr(cli, "entry_points", lambda group: [FakeEntryPoint(), FakeEntryPoint()])
    assert cli.main(["demo", "--flag"]) == 7
    assert calls[0].flag is True


def test_an_entry_point_that_cannot_be_imported_falls_back_to_the_stand_in(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    class Broken:
        name = "demo"

        def load(self) -> Any:
            raise ImportError("mcp_tools_demo is half installed")

    monkeypatch.setattr(cli, "entry_points", lambda group: [Broken()])
    assert cli.main(["demo"]) == 2
    assert "pip install mcp-tools-demo" in capsys.readouterr().err


def test_the_installed_demo_registers_its_subcommand() -> None:
    pytest.importorskip("mcp_tools_demo")
    assert cli.ENTRY_POINT_GROUP == "mcp_tools.cli"
    args = cli.build_parser().parse_args(["demo", "--headless", "--timeout", "5"])
    assert args.headless is True
    assert args.timeout == 5.0
    assert args.run.__module__ == "mcp_tools_demo.cli"
