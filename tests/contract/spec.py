"""What every adapter is built from in the contract suite: keys, tokens, the MCP server.

The adapters differ only in how they are wired; the server, verifier, resource URL, scopes
and the tokens sent are the same for all of them.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

from joserfc import jwt
from joserfc.jwk import RSAKey
from mcp.server import MCPServer
from mcp.server.auth.middleware.auth_context import get_access_token

from mcp_tools.server.metadata import generate_authorization_server_metadata
from mcp_tools.server.scopes import ToolScopes
from mcp_tools.server.verifiers.jwt import JWTVerifier

ORIGIN = "https://api.example.com"
RESOURCE = f"{ORIGIN}/mcp"
ISSUER = "https://auth.example.com"
BASE_SCOPE = "mcp:read"
WRITE_SCOPE = "notes:write"

SIGNING_KEY = RSAKey.generate_key(2048, parameters={"kid": "contract-1"}, private=True)
OTHER_KEY = RSAKey.generate_key(2048, parameters={"kid": "contract-1"}, private=True)


def public_jwks() -> dict[str, Any]:
    return {"keys": [SIGNING_KEY.as_dict(private=False)]}


def mint(
    *,
    sub: str = "alice",
    scope: str = BASE_SCOPE,
    aud: str | list[str] = RESOURCE,
    iss: str = ISSUER,
    exp_in: int = 300,
    nbf_in: int | None = None,
    key: RSAKey = SIGNING_KEY,
    header: dict[str, Any] | None = None,
    **extra: Any,
) -> str:
    """A signed access token; every claim can be bent to forge a bad one."""
    now = int(time.time())
    claims: dict[str, Any] = {
        "iss": iss,
        "sub": sub,
        "aud": aud,
        "exp": now + exp_in,
        "iat": now,
        "scope": scope,
        "client_id": "contract-client",
        **extra,
    }
    if nbf_in is not None:
        claims["nbf"] = now + nbf_in
    return jwt.encode(header or {"alg": "RS256", "kid": key.kid, "typ": "at+jwt"}, claims, key)


def make_verifier() -> JWTVerifier:
    return JWTVerifier(issuer=ISSUER, audience=RESOURCE, keys=public_jwks())


def make_server(tool_scopes: ToolScopes) -> MCPServer[Any]:
    mcp: MCPServer[Any] = MCPServer("contract", version="1.0")

    @mcp.tool()
    def whoami() -> str:
        """The caller's subject, from the verified token."""
        token = get_access_token()
        return token.subject or "" if token else "anonymous"

    @mcp.tool()
    def echo(text: str) -> str:
        return text

    @mcp.tool()
    @tool_scopes.require(WRITE_SCOPE)
    def write_note(text: str) -> str:
        return f"saved: {text}"

    return mcp


@dataclass
class ContractSettings:
    """The keyword arguments each adapter's factory receives."""

    tool_scopes: ToolScopes = field(default_factory=ToolScopes)
    resource_url: str = RESOURCE
    authorization_servers: list[str] = field(default_factory=lambda: [ISSUER])
    scopes: list[str] = field(default_factory=lambda: [BASE_SCOPE])

    def __post_init__(self) -> None:
        self.server = make_server(self.tool_scopes)
        self.verifier = make_verifier()
        self.authorization_server_metadata = generate_authorization_server_metadata(
            ISSUER, scopes=[BASE_SCOPE, WRITE_SCOPE]
        )
