"""Our FastAPI router (``create_mcp_router``) with ``JWTVerifier(keys=<static JWKS>)``."""

from __future__ import annotations

from fastapi import FastAPI

from benchmarks.common import ISSUER, RESOURCE_URL, SCOPE, build_server, env_jwks
from mcp_tools.server.verifiers.jwt import JWTVerifier
from mcp_tools_fastapi import create_mcp_router


def create_app() -> FastAPI:
    app = FastAPI()
    app.include_router(
        create_mcp_router(
            build_server(),
            verifier=JWTVerifier(issuer=ISSUER, audience=RESOURCE_URL, keys=env_jwks()),
            resource_url=RESOURCE_URL,
            authorization_servers=[ISSUER],
            scopes=[SCOPE],
        )
    )
    return app


app = create_app()
