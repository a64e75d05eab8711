"""Our Flask blueprint (``create_mcp_blueprint``), served by gunicorn gthread (one process)."""

from __future__ import annotations

from flask import Flask

from benchmarks.common import ISSUER, RESOURCE_URL, SCOPE, build_server, env_jwks
from mcp_tools.server.verifiers.jwt import JWTVerifier
from mcp_tools_flask import create_mcp_blueprint


def create_app() -> Flask:
    app = Flask(__name__)
    app.register_blueprint(
        create_mcp_blueprint(
            build_server(),
            verifier=JWTVerifier(issuer=ISSUER, audience=RESOURCE_URL, keys=env_jwks()),
            resource_url=RESOURCE_URL,
            authorization_servers=[ISSUER],
            scopes=[SCOPE],
        )
    )
    return app


app = create_app()
