"""Flask-specific behaviour: McpTools configuration, require_auth/current_token, the CLI,
the TS-named views, streaming and closing through Flask, and bridge teardown."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from typing import Any

import anyio
import pytest
from flask import Flask, jsonify
from mcp.server import MCPServer
from mcp.server.mcpserver import Context

from mcp_tools.server.metadata import generate_authorization_server_metadata
from mcp_tools.server.resource import ConfigurationError
from mcp_tools.server.scopes import ToolScopes
from mcp_tools.server.verifiers.jwt import JWTVerifier
from mcp_tools_flask import (
    McpBlueprint,
    McpTools,
    create_mcp_blueprint,
    current_token,
    get_current_token,
    mcp_auth,
    metadata_cors_options_handler,
    protected_resource_handler,
    protected_resource_handler_clerk,
    streamable_http_handler,
)
from tests.contract.spec import ISSUER, ORIGIN, RESOURCE, make_server, make_verifier, mint
from tests.contract.suite import mcp_headers, parse_challenge, rpc, tool_call_body

BRIDGE_THREAD = "mcp-tools-wsgi-bridge"
CLERK_KEY = "pk_test_ZXhhbXBsZS5jbGVyay5hY2NvdW50cy5kZXYk"
PRM_URL = f"{ORIGIN}/.well-known/oauth-protected-resource/mcp"

# A module-level server object for the "module:attribute" configuration test.
CONFIGURED_SERVER = make_server(ToolScopes())


def configured_app(**config: Any) -> Flask:
    app = Flask(__name__)
    app.config.update(
        MCP_TOOLS_SERVER=make_server(ToolScopes()),
        MCP_TOOLS_VERIFIER=make_verifier(),
        MCP_TOOLS_RESOURCE_URL=RESOURCE,
        MCP_TOOLS_AUTHORIZATION_SERVERS=[ISSUER],
        MCP_TOOLS_SCOPES=["mcp:read"],
    )
    app.config.update(config)
    return app


@pytest.fixture
def extensions() -> Iterator[list[McpTools]]:
    made: list[McpTools] = []
    yield made
    for extension in made:
        extension.shutdown()


def post(app: Flask, token: str | None, body: bytes, path: str = "/mcp", **headers: str) -> Any:
    return app.test_client().post(path, base_url=ORIGIN, headers=mcp_headers(token, **headers), data=body)


# -- configuration ------------------------------------------------------------------------------


def test_config_precedence_arguments_over_app_config_over_defaults(extensions: list[McpTools]) -> None:
    app = configured_app(MCP_TOOLS_SCOPES=["from-config"], MCP_TOOLS_RESOURCE_NAME="Configured")
    extension = McpTools(app, scopes=["mcp:read"])
    extensions.append(extension)
    state = app.extensions["mcp_tools"]
    assert state is extension.state(app)
    assert isinstance(state.blueprint, McpBlueprint)
    assert app.blueprints["mcp_tools"] is state.blueprint
    assert state.options.scopes == ["mcp:read"]  # argument beats app.config
    assert state.options.resource_name == "Configured"  # app.config beats the default
    assert state.options.transport.stateless is True  # defaults
    assert state.options.transport.json_response is True
    assert state.resource_server.document["resource_name"] == "Configured"
    assert post(app, mint(), rpc("tools/list")).status_code == 200


def test_init_app_factory_pattern_and_import_strings(extensions: list[McpTools]) -> None:
    extension = McpTools(server=f"{__name__}:CONFIGURED_SERVER")
    extensions.append(extension)
    app = configured_app(MCP_TOOLS_SERVER=None, MCP_TOOLS_SCOPES="mcp:read", MCP_TOOLS_MCP_PATH="/mcp")
    extension.init_app(app)
    assert extension.state(app).options.server is CONFIGURED_SERVER
    assert extension.state(app).options.scopes == ["mcp:read"]
    response = post(app, mint(sub="carol"), tool_call_body("whoami"))
    assert response.status_code == 200, response.data
    assert response.get_json()["result"]["content"][0]["text"] == "carol"
    with pytest.raises(RuntimeError, match="already initialised"):
        extension.init_app(app)


def test_jwks_uri_builds_a_jwt_verifier(extensions: list[McpTools]) -> None:
    app = configured_app(MCP_TOOLS_VERIFIER=None, MCP_TOOLS_JWKS_URI="https://auth.example.com/jwks.json")
    extension = McpTools(app)
    extensions.append(extension)
    assert isinstance(extension.state(app).guard.verifier, JWTVerifier)


def test_missing_or_unknown_settings_fail_at_start_up() -> None:
    with pytest.raises(ConfigurationError, match="MCP_TOOLS_RESOURCE_URL"):
        McpTools(_without("MCP_TOOLS_RESOURCE_URL"))
    with pytest.raises(ConfigurationError, match="MCP_TOOLS_JWKS_URI"):
        McpTools(configured_app(MCP_TOOLS_VERIFIER=None))
    with pytest.raises(TypeError, match="resource_ur"):
        McpTools(resource_ur="https://typo.example.com/mcp")
    with pytest.raises(RuntimeError, match="init_app"):
        McpTools().state(Flask(__name__))


def _without(key: str) -> Flask:
    app = configured_app()
    del app.config[key]
    return app


def test_blueprint_refuses_a_url_prefix() -> None:
    blueprint = create_mcp_blueprint(
        make_server(ToolScopes()),
        verifier=make_verifier(),
        resource_url=RESOURCE,
        authorization_servers=[ISSUER],
    )
    with pytest.raises(ValueError, match="url_prefix"):
        Flask(__name__).register_blueprint(blueprint, url_prefix="/api")


def test_two_endpoints_in_one_app(extensions: list[McpTools]) -> None:
    other = f"{ORIGIN}/tenant/b/mcp"
    app = configured_app()
    extension = McpTools(app)
    extensions.append(extension)
    second = create_mcp_blueprint(
        make_server(ToolScopes()),
        verifier=JWTVerifier(issuer=ISSUER, audience=other, keys=make_verifier_keys()),
        resource_url=other,
        authorization_servers=[ISSUER],
        name="tenant_b",
    )
    app.register_blueprint(second)
    try:
        assert post(app, mint(), rpc("tools/list")).status_code == 200
        assert post(app, mint(aud=other), rpc("tools/list"), path="/tenant/b/mcp").status_code == 200
        # a token for one endpoint does not open the other
        assert post(app, mint(), rpc("tools/list"), path="/tenant/b/mcp").status_code == 401
        prm = app.test_client().get("/.well-known/oauth-protected-resource/tenant/b/mcp", base_url=ORIGIN)
        assert prm.get_json()["resource"] == other
    finally:
        second.shutdown()


def make_verifier_keys() -> Any:
    from tests.contract.spec import public_jwks

    return public_jwks()


# -- require_auth and current_token --------------------------------------------------------------


def protected_app(extensions: list[McpTools]) -> Flask:
    extension = McpTools()  # decorators are applied before init_app (factory pattern)
    extensions.append(extension)
    app = configured_app()

    @app.get("/me")
    @extension.require_auth
    def me() -> Any:
        token = get_current_token()
        assert token is current_token._get_current_object()  # type: ignore[attr-defined]
        return jsonify(sub=current_token.subject, scopes=current_token.scopes)

    @app.post("/notes")
    @extension.require_auth(scopes=["notes:write"])
    def write() -> Any:
        return jsonify(ok=True, sub=current_token.subject)

    @app.get("/async")
    @extension.require_auth(scopes=["mcp:read"])
    async def async_view() -> Any:
        return jsonify(sub=current_token.subject)

    @app.get("/open")
    def open_view() -> Any:
        return jsonify(token=get_current_token() is not None, truthy=bool(current_token))

    extension.init_app(app)
    return app


def test_require_auth_accepts_a_valid_token_and_exposes_current_token(extensions: list[McpTools]) -> None:
    client = protected_app(extensions).test_client()
    response = client.get("/me", headers={"Authorization": f"Bearer {mint(sub='dora')}"})
    assert response.status_code == 200
    assert response.get_json() == {"sub": "dora", "scopes": ["mcp:read"]}
    response = client.get("/async", headers={"Authorization": f"Bearer {mint(sub='erin')}"})
    assert response.get_json() == {"sub": "erin"}
    assert client.get("/open").get_json() == {"token": False, "truthy": False}


def test_require_auth_refusals_carry_the_endpoint_challenge(extensions: list[McpTools]) -> None:
    client = protected_app(extensions).test_client()
    missing = client.get("/me")
    assert missing.status_code == 401
    assert parse_challenge(missing.headers["WWW-Authenticate"]) == {
        "scope": "mcp:read",
        "resource_metadata": PRM_URL,
    }
    wrong_audience = client.get(
        "/me", headers={"Authorization": f"Bearer {mint(aud='https://x.example/mcp')}"}
    )
    assert wrong_audience.status_code == 401
    assert parse_challenge(wrong_audience.headers["WWW-Authenticate"])["error"] == "invalid_token"
    step_up = client.post("/notes", headers={"Authorization": f"Bearer {mint()}"})
    assert step_up.status_code == 403
    challenge = parse_challenge(step_up.headers["WWW-Authenticate"])
    assert challenge["error"] == "insufficient_scope"
    assert challenge["scope"] == "notes:write"
    granted = client.post("/notes", headers={"Authorization": f"Bearer {mint(scope='notes:write')}"})
    assert granted.get_json() == {"ok": True, "sub": "alice"}
    in_form = client.post(
        "/notes",
        headers={"Authorization": f"Bearer {mint(scope='notes:write')}"},
        data={"access_token": mint(scope="notes:write")},
    )
    assert in_form.status_code == 401
    assert in_form.get_json()["error"] == "invalid_request"


def test_current_token_outside_a_protected_view_raises() -> None:
    with Flask(__name__).test_request_context("/"), pytest.raises(RuntimeError, match="not protected"):
        _ = current_token.subject


def test_mcp_auth_decorator_without_the_extension() -> None:
    app = Flask(__name__)

    @app.get("/whoami")
    @mcp_auth(make_verifier(), resource_url=RESOURCE, scopes=["mcp:read"])
    def whoami() -> Any:
        return jsonify(sub=current_token.subject)

    client = app.test_client()
    assert client.get("/whoami", headers={"Authorization": f"Bearer {mint(sub='finn')}"}).get_json() == {
        "sub": "finn"
    }
    refused = client.get("/whoami", headers={"Authorization": f"Bearer {mint(scope='other')}"})
    assert refused.status_code == 403


# -- CLI --------------------------------------------------------------------------------------------


def test_cli_prints_every_discovery_document(extensions: list[McpTools]) -> None:
    metadata = generate_authorization_server_metadata(ISSUER, scopes=["mcp:read"])
    app = configured_app(MCP_TOOLS_AUTHORIZATION_SERVER_METADATA=metadata)
    extensions.append(McpTools(app))
    result = app.test_cli_runner().invoke(args=["mcp-tools", "discovery"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.output) == {
        PRM_URL: {
            "resource": RESOURCE,
            "authorization_servers": [ISSUER],
            "scopes_supported": ["mcp:read"],
            "bearer_methods_supported": ["header"],
        },
        f"{ORIGIN}/.well-known/oauth-authorization-server": metadata,
    }
    # The CLI prints exactly what the routes serve.
    served = app.test_client().get("/.well-known/oauth-protected-resource/mcp", base_url=ORIGIN)
    assert served.get_json() == json.loads(result.output)[PRM_URL]


def test_cli_without_an_endpoint_fails_clearly() -> None:
    app = Flask(__name__)
    create_mcp_blueprint(  # created but never registered: the command is not even there
        make_server(ToolScopes()),
        verifier=make_verifier(),
        resource_url=RESOURCE,
        authorization_servers=[ISSUER],
    )
    result = app.test_cli_runner().invoke(args=["mcp-tools", "discovery"])
    assert result.exit_code != 0


# -- TS-named building blocks -------------------------------------------------------------------------


def test_ts_named_views_wire_by_hand() -> None:
    app = Flask(__name__)
    view = streamable_http_handler(
        make_server(ToolScopes()),
        verifier=make_verifier(),
        resource_url=RESOURCE,
        authorization_servers=[ISSUER],
        scopes=["mcp:read"],
    )
    app.add_url_rule("/mcp", view_func=view)
    app.add_url_rule(
        "/.well-known/oauth-protected-resource/mcp",
        view_func=protected_resource_handler(ISSUER, {"resource_name": "Hand"}, resource_url=RESOURCE),
        methods=["GET"],
    )
    app.add_url_rule(
        "/.well-known/oauth-protected-resource/mcp",
        view_func=metadata_cors_options_handler(),
    )
    app.add_url_rule(  # GET, HEAD and OPTIONS by default
        "/.well-known/clerk/mcp",
        view_func=protected_resource_handler_clerk(publishable_key=CLERK_KEY, resource_url=RESOURCE),
    )
    try:
        client = app.test_client()
        assert post(app, mint(), rpc("tools/list")).status_code == 200
        assert post(app, None, rpc("tools/list")).status_code == 401
        document = client.get("/.well-known/oauth-protected-resource/mcp", base_url=ORIGIN).get_json()
        assert document["resource"] == RESOURCE
        assert document["authorization_servers"] == [ISSUER]
        assert document["resource_name"] == "Hand"
        options = client.options("/.well-known/oauth-protected-resource/mcp", base_url=ORIGIN)
        assert options.status_code == 200
        assert options.headers["Access-Control-Allow-Origin"] == "*"
        assert client.options("/.well-known/clerk/mcp").headers["Access-Control-Allow-Origin"] == "*"
        clerk = client.get("/.well-known/clerk/mcp", base_url=ORIGIN).get_json()
        assert clerk["authorization_servers"] == ["https://example.clerk.accounts.dev"]
    finally:
        view.shutdown()
    with pytest.raises(ConfigurationError):
        protected_resource_handler(ISSUER)  # no resource URL and no trust_proxy


# -- the MCP view through Flask ----------------------------------------------------------------------


def test_oversized_body_is_413_without_reading_it(extensions: list[McpTools]) -> None:
    app = configured_app(MCP_TOOLS_MAX_REQUEST_BODY_SIZE=1024)
    extension = McpTools(app)
    extensions.append(extension)
    response = post(app, mint(), b"{" + b" " * 4096 + b"}")
    assert response.status_code == 413
    assert response.get_json()["error"] == "payload_too_large"
    assert not extension.state(app).blueprint.view.wsgi_endpoint.bridge.running  # never reached the SDK


STARTED = threading.Event()
CANCELLED = threading.Event()


def streaming_server() -> MCPServer[Any]:
    mcp: MCPServer[Any] = MCPServer("streaming", version="1.0")

    @mcp.tool()
    async def long_job(ctx: Context) -> str:
        """Report progress, then work for a long time unless cancelled."""
        STARTED.set()
        try:
            await ctx.report_progress(1, 2, "started")
            await anyio.sleep(30)
        finally:
            CANCELLED.set()
        return "finished"

    return mcp


def test_sse_body_streams_through_flask_and_close_reaches_the_sdk(extensions: list[McpTools]) -> None:
    STARTED.clear()
    CANCELLED.clear()
    app = configured_app(MCP_TOOLS_SERVER=streaming_server(), MCP_TOOLS_JSON_RESPONSE=False)
    extension = McpTools(app)
    extensions.append(extension)
    begun = time.monotonic()
    response = app.test_client().post(
        "/mcp",
        base_url=ORIGIN,
        headers=mcp_headers(mint()),
        data=rpc("tools/call", {"name": "long_job", "arguments": {}, "_meta": {"progressToken": 7}}),
        buffered=False,
    )
    assert response.status_code == 200
    assert response.headers["Content-Type"].startswith("text/event-stream")
    assert "Connection" not in response.headers  # hop-by-hop headers never reach the WSGI server
    first = b""
    for chunk in response.response:
        first += chunk
        if b"started" in first:
            break
    assert b"notifications/progress" in first
    assert time.monotonic() - begun < 10  # the progress event came while the tool still runs
    assert not CANCELLED.is_set()
    response.close()  # what a WSGI server does when the client goes away
    assert CANCELLED.wait(5), "closing the Flask response did not cancel the tool"


def test_shutdown_stops_the_bridge_thread_and_later_requests_get_503(extensions: list[McpTools]) -> None:
    app = configured_app()
    extension = McpTools(app)
    assert post(app, mint(), rpc("tools/list")).status_code == 200
    assert any(t.name.startswith(BRIDGE_THREAD) for t in threading.enumerate())
    extension.shutdown()
    assert not extension.state(app).blueprint.view.wsgi_endpoint.bridge.running
    assert post(app, mint(), rpc("tools/list")).status_code == 503


# -- where the MCP path is routed ------------------------------------------------------------------


@pytest.mark.parametrize("dispatch", [True, False])
def test_mcp_path_is_routed_ahead_of_flask_unless_disabled(
    extensions: list[McpTools], dispatch: bool
) -> None:
    app = configured_app(MCP_TOOLS_WSGI_DISPATCH=dispatch)
    extension = McpTools(app)
    extensions.append(extension)
    seen: list[str] = []

    @app.before_request
    def record() -> None:
        from flask import request

        seen.append(request.path)

    answer = post(app, mint(), rpc("tools/list"))
    assert answer.status_code == 200
    assert "tools" in json.loads(answer.data)["result"]
    refused = post(app, None, rpc("tools/list"))
    assert refused.status_code == 401
    assert refused.headers["WWW-Authenticate"].startswith("Bearer ")
    metadata = app.test_client().get("/.well-known/oauth-protected-resource/mcp", base_url=ORIGIN)
    assert metadata.status_code == 200
    # With dispatch on, Flask never builds a request for the MCP path; metadata stays a view.
    expected = ["/.well-known/oauth-protected-resource/mcp"]
    assert seen == (expected if dispatch else ["/mcp", "/mcp", *expected])


def test_wsgi_middleware_installed_after_registration_still_runs_first(extensions: list[McpTools]) -> None:
    app = configured_app()
    extensions.append(McpTools(app))
    calls: list[str] = []
    inner = app.wsgi_app

    def outer(environ: dict[str, Any], start_response: Any) -> Any:
        calls.append(environ["PATH_INFO"])
        return inner(environ, start_response)

    app.wsgi_app = outer  # type: ignore[method-assign]  # e.g. ProxyFix(app.wsgi_app)
    assert post(app, mint(), rpc("tools/list")).status_code == 200
    assert calls == ["/mcp"]
