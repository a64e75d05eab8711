"""Shared pieces of the benchmark: the key, the token, the tool and the request shapes.

Every contender verifies the *same* RS256 JWT, minted here with joserfc against a static JWKS
whose public half reaches the apps through environment variables (``BENCH_JWKS``,
``BENCH_PUBLIC_PEM``). The resource URL (and so the token's audience) is the same for every
contender: ``http://127.0.0.1/mcp`` (ports differ; Host checks admit any port on 127.0.0.1).
"""

from __future__ import annotations

import json
import os
import time
from typing import Any

ISSUER = "https://auth.bench.example"
RESOURCE_URL = "http://127.0.0.1/mcp"
SCOPE = "mcp:read"
CLIENT_ID = "bench-client"
MCP_PATH = "/mcp"

MODERN_VERSION = "2026-07-28"
LEGACY_VERSION = "2025-11-25"


def make_keys() -> tuple[Any, dict[str, Any], str]:
    """A fresh RSA key: (private joserfc key, public JWKS, public PEM)."""
    from joserfc.jwk import RSAKey

    key = RSAKey.generate_key(2048, parameters={"kid": "bench-1", "use": "sig", "alg": "RS256"})
    public = key.as_dict(private=False)
    pem = key.as_pem(private=False).decode("ascii")
    return key, {"keys": [public]}, pem


def mint_token(
    key: Any, *, lifetime: int = 3600, audience: str = RESOURCE_URL, subject: str = "alice"
) -> str:
    """An RS256 access token (RFC 9068 shape) for the benchmark resource."""
    from joserfc import jwt

    now = int(time.time())
    claims = {
        "iss": ISSUER,
        "sub": subject,
        "aud": audience,
        "client_id": CLIENT_ID,
        "scope": SCOPE,
        "iat": now,
        "exp": now + lifetime,
        "jti": os.urandom(8).hex(),
    }
    return jwt.encode({"alg": "RS256", "kid": "bench-1", "typ": "at+jwt"}, claims, key)


def env_jwks() -> dict[str, Any]:
    return json.loads(os.environ["BENCH_JWKS"])  # type: ignore[no-any-return]


def env_pem() -> str:
    return os.environ["BENCH_PUBLIC_PEM"]


def build_server(**kwargs: Any) -> Any:
    """The MCP server every contender serves: one trivial synchronous tool.

    ``log_level="WARNING"``: MCPServer's default ("INFO") installs a root handler that logs
    each 2025-era stateless request ("Terminating session"); every contender gets the same
    setting, see docs/benchmarks.md.
    """
    from mcp.server import MCPServer

    mcp = MCPServer("bench", version="1.0", log_level="WARNING", **kwargs)

    @mcp.tool()
    def add(a: int, b: int) -> int:
        """Add two integers."""
        return a + b

    return mcp


def tool_call_body(era: str) -> bytes:
    """The JSON-RPC body of ``tools/call add(1, 2)`` as the SDK client sends it in ``era``."""
    params: dict[str, Any] = {"name": "add", "arguments": {"a": 1, "b": 2}}
    if era == "modern":
        params["_meta"] = {
            "io.modelcontextprotocol/protocolVersion": MODERN_VERSION,
            "io.modelcontextprotocol/clientInfo": {"name": "mcp-bench", "version": "1.0"},
            "io.modelcontextprotocol/clientCapabilities": {},
        }
    message = {"jsonrpc": "2.0", "id": 1, "method": "tools/call", "params": params}
    return json.dumps(message, separators=(",", ":")).encode()


def tool_call_headers(era: str, token: str | None) -> dict[str, str]:
    headers = {
        "Content-Type": "application/json",
        "Accept": "application/json, text/event-stream",
        "MCP-Protocol-Version": MODERN_VERSION if era == "modern" else LEGACY_VERSION,
    }
    if era == "modern":
        headers["Mcp-Method"] = "tools/call"
        headers["Mcp-Name"] = "add"
    if token is not None:
        headers["Authorization"] = f"Bearer {token}"
    return headers


class JoseVerifier:
    """A minimal SDK ``TokenVerifier``: joserfc decode plus claim checks, nothing cached.

    What an SDK user writes (the SDK ships no JWT verifier); :meth:`raw_verify` is the
    "raw joserfc verify" of the micro-benchmarks.
    """

    def __init__(self, jwks: dict[str, Any]) -> None:
        from joserfc import jwt
        from joserfc.jwk import KeySet

        self._jwt = jwt
        self.keys = KeySet.import_key_set(jwks)
        self.claims = jwt.JWTClaimsRegistry(
            iss={"essential": True, "value": ISSUER},
            aud={"essential": True, "value": RESOURCE_URL},
            exp={"essential": True},
        )

    def raw_verify(self, token: str) -> dict[str, Any]:
        decoded = self._jwt.decode(token, self.keys, algorithms=["RS256"])
        self.claims.validate(decoded.claims)
        return decoded.claims  # type: ignore[no-any-return]

    def verify_sync(self, token: str) -> Any:
        from joserfc.errors import JoseError
        from mcp.server.auth.provider import AccessToken

        try:
            claims = self.raw_verify(token)
        except (JoseError, ValueError):
            return None
        return AccessToken(
            token=token,
            client_id=claims["client_id"],
            scopes=str(claims.get("scope", "")).split(),
            expires_at=int(claims["exp"]),
            resource=claims["aud"],
            subject=claims.get("sub"),
            claims=dict(claims),
        )

    async def verify_token(self, token: str) -> Any:
        return self.verify_sync(token)
