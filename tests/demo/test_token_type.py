"""Issue 22, item 10b: where the issuer is known to set ``typ: at+jwt`` (RFC 9068), it is required.

The demo's embedded authorization server (``mcp_tools.devserver``) issues RFC 9068 tokens, so
the demo's three MCP servers verify them with ``JWTVerifier(typ="at+jwt")``: a token signed
with the very same key but without that header (an ID token or any other JWT of the issuer)
is refused. Everything runs on 127.0.0.1.
"""

from __future__ import annotations

import time
from typing import Any

import requests
from joserfc import jwt

from mcp_tools_demo import DemoOptions
from mcp_tools_demo.runner import Demo
from mcp_tools_demo.tools import READ_SCOPE
from tests.contract.suite import mcp_headers, rpc


def _token(demo: Demo, resource: str, header: dict[str, Any]) -> str:
    key = demo._auth.app.key  # the embedded authorization server's signing key
    now = int(time.time())
    claims = {
        "iss": demo.issuer,
        "sub": "demo-user",
        "aud": resource,
        "client_id": "some-client",
        "scope": READ_SCOPE,
        "iat": now,
        "exp": now + 300,
        "jti": f"jti-{now}",
    }
    return jwt.encode({"alg": "RS256", "kid": key.kid, **header}, claims, key.private_keyset)


def test_demo_servers_require_at_jwt_from_the_embedded_authorization_server() -> None:
    with Demo(DemoOptions(auto_approve=True), out=lambda _line: None) as demo:
        assert len(demo.servers) == 3
        for framework, url in demo.servers:
            for header, accepted in (({"typ": "at+jwt"}, True), ({}, False), ({"typ": "JWT"}, False)):
                token = _token(demo, url, header)
                response = requests.post(url, headers=mcp_headers(token), data=rpc("tools/list"), timeout=30)
                if accepted:
                    assert response.status_code == 200, (framework, response.status_code, response.text)
                else:
                    assert response.status_code == 401, (framework, header, response.status_code)
                    assert 'error="invalid_token"' in response.headers["WWW-Authenticate"]
