"""Report how many documentation samples ran and which were skipped, with the reasons."""

from __future__ import annotations

import pytest


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    from tests.docs.test_snippets import RESULTS

    ran, skipped = RESULTS["ran"], RESULTS["skipped"]
    if not ran and not skipped:
        return
    doctests = sum(1 for block in ran if block["kind"] == "doctest")
    terminalreporter.section("documentation samples")
    terminalreporter.write_line(
        f"{len(ran)} executed ({len(ran) - doctests} scripts, {doctests} doctest blocks), "
        f"{len(skipped)} skipped"
    )
    for block in skipped:
        terminalreporter.write_line(f"  skipped {block['location']}: {block['reason']}")
