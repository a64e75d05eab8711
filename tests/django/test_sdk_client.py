"""The SDK's own MCP client against the example project under gunicorn (gthread, WSGI bridge),
uvicorn (the ASGI wrapper) and runserver, each a subprocess on 127.0.0.1 with real JWTs."""

from __future__ import annotations

import json
import os
import pathlib
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from typing import Any

import httpx2
import pytest
from mcp import Client
from mcp.client.streamable_http import streamable_http_client

from tests.contract.spec import ISSUER, mint, public_jwks
from tests.support.servers import free_port

ROOT = pathlib.Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "examples" / "django"
BIN = pathlib.Path(sys.executable).parent


def start(kind: str, port: int) -> subprocess.Popen[bytes]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MCP_", "DJANGO_"))}
    env.update(
        MCP_RESOURCE_URL=f"http://127.0.0.1:{port}/mcp",
        MCP_ISSUER=ISSUER,
        MCP_JWKS=json.dumps(public_jwks()),
        DJANGO_DEBUG="1" if kind == "runserver" else "0",
        DJANGO_SETTINGS_MODULE="notes_project.settings",
    )
    bind = f"127.0.0.1:{port}"
    commands = {
        "gunicorn": [
            str(BIN / "gunicorn"),
            "-k",
            "gthread",
            "-w",
            "1",
            "--threads",
            "4",
            "-b",
            bind,
            "notes_project.wsgi:application",
        ],
        "uvicorn": [
            str(BIN / "uvicorn"),
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--lifespan",
            "on",
            "--log-level",
            "warning",
            "notes_project.asgi:application",
        ],
        "runserver": [sys.executable, "manage.py", "runserver", "--noreload", bind],
    }
    return subprocess.Popen(
        commands[kind],
        cwd=EXAMPLE,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        start_new_session=True,
    )


def stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=10)


def wait_ready(process: subprocess.Popen[bytes], base: str, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"server exited: {process.stderr.read().decode() if process.stderr else ''}")
        try:
            if httpx2.get(f"{base}/.well-known/oauth-protected-resource/mcp", timeout=1).status_code == 200:
                return
        except httpx2.HTTPError:
            pass
        time.sleep(0.1)
    raise RuntimeError(f"server at {base} not ready within {timeout} s")


@pytest.fixture(scope="module", params=["gunicorn", "uvicorn"])
def served(request: pytest.FixtureRequest) -> Iterator[str]:
    port = free_port()
    process = start(request.param, port)
    try:  # the process is killed whatever happens
        wait_ready(process, f"http://127.0.0.1:{port}")
        yield f"http://127.0.0.1:{port}/mcp"
    finally:
        stop(process)


def client_for(url: str, token: str, mode: str) -> Client:
    http = httpx2.AsyncClient(headers={"Authorization": f"Bearer {token}"}, timeout=30)
    return Client(streamable_http_client(url, http_client=http), mode=mode)  # type: ignore[arg-type]


def text_of(result: Any) -> str:
    return str(result.content[0].text)


@pytest.mark.anyio
@pytest.mark.parametrize("mode", ["legacy", "auto"])
async def test_sdk_client_lists_and_calls_tools(served: str, mode: str) -> None:
    subject = f"user-{mode}-{served.rsplit(':', 1)[1].split('/')[0]}"
    token = mint(sub=subject, aud=served, scope="notes:read notes:write")
    async with client_for(served, token, mode) as client:
        assert client.protocol_version == ("2025-11-25" if mode == "legacy" else "2026-07-28")
        tools = await client.list_tools()
        assert {t.name for t in tools.tools} == {"read_notes", "add_note"}
        saved = await client.call_tool("add_note", {"text": "hello"})
        assert text_of(saved) == f"saved note 1 for {subject}"  # get_access_token() in the tool
        notes = await client.call_tool("read_notes", {})
        assert notes.structured_content == {"result": ["hello"]}
    # the decorator-protected JSON view of the same project sees the same user and notes
    api = served.replace("/mcp", "/api/notes")
    async with httpx2.AsyncClient(timeout=10) as http:
        response = await http.get(api, headers={"Authorization": f"Bearer {token}"})
        assert response.json() == {"subject": subject, "notes": ["hello"]}
        assert (await http.get(api)).status_code == 401


@pytest.mark.anyio
async def test_missing_tool_scope_is_403_and_wrong_audience_401(served: str) -> None:
    headers = {
        "Accept": "application/json, text/event-stream",
        "Content-Type": "application/json",
        "MCP-Protocol-Version": "2026-07-28",
        "Mcp-Method": "tools/call",
        "Mcp-Name": "add_note",
    }
    body = {
        "jsonrpc": "2.0",
        "id": 1,
        "method": "tools/call",
        "params": {"name": "add_note", "arguments": {}},
    }
    async with httpx2.AsyncClient(timeout=10) as http:
        token = mint(aud=served, scope="notes:read")
        response = await http.post(served, headers={**headers, "Authorization": f"Bearer {token}"}, json=body)
        assert response.status_code == 403
        assert 'scope="notes:read notes:write"' in response.headers["www-authenticate"]
        other = mint(aud="http://127.0.0.1:1/mcp", scope="notes:read notes:write")
        response = await http.post(served, headers={**headers, "Authorization": f"Bearer {other}"}, json=body)
        assert response.status_code == 401


@pytest.mark.anyio
async def test_runserver_serves_the_example() -> None:
    port = free_port()
    process = start("runserver", port)
    try:
        wait_ready(process, f"http://127.0.0.1:{port}")
        url = f"http://127.0.0.1:{port}/mcp"
        async with client_for(url, mint(aud=url, scope="notes:read"), "auto") as client:
            assert {t.name for t in (await client.list_tools()).tools} == {"read_notes", "add_note"}
    finally:
        stop(process)
