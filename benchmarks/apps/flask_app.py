"""Our Flask blueprint (``create_mcp_blueprint``), served by a WSGI server (one process)."""

from __future__ import annotations

import os

from flask import Flask

from benchmarks.common import ISSUER, RESOURCE_URL, SCOPE, build_server, env_jwks
from mcp_tools.server.verifiers.jwt import JWTVerifier
from mcp_tools_flask import create_mcp_blueprint


def create_app() -> Flask:
    app = Flask(__name__)
    blueprint = create_mcp_blueprint(
        build_server(),
        verifier=JWTVerifier(issuer=ISSUER, audience=RESOURCE_URL, keys=env_jwks()),
        resource_url=RESOURCE_URL,
        authorization_servers=[ISSUER],
        scopes=[SCOPE],
        # BENCH_FLASK_DISPATCH=0: the MCP path as an ordinary Flask view (the flask-view A/B).
        wsgi_dispatch=os.environ.get("BENCH_FLASK_DISPATCH", "1") != "0",
    )
    # BENCH_WSGI_INLINE=0: every request through the bridge's loop thread (the A/B of run.py).
    blueprint.view.wsgi_endpoint.inline = os.environ.get("BENCH_WSGI_INLINE", "1") != "0"
    app.register_blueprint(blueprint)
    return app


app = create_app()
