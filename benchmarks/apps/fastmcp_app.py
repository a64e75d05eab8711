"""fastmcp 4.2.3: ``RemoteAuthProvider`` with its ``JWTVerifier`` (static public key)."""

from __future__ import annotations

import os
from typing import Any

os.environ.setdefault("FASTMCP_LOG_LEVEL", "WARNING")

from fastmcp import FastMCP
from fastmcp.server.auth import RemoteAuthProvider
from fastmcp.server.auth.providers.jwt import JWTVerifier

from benchmarks.common import ISSUER, RESOURCE_URL, SCOPE, env_pem


def create_app() -> Any:
    verifier = JWTVerifier(
        public_key=env_pem(), issuer=ISSUER, audience=RESOURCE_URL, algorithm="RS256", required_scopes=[SCOPE]
    )
    auth = RemoteAuthProvider(
        token_verifier=verifier,
        authorization_servers=[ISSUER],  # type: ignore[list-item]
        base_url=RESOURCE_URL.rsplit("/", 1)[0],
    )
    mcp: Any = FastMCP("bench", auth=auth)

    @mcp.tool
    def add(a: int, b: int) -> int:
        """Add two integers."""
        return a + b

    return mcp.http_app(path="/mcp", stateless_http=True, json_response=True)


app = create_app()
