"""Django-specific behaviour: CSRF, Host checks, the async view, ASGI routing, the decorators,
settings reload, the TS-named view factories and response conversion."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.core.signals import request_started
from django.test import override_settings
from starlette.testclient import TestClient

from mcp_tools.server.wsgi import BridgeResponse
from mcp_tools_django import hosts, runtime, views
from mcp_tools_django.asgi import get_asgi_application
from mcp_tools_django.conf import DEBUG_RESOURCE_URL
from mcp_tools_django.runtime import get_resource_server
from tests.contract.spec import BASE_SCOPE, ISSUER, ORIGIN, RESOURCE, WRITE_SCOPE, mint, public_jwks
from tests.contract.suite import mcp_headers, parse_challenge, rpc, tool_call_body
from tests.django import urls as test_urls
from tests.django.clients import AsgiContractClient, DjangoWsgiContractClient
from tests.django.conftest import BASE_MCP_TOOLS


@pytest.fixture
def wsgi() -> DjangoWsgiContractClient:
    return DjangoWsgiContractClient()


@pytest.fixture
def asgi() -> Iterator[AsgiContractClient]:
    runtime.reload()  # a fresh endpoint: the WSGI bridge may be running the previous one
    with TestClient(get_asgi_application(), base_url=ORIGIN) as client:
        yield AsgiContractClient(client)


def mcp_tools(**changes: Any) -> dict[str, Any]:
    merged = {**BASE_MCP_TOOLS, **changes}
    return {k: v for k, v in merged.items() if v is not None}


def list_tools(client: Any, path: str = "/mcp", token: str | None = None) -> Any:
    return client.request("POST", path, headers=mcp_headers(token or mint()), body=rpc("tools/list"))


# -- CSRF ------------------------------------------------------------------------------------


def test_only_the_mcp_and_metadata_views_are_csrf_exempt() -> None:
    assert views.mcp_view.csrf_exempt is True
    assert views.mcp_async_view.csrf_exempt is True
    assert views.protected_resource_metadata_view.csrf_exempt is True
    assert views.authorization_server_metadata_view.csrf_exempt is True
    for view in (test_urls.me, test_urls.write, test_urls.async_me, test_urls.explicit):
        assert not getattr(view, "csrf_exempt", False), view


def test_csrf_still_protects_other_views(wsgi: DjangoWsgiContractClient) -> None:
    assert wsgi.request("POST", "/api/plain", body=b"x=1").status == 403
    # ... while a POST to the MCP endpoint without any CSRF token reaches the bearer check
    assert wsgi.request("POST", "/mcp", headers=mcp_headers(), body=rpc("tools/list")).status == 401


def test_post_to_metadata_is_json_405_not_a_csrf_page(wsgi: DjangoWsgiContractClient) -> None:
    result = wsgi.request("POST", "/.well-known/oauth-protected-resource/mcp", body=b"{}")
    assert result.status == 405
    assert result.json()["error"] == "method_not_allowed"


# -- Host protection from ALLOWED_HOSTS ------------------------------------------------------


def test_foreign_host_is_refused_under_wsgi() -> None:
    # Django's CommonMiddleware checks ALLOWED_HOSTS first (400); without it the view does (421).
    assert list_tools(DjangoWsgiContractClient(host="evil.example")).status == 400
    with override_settings(MIDDLEWARE=[]):
        result = list_tools(DjangoWsgiContractClient(host="evil.example"))
        assert result.status == 421
        assert result.json()["error"] == "misdirected_request"


def test_foreign_host_is_421_under_asgi(asgi: AsgiContractClient) -> None:
    headers = {**mcp_headers(mint()), "Host": "evil.example"}
    result = asgi.request("POST", "/mcp", headers=headers, body=rpc("tools/list"))
    assert result.status == 421


def test_allowed_hosts_subdomain_pattern_is_honoured() -> None:
    with override_settings(ALLOWED_HOSTS=[".example.com"], MIDDLEWARE=[]):
        assert list_tools(DjangoWsgiContractClient(host="api.example.com")).status == 200
        assert list_tools(DjangoWsgiContractClient(host="mcp.example.com:8443")).status == 200
        assert list_tools(DjangoWsgiContractClient(host="example.org")).status == 421


def test_mcp_tools_allowed_hosts_overrides_django_setting() -> None:
    with override_settings(MCP_TOOLS=mcp_tools(ALLOWED_HOSTS=["mcp.internal"]), MIDDLEWARE=[]):
        assert list_tools(DjangoWsgiContractClient(host="mcp.internal")).status == 200
        assert list_tools(DjangoWsgiContractClient(host="api.example.com")).status == 421


def test_host_decisions_follow_a_settings_change() -> None:
    # Host decisions are remembered per header value; a change of ALLOWED_HOSTS must void them.
    client = DjangoWsgiContractClient(host="api.example.com")
    with override_settings(ALLOWED_HOSTS=[".example.com"], MIDDLEWARE=[]):
        assert list_tools(client).status == 200
        assert hosts.host_allowed("api.example.com") is True
    with override_settings(ALLOWED_HOSTS=["other.example.org"], MIDDLEWARE=[]):
        assert hosts.host_allowed("api.example.com") is False
        assert list_tools(client).status == 421
    with override_settings(MCP_TOOLS=mcp_tools(ALLOWED_HOSTS=["api.example.com"]), MIDDLEWARE=[]):
        assert list_tools(client).status == 200


def test_remembered_host_decisions_are_bounded() -> None:
    with override_settings(ALLOWED_HOSTS=[".example.com"]):
        for i in range(3 * hosts._MEMO_SIZE):
            assert hosts.host_allowed(f"h{i}.example.org") is False
        assert len(hosts._memo) <= hosts._MEMO_SIZE
        assert hosts.host_allowed("a.example.com") is True
        assert hosts.host_allowed("") is False
        assert hosts.host_allowed(None) is False


# -- the async view and ASGI routing ---------------------------------------------------------


def test_async_mcp_view_is_refused_under_wsgi(wsgi: DjangoWsgiContractClient) -> None:
    with pytest.raises(ImproperlyConfigured, match="cannot work under WSGI"):
        list_tools(wsgi, "/async-mcp")


def test_async_mcp_view_works_under_asgi_with_the_wrapper_lifespan() -> None:
    runtime.reload()
    with TestClient(get_asgi_application(route_mcp=False), base_url=ORIGIN) as raw:
        client = AsgiContractClient(raw)
        result = client.request(
            "POST", "/async-mcp", headers=mcp_headers(mint(sub="carol")), body=tool_call_body("whoami")
        )
        assert result.status == 200, result.body
        assert result.json()["result"]["content"][0]["text"] == "carol"
        refused = client.request("POST", "/async-mcp", headers=mcp_headers(), body=rpc("tools/list"))
        assert refused.status == 401
        # with route_mcp=False the MCP path goes through Django's sync view (thread hop)
        assert list_tools(client).status == 200


def test_asgi_wrapper_serves_mcp_without_django(asgi: AsgiContractClient) -> None:
    seen: list[object] = []

    def record(**kwargs: Any) -> None:
        seen.append(kwargs)

    request_started.connect(record)
    try:
        assert list_tools(asgi).status == 200
        assert seen == []
        # the metadata document too, since the URLconf maps its path to our view
        metadata = asgi.request("GET", "/.well-known/oauth-protected-resource/mcp")
        assert metadata.status == 200
        assert seen == []
        assert asgi.request("GET", "/api/me").status == 401  # any other path: Django
        assert len(seen) == 1
    finally:
        request_started.disconnect(record)


def test_asgi_metadata_matches_the_django_view(
    asgi: AsgiContractClient, wsgi: DjangoWsgiContractClient
) -> None:
    path = "/.well-known/oauth-protected-resource/mcp"
    for method in ("GET", "OPTIONS", "POST"):
        fast, view = asgi.request(method, path), wsgi.request(method, path)
        assert (fast.status, fast.body) == (view.status, view.body), method
        for name in ("content-type", "access-control-allow-origin", "allow", "cache-control"):
            assert fast.headers.get(name) == view.headers.get(name), (method, name)
    assert asgi.request("GET", path).json()["resource"] == RESOURCE
    foreign = asgi.request("GET", path, headers={"Host": "evil.example"})
    assert foreign.status == 421


def _own_metadata(request: Any) -> Any:
    from django.http import JsonResponse

    return JsonResponse({"own": True})


def test_asgi_leaves_a_metadata_view_of_your_own_to_django() -> None:
    from django.urls import path as route

    own = route(".well-known/oauth-protected-resource/mcp", _own_metadata)
    urlconf = type("OwnUrls", (), {"urlpatterns": [own, *test_urls.urlpatterns]})
    runtime.reload()
    with (
        override_settings(ROOT_URLCONF=urlconf),
        TestClient(get_asgi_application(), base_url=ORIGIN) as client,
    ):
        result = client.get("/.well-known/oauth-protected-resource/mcp")
        assert result.status_code == 200
        assert result.json() == {"own": True}
        assert client.post("/mcp", headers=mcp_headers(mint()), content=rpc("tools/list")).status_code == 200


def test_second_asgi_application_cannot_run_the_same_endpoint(asgi: AsgiContractClient) -> None:
    with (
        pytest.raises(RuntimeError, match="already running in another event loop"),
        TestClient(get_asgi_application(), base_url=ORIGIN),
    ):
        pass


def test_asgi_lifespan_runs_user_lifespan_and_stops_endpoint() -> None:
    import contextlib

    events: list[str] = []

    @contextlib.asynccontextmanager
    async def mine() -> Any:
        events.append("start")
        yield
        events.append("stop")

    runtime.reload()
    with TestClient(get_asgi_application(lifespan=mine), base_url=ORIGIN) as raw:
        assert get_resource_server().endpoint.running
        assert list_tools(AsgiContractClient(raw)).status == 200
    assert events == ["start", "stop"]
    assert not get_resource_server().endpoint.running


# -- the decorators --------------------------------------------------------------------------


@pytest.mark.parametrize("path", ["/api/me", "/api/async-me"])
def test_decorator_refuses_without_token(wsgi: DjangoWsgiContractClient, path: str) -> None:
    result = wsgi.request("GET", path)
    assert result.status == 401
    challenge = parse_challenge(result.headers["www-authenticate"])
    assert challenge["resource_metadata"] == f"{ORIGIN}/.well-known/oauth-protected-resource/mcp"
    assert "error" not in challenge


def test_decorator_sets_request_mcp_token(wsgi: DjangoWsgiContractClient) -> None:
    result = wsgi.request("GET", "/api/me", headers={"Authorization": f"Bearer {mint(sub='dora')}"})
    assert result.status == 200
    assert result.json() == {"sub": "dora", "scopes": [BASE_SCOPE]}


def test_decorator_scopes_give_403_with_the_needed_scope(wsgi: DjangoWsgiContractClient) -> None:
    result = wsgi.request("GET", "/api/write", headers={"Authorization": f"Bearer {mint()}"})
    assert result.status == 403
    assert parse_challenge(result.headers["www-authenticate"])["scope"] == WRITE_SCOPE
    ok = wsgi.request("GET", "/api/write", headers={"Authorization": f"Bearer {mint(scope=WRITE_SCOPE)}"})
    assert ok.status == 200


def test_async_decorated_view_under_wsgi_and_asgi(
    wsgi: DjangoWsgiContractClient, asgi: AsgiContractClient
) -> None:
    token = mint(sub="erin", scope="profile")  # scopes=[]: any valid token for this resource
    for client in (wsgi, asgi):
        result = client.request("GET", "/api/async-me", headers={"Authorization": f"Bearer {token}"})
        assert result.status == 200, result.body
        assert result.json() == {"sub": "erin", "async": True}
    wrong_audience = mint(aud="https://other.example.com/mcp")
    result = asgi.request("GET", "/api/async-me", headers={"Authorization": f"Bearer {wrong_audience}"})
    assert result.status == 401


def test_decorator_refuses_token_in_form_body(wsgi: DjangoWsgiContractClient) -> None:
    body = f"access_token={mint()}".encode()
    headers = {"Content-Type": "application/x-www-form-urlencoded"}
    result = wsgi.request("GET", "/api/me", headers=headers, body=body)
    assert result.status == 401
    assert parse_challenge(result.headers["www-authenticate"])["error"] == "invalid_request"


def test_mcp_auth_with_explicit_verifier(wsgi: DjangoWsgiContractClient) -> None:
    assert wsgi.request("GET", "/api/explicit").status == 401
    ok = wsgi.request("GET", "/api/explicit", headers={"Authorization": f"Bearer {mint(sub='finn')}"})
    assert ok.json() == {"sub": "finn"}


# -- settings reload -------------------------------------------------------------------------


def test_override_settings_reloads_scopes_and_issuers(wsgi: DjangoWsgiContractClient) -> None:
    with override_settings(MCP_TOOLS=mcp_tools(SCOPES=["mcp:admin"])):
        result = list_tools(wsgi)
        assert result.status == 403
        assert parse_challenge(result.headers["www-authenticate"])["scope"] == "mcp:admin"
    assert list_tools(wsgi).status == 200
    with override_settings(MCP_TOOLS=mcp_tools(AUTHORIZATION_SERVERS=[ISSUER, "https://other-as.example"])):
        document = wsgi.request("GET", "/.well-known/oauth-protected-resource/mcp").json()
        assert document["authorization_servers"] == [ISSUER, "https://other-as.example"]


def test_override_settings_moves_the_routes(wsgi: DjangoWsgiContractClient) -> None:
    moved = "https://api.example.com/v2/mcp"
    token = mint(aud=moved)
    verifier = {"CLASS": "mcp_tools.server.verifiers.jwt.JWTVerifier", "OPTIONS": {"keys": public_jwks()}}
    with override_settings(MCP_TOOLS=mcp_tools(RESOURCE_URL=moved, VERIFIER=verifier)):
        assert list_tools(wsgi, "/v2/mcp", token).status == 200
        assert list_tools(wsgi, "/mcp", token).status == 404
        document = wsgi.request("GET", "/.well-known/oauth-protected-resource/v2/mcp").json()
        assert document["resource"] == moved
    assert list_tools(wsgi).status == 200
    assert list_tools(wsgi, "/v2/mcp", token).status == 404


def test_override_settings_under_asgi_starts_the_new_endpoint(asgi: AsgiContractClient) -> None:
    assert list_tools(asgi).status == 200
    with override_settings(MCP_TOOLS=mcp_tools(SERVER="tests.django.project:server_factory")):
        headers = mcp_headers(mint(sub="gil"))
        result = asgi.request("POST", "/mcp", headers=headers, body=tool_call_body("whoami"))
        assert result.status == 200, result.body
        assert result.json()["result"]["content"][0]["text"] == "gil"
    assert list_tools(asgi).status == 200


def test_verifier_dict_fills_issuer_and_audience(wsgi: DjangoWsgiContractClient) -> None:
    verifier = {"CLASS": "mcp_tools.server.verifiers.jwt.JWTVerifier", "OPTIONS": {"keys": public_jwks()}}
    with override_settings(MCP_TOOLS=mcp_tools(VERIFIER=verifier)):
        assert list_tools(wsgi).status == 200
        assert list_tools(wsgi, token=mint(iss="https://evil.example")).status == 401
        assert list_tools(wsgi, token=mint(aud="https://api.example.com/other")).status == 401


def test_debug_without_resource_url_uses_the_development_default() -> None:
    with override_settings(DEBUG=True, MCP_TOOLS=mcp_tools(RESOURCE_URL=None)):
        assert get_resource_server().resource_url == DEBUG_RESOURCE_URL
    with override_settings(MCP_TOOLS=mcp_tools(RESOURCE_URL=None)), pytest.raises(ImproperlyConfigured):
        get_resource_server()


# -- TS-named view factories -----------------------------------------------------------------


def test_protected_resource_handler(wsgi: DjangoWsgiContractClient) -> None:
    result = wsgi.request("GET", "/ts/prm")
    assert result.status == 200
    assert result.json()["resource"] == RESOURCE
    assert result.json()["authorization_servers"] == [ISSUER]
    assert result.headers["access-control-allow-origin"] == "*"
    assert wsgi.request("OPTIONS", "/ts/prm").status == 200
    options = wsgi.request("OPTIONS", "/ts/options")
    assert options.status == 200
    assert options.headers["access-control-allow-methods"] == "GET, OPTIONS"


def test_streamable_http_handler_view(wsgi: DjangoWsgiContractClient) -> None:
    resource = "https://api.example.com/ts/mcp"
    refused = wsgi.request("POST", "/ts/mcp", headers=mcp_headers(), body=rpc("tools/list"))
    assert refused.status == 401
    metadata = parse_challenge(refused.headers["www-authenticate"])["resource_metadata"]
    assert metadata == "https://api.example.com/.well-known/oauth-protected-resource/ts/mcp"
    headers = mcp_headers(mint(aud=resource))
    result = wsgi.request("POST", "/ts/mcp", headers=headers, body=tool_call_body("whoami"))
    assert result.status == 200, result.body
    assert result.json()["result"]["content"][0]["text"] == "alice"


# -- response conversion ---------------------------------------------------------------------


def test_streaming_response_close_reaches_the_bridge() -> None:
    closed: list[bool] = []
    bridged = BridgeResponse(
        200,
        [("Content-Type", "text/event-stream"), ("X-A", "1")],
        iter([b"a", b"b"]),
        lambda: closed.append(True),
    )
    native = views.to_django_response(bridged)
    assert native.streaming
    assert native["Content-Type"] == "text/event-stream"
    assert b"".join(native.streaming_content) == b"ab"  # type: ignore[attr-defined]
    native.close()
    assert closed == [True]


def test_core_response_headers_are_copied_without_django_defaults() -> None:
    from mcp_tools.http import Response

    native = views.to_django_response(Response(204, [("Vary", "Origin"), ("Vary", "Accept")]))
    assert native.status_code == 204
    assert not native.has_header("Content-Type")
    assert native["Vary"] == "Origin, Accept"


def test_same_json_from_wsgi_and_asgi() -> None:
    # One process serves either WSGI or ASGI: the WSGI bridge is stopped before the ASGI run.
    body = tool_call_body("echo", {"text": "héllo"})
    wsgi_result = DjangoWsgiContractClient().request("POST", "/mcp", headers=mcp_headers(mint()), body=body)
    runtime.reload()
    with TestClient(get_asgi_application(), base_url=ORIGIN) as raw:
        asgi_result = AsgiContractClient(raw).request("POST", "/mcp", headers=mcp_headers(mint()), body=body)
    assert wsgi_result.status == asgi_result.status == 200
    assert wsgi_result.json() == asgi_result.json()
    assert wsgi_result.json()["result"]["content"][0]["text"] == "héllo"
    assert wsgi_result.headers["content-type"] == asgi_result.headers["content-type"]


@pytest.mark.parametrize("kind", ["wsgi", "asgi"])
def test_body_limit_is_the_endpoints_not_djangos(kind: str) -> None:
    # 3 MB is above Django's DATA_UPLOAD_MAX_MEMORY_SIZE (2.5 MB) but within the endpoint's 4 MiB
    big = tool_call_body("echo", {"text": "x" * 3_000_000})
    too_big = tool_call_body("echo", {"text": "x" * (4 * 1024 * 1024)})
    runtime.reload()
    if kind == "wsgi":
        client: Any = DjangoWsgiContractClient()
        ok = client.request("POST", "/mcp", headers=mcp_headers(mint()), body=big)
        refused = client.request("POST", "/mcp", headers=mcp_headers(mint()), body=too_big)
    else:
        with TestClient(get_asgi_application(), base_url=ORIGIN) as raw:
            client = AsgiContractClient(raw)
            ok = client.request("POST", "/mcp", headers=mcp_headers(mint()), body=big)
            refused = client.request("POST", "/mcp", headers=mcp_headers(mint()), body=too_big)
    assert ok.status == 200, ok.body[:200]
    assert len(ok.json()["result"]["content"][0]["text"]) == 3_000_000
    assert refused.status == 413


def test_wsgi_wrapper_serves_the_mcp_path_without_django() -> None:
    from django.core.signals import request_started

    from mcp_tools_django import runtime
    from mcp_tools_django.wsgi import get_wsgi_application
    from tests.contract.spec import mint
    from tests.contract.suite import mcp_headers, rpc
    from tests.django.clients import WsgiAppContractClient

    runtime.reload()  # a fresh endpoint, not one another module's ASGI client may still run
    started: list[object] = []

    def record(**kwargs: object) -> None:
        started.append(kwargs.get("environ", {}).get("PATH_INFO"))  # type: ignore[union-attr]

    request_started.connect(record)
    try:
        for route_mcp, expected in ((True, []), (False, ["/mcp"])):
            started.clear()
            client = WsgiAppContractClient(get_wsgi_application(route_mcp=route_mcp))
            result = client.request("POST", "/mcp", headers=mcp_headers(mint()), body=rpc("tools/list"))
            assert result.status == 200
            assert "tools" in result.json()["result"]
            assert started == expected
        started.clear()
        outside = WsgiAppContractClient(get_wsgi_application(), host="evil.example.com")
        refused = outside.request("POST", "/mcp", headers=mcp_headers(mint()), body=rpc("tools/list"))
        assert refused.status == 421  # ALLOWED_HOSTS still applies, before any token work
        assert started == []
    finally:
        request_started.disconnect(record)
