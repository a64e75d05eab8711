"""Foreign clients and the official conformance suite against every adapter (see conftest.py).

Each test records its outcome in the results table before asserting, so a failure shows up
there as FAIL with the reason.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from tests.interop.conftest import SHORT_TTL, Results, Served, run_node, versions
from tests.interop.tokens import obtain_access_token
from tests.support.node import NodeToolchain
from tests.support.oauth_as import AuthServer

pytestmark = pytest.mark.timeout(240)

#: Scenarios that need a server-to-client channel (SSE responses and sessions): they cannot pass
#: against a stateless JSON endpoint, by design of that mode.
NEEDS_STREAM = {
    "tools-call-with-logging",
    "tools-call-with-progress",
    "tools-call-sampling",
    "tools-call-elicitation",
    "elicitation-sep1034-defaults",
    "elicitation-sep1330-enums",
}
SCENARIOS = 30  # the active server suite of @modelcontextprotocol/conformance 0.1.16


def test_typescript_sdk_oauth_flow_and_refresh(
    served: Served, node: NodeToolchain, short_as: AuthServer, results: Results
) -> None:
    client = "TypeScript SDK (OAuth + refresh)"
    results.record(served.adapter, served.mode, client, "FAIL")
    refreshes_before = short_as.stats()["refresh_token"]
    script = str(node.directory / "ts_sdk_client.mjs")
    done = run_node(node, [str(node.node), script, served.url, str(SHORT_TTL + 1.5)], timeout=90)
    assert done.stdout.strip(), done.stderr[-3000:]
    outcome = json.loads(done.stdout.strip().splitlines()[-1])
    assert outcome["ok"], outcome
    assert done.returncode == 0, outcome
    assert outcome["whoami"] == "hello alice"
    assert outcome["simple"] == "This is a simple text response for testing."
    assert {"whoami", "test_simple_text"} <= set(outcome["tools"])
    # the flow started from the 401 and went through every step
    trace = outcome["trace"]
    assert trace[0] == "POST /mcp 401", trace
    for step in (
        "GET /.well-known/oauth-protected-resource/mcp 200",
        "GET /.well-known/oauth-authorization-server 200",
        "POST /reg 201",
        "POST /token 200",
    ):
        assert step in trace, trace
    assert outcome["registeredClient"]
    assert outcome["authorization"] == {
        "code_challenge_method": "S256",
        "resource": served.url,
        "scope": "notes:read",
    }
    # after the access token expired the server said 401 and the SDK refreshed and retried
    assert outcome["afterExpiry"] == "hello alice"
    assert outcome["refreshed"]
    assert outcome["distinctTokens"] >= 2
    assert trace.count("POST /mcp 401") == 2, trace
    assert short_as.stats()["refresh_token"] == refreshes_before + 1
    results.record(
        served.adapter,
        served.mode,
        client,
        f"pass ({outcome['protocolVersion']}; 401 → PRM → AS metadata → DCR → PKCE → token; "
        f"{len(outcome['tools'])} tools; refresh on 401)",
    )


def inspector(node: NodeToolchain, url: str, token: str | None, *args: str) -> tuple[int, dict[str, object]]:
    argv = [str(node.tool("mcp-inspector")), "--cli", url, "--transport", "http", "--format", "json", *args]
    if token is not None:
        argv += ["--header", f"Authorization: Bearer {token}"]
    done = run_node(node, argv, timeout=60)
    lines = [line for line in done.stdout.splitlines() if line.startswith("{")]
    return done.returncode, json.loads(lines[-1]) if lines else {"stderr": done.stderr[-2000:]}


def test_inspector_cli_with_bearer_token(
    served: Served, node: NodeToolchain, long_as: AuthServer, results: Results
) -> None:
    client = "MCP Inspector CLI"
    results.record(served.adapter, served.mode, client, "FAIL")
    token = obtain_access_token(long_as.issuer, served.url)
    code, listed = inspector(node, served.url, token, "--method", "tools/list")
    assert code == 0, listed
    names = {tool["name"] for tool in listed["result"]["tools"]}  # type: ignore[index]
    assert {"whoami", "test_simple_text"} <= names
    code, called = inspector(node, served.url, token, "--method", "tools/call", "--tool-name", "whoami")
    assert code == 0, called
    assert called["result"]["content"][0]["text"] == "hello alice"  # type: ignore[index]
    # without a token it stops at the 401 (exit code 3, auth_required)
    code, refused = inspector(node, served.url, None, "--method", "tools/list", "--stored-auth-only")
    assert code == 3, refused
    results.record(
        served.adapter,
        served.mode,
        client,
        f"pass (tools/list: {len(names)} tools; tools/call; 401 without token)",
    )


def conformance(
    node: NodeToolchain, url: str, out: Path, token: str | None, *args: str
) -> tuple[str, dict[str, tuple[int, int]]]:
    env = {}
    if token is not None:
        env = {"MCP_BEARER_TOKEN": token, "NODE_OPTIONS": f"--import {node.directory / 'inject_bearer.mjs'}"}
    argv = [str(node.tool("conformance")), "server", "--url", url, "-o", str(out), *args]
    done = run_node(node, argv, timeout=180, **env)
    output = done.stdout + done.stderr
    scenarios = {
        name: (int(passed), int(failed))
        for name, passed, failed in re.findall(
            r"^[✓✗] (\S+): (\d+) passed, (\d+) failed", output, re.MULTILINE
        )
    }
    return output, scenarios


def test_conformance_server_scenarios(
    served: Served, node: NodeToolchain, long_as: AuthServer, results: Results, tmp_path: Path
) -> None:
    client = "conformance (server)"
    results.record(served.adapter, served.mode, client, "FAIL")
    # negative control: without the injected token the harness cannot even initialize
    _, control = conformance(node, served.url, tmp_path / "control", None, "--scenario", "server-initialize")
    assert control.get("server-initialize", (0, 1))[1] > 0, control

    token = obtain_access_token(long_as.issuer, served.url)
    output, scenarios = conformance(node, served.url, tmp_path / "run", token)
    total = re.search(r"Total: (\d+) passed, (\d+) failed", output)
    assert total, output[-3000:]
    passed, failed = int(total.group(1)), int(total.group(2))
    failing = {name for name, (_p, f) in scenarios.items() if f}
    expected_failing = NEEDS_STREAM if served.mode == "stateless-json" else set()
    summary = f"{passed}/{passed + failed} checks, {len(scenarios) - len(failing)}/{len(scenarios)} scenarios"
    if failing:
        summary += f"; expected failures (need a stream): {len(failing & NEEDS_STREAM)}"
    results.record(
        served.adapter, served.mode, client, ("pass " if failing == expected_failing else "FAIL ") + summary
    )
    assert len(scenarios) == SCENARIOS, output[-3000:]
    assert failing == expected_failing, output[-4000:]
    results.versions.update(versions(node))
