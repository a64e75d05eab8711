"""A command-line shim that drives mcp_tools.client for the official MCP conformance suite.

The harness runs ``python client.py <server-url>`` with ``MCP_CONFORMANCE_SCENARIO`` and, for
some scenarios, ``MCP_CONFORMANCE_CONTEXT`` (pre-registered credentials). The "browser" is
headless: the authorization URL is fetched without following its redirect and the callback
parameters are read from ``Location``. Then the library's own callback completion runs, and the
MCP calls go through :meth:`McpClient.connect`. Re-authorization (401) and step-up (403
``insufficient_scope``) are handled the way a web app would: start a new authorization and
retry; the library's step-up limit ends a server that never stops asking.
"""

from __future__ import annotations

import json
import os
import sys
from urllib.parse import parse_qs, urlsplit

import anyio
import httpx2

from mcp_tools.client import (
    AuthorizationRequired,
    InsufficientScope,
    McpClient,
    UrlGuard,
    acomplete_auth_with_code,
    acreate_dynamically_registered_mcp_client,
    acreate_known_credentials_mcp_client,
)
from mcp_tools.stores import MemoryStore

REDIRECT = "http://localhost:3000/callback"
CIMD_URL = "https://conformance-test.local/client-metadata.json"
GUARD = UrlGuard(allow_loopback=True, timeout=15)


async def browser(url: str) -> dict[str, str]:
    """GET the authorization URL without following; return the callback's query parameters."""
    async with httpx2.AsyncClient(follow_redirects=False, timeout=15) as http:
        response = await http.get(url)
    location = response.headers.get("location", "")
    return {k: v[0] for k, v in parse_qs(urlsplit(location).query).items()}


async def authorize(client: McpClient, store: MemoryStore, url: str | None) -> None:
    if url is None:
        return
    params = await browser(url)
    await acomplete_auth_with_code(
        state=params["state"],
        code=params.get("code"),
        iss=params.get("iss"),
        error=params.get("error"),
        store=store,
        browser_binding=client.browser_binding,
        url_guard=GUARD,
    )


async def main(server_url: str) -> int:
    store = MemoryStore()
    context = json.loads(os.environ.get("MCP_CONFORMANCE_CONTEXT") or "{}")
    common = {
        "mcp_endpoint": server_url,
        "oauth_redirect_url": REDIRECT,
        "mcp_client_name": "mcp-tools-conformance",
        "mcp_client_version": "0.1",
        "store": store,
        "url_guard": GUARD,
    }
    if context.get("client_id"):
        client = await acreate_known_credentials_mcp_client(
            client_id=context["client_id"], client_secret=context.get("client_secret"), **common
        )
    else:
        client = await acreate_dynamically_registered_mcp_client(client_metadata_url=CIMD_URL, **common)
    await authorize(client, store, client.authorization_url)
    for _attempt in range(6):
        try:
            async with client.connect() as mcp:
                tools = await mcp.list_tools()
                for tool in tools.tools:
                    if tool.name == "test-tool" or len(tools.tools) == 1:
                        await mcp.call_tool(tool.name, {})
            return 0
        except InsufficientScope as exc:
            await authorize(client, store, await client.astart_authorization(scope=exc.scope))
        except AuthorizationRequired:
            await authorize(client, store, await client.astart_authorization())
    return 1


if __name__ == "__main__":
    sys.exit(anyio.run(main, sys.argv[-1]))
