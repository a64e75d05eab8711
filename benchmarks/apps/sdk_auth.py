"""The SDK's own auth: ``AuthSettings`` plus a JWT ``TokenVerifier`` written the plain joserfc way.

The SDK ships no JWT verifier; :class:`benchmarks.common.JoseVerifier` is what an SDK user
writes: decode with the static JWKS, validate ``iss``/``aud``/``exp``, nothing cached.
"""

from __future__ import annotations

from typing import Any

from mcp.server.auth.settings import AuthSettings

from benchmarks.common import ISSUER, RESOURCE_URL, SCOPE, JoseVerifier, build_server, env_jwks


def create_app() -> Any:
    server = build_server(
        token_verifier=JoseVerifier(env_jwks()),
        auth=AuthSettings(
            issuer_url=ISSUER,  # type: ignore[arg-type]
            resource_server_url=RESOURCE_URL,  # type: ignore[arg-type]
            required_scopes=[SCOPE],
            validate_token_resource=True,
        ),
    )
    return server.streamable_http_app(stateless_http=True, json_response=True)


app = create_app()
