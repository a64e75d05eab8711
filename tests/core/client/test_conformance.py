"""The official MCP conformance suite's client auth scenarios, run against our client.

``npx @modelcontextprotocol/conformance client --suite auth`` (0.1.16, pinned in the shared
``tests/node/package.json`` with the Node 22 it needs from the npm registry) plays a mock MCP
server and a mock authorization server and runs ``conformance/client.py`` (a shim driving
``mcp_tools.client``) once per scenario. Installed with ``npm ci`` on first use. About 45 s.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support.node import NodeToolchain, ToolchainUnavailable, node_toolchain
from tests.support.oauth_as import unavailable

HERE = Path(__file__).resolve().parent / "conformance"
SCENARIOS = 14  # the 0.1.16 "auth" suite


@pytest.fixture(scope="session")
def conformance_installed() -> NodeToolchain:
    try:
        return node_toolchain()
    except ToolchainUnavailable as exc:
        unavailable(str(exc))
        raise


@pytest.mark.slow
def test_client_auth_suite(conformance_installed: NodeToolchain, tmp_path: Path) -> None:
    command = f"{sys.executable} {HERE / 'client.py'}"
    result = subprocess.run(
        [
            str(conformance_installed.tool("conformance")),
            "client",
            "--command",
            command,
            "--suite",
            "auth",
            "--timeout",
            "60000",
            "-o",
            str(tmp_path),
        ],
        cwd=HERE.parents[3],
        env=conformance_installed.env(),
        capture_output=True,
        text=True,
        timeout=300,
    )
    output = result.stdout + result.stderr
    summary = re.search(r"Total: (\d+) passed, (\d+) failed, (\d+) warnings", output)
    assert summary, output[-3000:]
    passed, failed, warnings = (int(n) for n in summary.groups())
    scenario_lines = re.findall(r"^([✓✗]) (auth/\S+): (\d+) passed, (\d+) failed", output, re.MULTILINE)
    failing = [name for mark, name, _p, _f in scenario_lines if mark != "✓"]
    assert failing == [], output[-3000:]
    assert len(scenario_lines) == SCENARIOS
    assert (failed, warnings) == (0, 0)
    assert passed >= 200
    assert result.returncode == 0
