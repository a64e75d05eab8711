"""FastAPI-specific behaviour: lifespans, several routers, the TS-named building blocks."""

from __future__ import annotations

import contextlib
import json
from collections.abc import AsyncIterator
from typing import Any

import pytest
from fastapi import Depends, FastAPI
from fastapi.testclient import TestClient
from mcp.server.auth.provider import AccessToken

from mcp_tools.server.resource import ConfigurationError
from mcp_tools.server.scopes import ToolScopes
from mcp_tools_fastapi import (
    McpAuthError,
    create_mcp_router,
    mcp_auth,
    mcp_auth_exception_handler,
    metadata_cors_options_handler,
    protected_resource_handler,
    protected_resource_handler_clerk,
    streamable_http_handler,
)
from tests.contract.spec import ISSUER, ORIGIN, RESOURCE, make_server, make_verifier, mint
from tests.contract.suite import mcp_headers, rpc

CLERK_KEY = "pk_test_ZXhhbXBsZS5jbGVyay5hY2NvdW50cy5kZXYk"


def router_for(resource: str = RESOURCE, **kwargs: Any) -> Any:
    return create_mcp_router(
        make_server(ToolScopes()),
        verifier=make_verifier() if resource == RESOURCE else _verifier_for(resource),
        resource_url=resource,
        authorization_servers=[ISSUER],
        scopes=["mcp:read"],
        **kwargs,
    )


def _verifier_for(resource: str) -> Any:
    from mcp_tools.server.verifiers.jwt import JWTVerifier
    from tests.contract.spec import public_jwks

    return JWTVerifier(issuer=ISSUER, audience=resource, keys=public_jwks())


def list_tools(client: TestClient, path: str = "/mcp", aud: str = RESOURCE) -> int:
    response = client.post(path, headers=mcp_headers(mint(aud=aud)), content=rpc("tools/list"))
    return response.status_code


def test_user_lifespan_composes_and_two_clients_in_a_row_work() -> None:
    events: list[str] = []

    @contextlib.asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        events.append("user-start")
        yield
        events.append("user-stop")

    app = FastAPI(lifespan=lifespan)
    app.include_router(router_for())
    for _ in range(2):
        with TestClient(app, base_url=ORIGIN) as client:
            assert list_tools(client) == 200
    assert events == ["user-start", "user-stop", "user-start", "user-stop"]


def test_several_routers_in_one_app() -> None:
    app = FastAPI()
    app.include_router(router_for())
    app.include_router(router_for(f"{ORIGIN}/tenant/b/mcp"))
    with TestClient(app, base_url=ORIGIN) as client:
        assert list_tools(client) == 200
        assert list_tools(client, "/tenant/b/mcp", aud=f"{ORIGIN}/tenant/b/mcp") == 200
        # a token for one endpoint does not open the other
        assert list_tools(client, "/tenant/b/mcp", aud=RESOURCE) == 401
        prm = client.get("/.well-known/oauth-protected-resource/tenant/b/mcp").json()
        assert prm["resource"] == f"{ORIGIN}/tenant/b/mcp"


def test_exact_path_without_redirect() -> None:
    app = FastAPI()
    app.include_router(router_for())
    with TestClient(app, base_url=ORIGIN, follow_redirects=False) as client:
        response = client.post("/mcp", headers=mcp_headers(mint()), content=rpc("tools/list"))
        assert response.status_code == 200
        assert response.history == []


def test_request_without_lifespan_gets_clear_503() -> None:
    app = FastAPI()
    app.include_router(router_for())
    client = TestClient(app, base_url=ORIGIN)  # no "with": the lifespan never runs
    response = client.post("/mcp", headers=mcp_headers(mint()), content=rpc("tools/list"))
    assert response.status_code == 503
    assert "lifespan" in response.json()["error_description"]


def test_root_resource_serves_bare_well_known() -> None:
    app = FastAPI()
    app.include_router(router_for(f"{ORIGIN}/"))
    with TestClient(app, base_url=ORIGIN) as client:
        response = client.get("/.well-known/oauth-protected-resource")
        assert response.status_code == 200
        assert response.json()["resource"] == f"{ORIGIN}/"


def test_stateful_sse_session_is_bound_to_its_principal() -> None:
    app = FastAPI()
    app.include_router(router_for(stateless=False, json_response=False))
    with TestClient(app, base_url=ORIGIN) as client:
        init = rpc(
            "initialize",
            {
                "protocolVersion": "2025-11-25",
                "capabilities": {},
                "clientInfo": {"name": "t", "version": "1"},
            },
        )
        headers = mcp_headers(mint(sub="alice"))
        headers.pop("MCP-Protocol-Version")
        opened = client.post("/mcp", headers=headers, content=init)
        assert opened.status_code == 200
        session = opened.headers["mcp-session-id"]
        alice = mcp_headers(mint(sub="alice"), **{"Mcp-Session-Id": session})
        bob = mcp_headers(mint(sub="bob"), **{"Mcp-Session-Id": session})
        assert (
            client.post(
                "/mcp", headers=alice, content=b'{"jsonrpc": "2.0", "method": "notifications/initialized"}'
            ).status_code
            == 202
        )
        listed = client.post("/mcp", headers=alice, content=rpc("tools/list", ident=2))
        assert listed.status_code == 200
        assert "whoami" in listed.text
        hijack = client.post("/mcp", headers=bob, content=rpc("tools/list", ident=3))
        assert hijack.status_code == 404


def test_protected_resource_handler_is_ts_compatible() -> None:
    app = FastAPI()
    app.add_api_route(
        "/.well-known/oauth-protected-resource/mcp",
        protected_resource_handler("https://auth.example.com", resource_url=RESOURCE),
    )
    app.add_api_route(
        "/.well-known/oauth-protected-resource/mcp",
        metadata_cors_options_handler(),
        methods=["OPTIONS"],
    )
    with TestClient(app, base_url=ORIGIN) as client:
        response = client.get("/.well-known/oauth-protected-resource/mcp?x=1")
        document = response.json()
        assert list(document)[:3] == ["resource", "authorization_servers", "token_types_supported"]
        assert document["resource"] == RESOURCE  # no query leak
        assert document["jwks_uri"] == "https://auth.example.com/.well-known/jwks.json"
        preflight = client.options("/.well-known/oauth-protected-resource/mcp")
        assert preflight.status_code == 200
        assert preflight.headers["access-control-allow-methods"] == "GET, OPTIONS"


def test_protected_resource_handler_refuses_to_trust_host_by_default() -> None:
    with pytest.raises(ConfigurationError, match="not configured"):
        protected_resource_handler("https://auth.example.com")


def test_protected_resource_handler_behind_trusted_proxy() -> None:
    app = FastAPI()
    app.add_api_route("/prm", protected_resource_handler("https://auth.example.com", trust_proxy=True))
    with TestClient(app, base_url="http://internal:8000") as client:
        response = client.get(
            "/prm?leak=1", headers={"X-Forwarded-Proto": "https", "X-Forwarded-Host": "api.example.com"}
        )
        assert response.json()["resource"] == RESOURCE


def test_protected_resource_handler_clerk(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CLERK_PUBLISHABLE_KEY", CLERK_KEY)
    app = FastAPI()
    app.add_api_route("/prm", protected_resource_handler_clerk(resource_url=RESOURCE))
    with TestClient(app, base_url=ORIGIN) as client:
        document = client.get("/prm").json()
    assert document["authorization_servers"] == ["https://example.clerk.accounts.dev"]
    assert list(document)[-1] == "service_documentation"


def test_protected_resource_handler_clerk_needs_a_key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CLERK_PUBLISHABLE_KEY", raising=False)
    with pytest.raises(ConfigurationError, match="CLERK_PUBLISHABLE_KEY"):
        protected_resource_handler_clerk()


def test_mcp_auth_dependency_protects_ordinary_routes() -> None:
    app = FastAPI()
    app.add_exception_handler(McpAuthError, mcp_auth_exception_handler)
    guard = mcp_auth(make_verifier(), resource_url=RESOURCE, scopes=["mcp:read"])

    @app.get("/me")
    async def me(token: AccessToken = Depends(guard)) -> dict[str, Any]:  # noqa: B008
        return {"sub": token.subject, "scopes": token.scopes}

    with TestClient(app, base_url=ORIGIN) as client:
        ok = client.get("/me", headers={"Authorization": f"Bearer {mint(sub='carol')}"})
        assert ok.json() == {"sub": "carol", "scopes": ["mcp:read"]}
        missing = client.get("/me")
        assert missing.status_code == 401
        assert "resource_metadata=" in missing.headers["www-authenticate"]
        assert json.loads(missing.content)["error"]
        weak = client.get("/me", headers={"Authorization": f"Bearer {mint(scope='other')}"})
        assert weak.status_code == 403


def test_streamable_http_handler_hand_wired() -> None:
    handler = streamable_http_handler(
        make_server(ToolScopes()),
        verifier=make_verifier(),
        resource_url=RESOURCE,
        authorization_servers=[ISSUER],
    )

    @contextlib.asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        async with handler.run():
            yield

    app = FastAPI(lifespan=lifespan)
    app.add_route("/mcp", handler, methods=["GET", "POST", "DELETE"])
    with TestClient(app, base_url=ORIGIN) as client:
        assert list_tools(client) == 200
        assert client.post("/mcp", headers=mcp_headers(), content=rpc("tools/list")).status_code == 401


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("POST", "/mcp/"),
        ("GET", "/mcp/"),
        ("GET", "/.well-known/oauth-protected-resource/mcp/"),
    ],
)
def test_trailing_slash_is_never_redirected_to_the_request_host(method: str, path: str) -> None:
    """Issue 22, item 10c: Starlette's ``redirect_slashes`` answered ``POST /mcp/`` with a 307 to
    ``http://<Host header>/mcp``; the router answers the slashed paths itself with a JSON 404."""
    app = FastAPI()
    app.include_router(router_for())
    with TestClient(app, base_url=ORIGIN, follow_redirects=False) as client:
        headers = {**mcp_headers(mint()), "Host": "evil.example"}
        response = client.request(method, path, headers=headers, content=rpc("tools/list"))
        assert response.status_code == 404, (response.status_code, response.headers)
        assert "location" not in response.headers
        assert "evil.example" not in response.text
        assert response.json()["error"] == "not_found"
        # the real path is unaffected
        assert client.post("/mcp", headers=mcp_headers(mint()), content=rpc("tools/list")).status_code == 200
