"""Issue 22, item 10b: where the issuer is known to set ``typ: at+jwt`` (RFC 9068), it is required.

The demo's embedded authorization server (``mcp_tools.devserver``) issues RFC 9068 tokens, so
the demo's three MCP servers verify them with ``JWTVerifier(typ="at+jwt")``: a token signed
with the very same key but without that header (an ID token or any other JWT of the issuer)
is refused. The demo runs in a child process (it configures its own Django project); every
server listens on 127.0.0.1.
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap

CHILD = textwrap.dedent(
    """
    import json, time
    import requests
    from joserfc import jwt
    from mcp_tools_demo import DemoOptions
    from mcp_tools_demo.runner import Demo
    from mcp_tools_demo.tools import READ_SCOPE

    def token(demo, resource, header):
        key = demo._auth.app.key  # the embedded authorization server's signing key
        now = int(time.time())
        claims = {"iss": demo.issuer, "sub": "demo-user", "aud": resource, "client_id": "some-client",
                  "scope": READ_SCOPE, "iat": now, "exp": now + 300, "jti": f"jti-{now}"}
        return jwt.encode({"alg": "RS256", "kid": key.kid, **header}, claims, key.private_keyset)

    with Demo(DemoOptions(auto_approve=True), out=lambda _line: None) as demo:
        for framework, url in demo.servers:
            for header in ({"typ": "at+jwt"}, {}, {"typ": "JWT"}):
                headers = {
                    "Content-Type": "application/json",
                    "Accept": "application/json, text/event-stream",
                    "MCP-Protocol-Version": "2025-11-25",
                    "Authorization": "Bearer " + token(demo, url, header),
                }
                body = {"jsonrpc": "2.0", "id": 1, "method": "tools/list"}
                r = requests.post(url, headers=headers, json=body, timeout=30)
                print("RESULT " + json.dumps([framework, header.get("typ"), r.status_code,
                                              r.headers.get("WWW-Authenticate", "")]), flush=True)
    """
)


def test_demo_servers_require_at_jwt_from_the_embedded_authorization_server() -> None:
    done = subprocess.run([sys.executable, "-c", CHILD], capture_output=True, text=True, timeout=180)
    assert done.returncode == 0, done.stdout + done.stderr
    results = [
        json.loads(line[len("RESULT ") :]) for line in done.stdout.splitlines() if line.startswith("RESULT ")
    ]
    assert {framework for framework, *_ in results} == {"fastapi", "flask", "django"}
    assert len(results) == 9
    for framework, typ, status, challenge in results:
        if typ == "at+jwt":
            assert status == 200, (framework, typ, status)
        else:
            assert status == 401, (framework, typ, status)
            assert 'error="invalid_token"' in challenge
