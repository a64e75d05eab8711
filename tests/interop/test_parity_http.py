"""The TypeScript package's HTTP-level handler vectors (``express.*``, ``hono.*``, ``next.*``).

Every such record of ``ts-vectors.json`` (measured from ``@clerk/mcp-tools`` 0.6.0) is replayed
against our equivalent handler mounted in a FastAPI app (``TestClient``), configured the way a
user would configure it for that route: the ``resource`` is the route's own URL (origin of the
vector's request + the path around the well-known segment, never its query, never a ``Host``
header the app does not serve). Where the TS middleware takes a ``verifyToken`` function, a
fake verifier gives the same answers (``good``/``oat_valid`` accepted, ``bad``/``oat_invalid``
refused, ``throw`` raises); Clerk's own token verification is compared elsewhere
(``tests/core/test_parity_verify_clerk.py``).

For each vector the test computes which *aspects* differ (``status``, ``header:<name>``,
``body``, ``extra-cors``, ``error``) and checks them against :data:`DIFFERENCES`: a vector whose
aspects all match must not be listed there, and a vector that differs must be listed with
exactly the aspects that differ and the reason. ``content-type`` is compared by media type
(Express adds ``; charset=utf-8``).
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import AsyncIterator, Iterator
from typing import Any
from urllib.parse import urlsplit

import pytest
from fastapi import Depends, FastAPI
from fastapi.testclient import TestClient
from mcp.server import MCPServer
from mcp.server.auth.middleware.auth_context import get_access_token
from mcp.server.auth.provider import AccessToken

from mcp_tools._outbound import Flow
from mcp_tools.server.resource import ConfigurationError
from mcp_tools.server.verifiers.base import McpTokenVerifier
from mcp_tools_fastapi import (
    McpAuthError,
    auth_server_metadata_handler_clerk,
    mcp_auth,
    mcp_auth_exception_handler,
    metadata_cors_options_handler,
    protected_resource_handler,
    protected_resource_handler_clerk,
    streamable_http_handler,
)
from tests.core.vectors import fake_http_server, vectors_path
from tests.interop.conftest import Results

CLERK_KEY = "pk_test_ZXhhbXBsZS5jbGVyay5hY2NvdW50cy5kZXYk"  # example.clerk.accounts.dev
WELL_KNOWN = "/.well-known/oauth-protected-resource"
FAMILIES = ("express.", "hono.", "next.")

CHALLENGE = "quoted challenge (RFC 9110 §11.2 auth-param quoted-string; RFC 6750 error code added)"
ERROR_BODY = (
    "error bodies carry RFC 6750 error codes ({error, error_description}) instead of {error: Unauthorized}"
)
MALFORMED = "malformed Authorization headers get 401 with a challenge (the TS package throws: 500 or a crash)"
NO_QUERY = "no query leak: resource and resource_metadata never include the request's query string"
CORS = "CORS headers on every metadata response (the TS express and hono adapters send none)"
ROOT_PATH = "resource is the configured URL; RFC 9728 §3.3 wants it to match the well-known suffix"
STRICT_SCHEME = "only the Bearer scheme with exactly one token is accepted (RFC 6750 §2.1)"
NOT_ONE_SHOT = (
    "the MCP endpoint serves every request (the TS handler answers once, then 500 'Already connected')"
)
JSON_DEFAULT = "the MCP endpoint answers JSON by default; SSE is opt-in (json_response=False)"
PROXY_CORS = "the proxied authorization server metadata also carries CORS and cache headers"
SYNC_DEPENDENCY = "mcp_auth returns the dependency itself (nothing to await), so registering it cannot fail"
NO_MIDDLEWARE = "mcp_auth_clerk needs no separate middleware: the request is verified and answered"

#: vector id -> (aspects that differ, reason). Checked both ways by test_vector.
DIFFERENCES: dict[str, tuple[frozenset[str], str]] = {}


def _diff(vector_id: str, aspects: set[str], *reasons: str) -> None:
    DIFFERENCES[vector_id] = (frozenset(aspects), "; ".join(reasons))


def _load() -> list[tuple[str, dict[str, Any]]]:
    path = vectors_path()
    if not path.exists():
        return []
    records: list[dict[str, Any]] = json.loads(path.read_text(encoding="utf-8"))
    return [(f"{i}:{r['fn']}", r) for i, r in enumerate(records) if r["fn"].startswith(FAMILIES)]


VECTORS = _load()


# -- fakes --------------------------------------------------------------------------------------


class FakeVerifier(McpTokenVerifier):
    """The ``verifyToken`` functions the vectors were recorded with."""

    def __init__(self, client_id: str, scopes: list[str], user_id: str) -> None:
        super().__init__()
        self.client_id, self.scopes, self.user_id = client_id, scopes, user_id
        self.calls: list[str] = []

    def _verify_flow(self, token: str) -> Flow[AccessToken | None]:
        self.calls.append(token)
        if token == "throw":
            raise RuntimeError("verifier exploded")
        if token in ("good", "oat_valid"):
            return AccessToken(
                token=token, client_id=self.client_id, scopes=self.scopes, subject=self.user_id
            )
        return None
        yield  # a generator with no network step


def ts_auth(token: AccessToken) -> dict[str, Any]:
    """An AccessToken in the TS ``AuthInfo`` shape."""
    return {
        "token": token.token,
        "clientId": token.client_id,
        "scopes": token.scopes,
        "extra": {"userId": token.subject},
    }


# -- requests ------------------------------------------------------------------------------------


def request_of(record: dict[str, Any]) -> tuple[str, str, dict[str, str]]:
    """(method, absolute URL, headers) of the vector's request."""
    data = record["input"]
    if record["fn"].startswith("express."):
        return (
            data.get("method", "GET"),
            "http://127.0.0.1:8080" + data["path"],
            dict(data.get("headers", {})),
        )
    if record["fn"].startswith("hono."):
        return data.get("method", "GET"), data["url"], dict(data.get("headers", {}))
    request = data.get("request", {"url": "https://myapp.com/"})
    return request.get("method", "GET"), request["url"], {}


def route_resource(url: str) -> tuple[str, str]:
    """(route path, the resource a user would configure for it) for a request URL."""
    parts = urlsplit(url)
    origin = f"{parts.scheme}://{parts.hostname}" + (f":{parts.port}" if parts.port else "")
    path = parts.path
    if WELL_KNOWN in path:
        before, after = path.split(WELL_KNOWN, 1)
        if after and not after.startswith("/"):  # e.g. /.well-known/oauth-protected-resource-clerk
            after = ""
        return path, origin + before + after
    return path, origin + path


def expected_port(value: Any) -> Any:
    return json.loads(json.dumps(value).replace("127.0.0.1:PORT", "127.0.0.1:8080"))


# -- running one vector --------------------------------------------------------------------------


def run(record: dict[str, Any]) -> Iterator[dict[str, Any]]:
    """Run the vector against our handler; yields the observed output (TS vector shape)."""
    fn = record["fn"]
    kind = fn.split(".", 1)[1]
    if kind in ("protectedResourceHandler", "protectedResourceHandlerClerk"):
        yield from run_metadata(record, clerk=kind.endswith("Clerk"))
    elif kind.startswith("authServerMetadataHandlerClerk"):
        yield from run_clerk_as_metadata(record)
    elif kind == "metadataCorsOptionsRequestHandler":
        app = FastAPI()
        app.add_api_route(
            "/.well-known/oauth-protected-resource", metadata_cors_options_handler(), methods=["OPTIONS"]
        )
        yield observe(TestClient(app).options("https://myapp.com/.well-known/oauth-protected-resource"))
    elif kind == "mcpAuth":
        yield from run_mcp_auth(record)
    elif kind in ("mcpAuth:returnType", "mcpAuth:unawaited-registration"):
        dependency = mcp_auth(FakeVerifier("c1", ["read"], "u1"), resource_url="http://127.0.0.1:8080/mcp")
        app = FastAPI()
        app.add_api_route("/x", lambda: {}, methods=["POST"], dependencies=[Depends(dependency)])
        yield {"returnType": type(dependency).__name__, "registered": True}
    elif kind.startswith("mcpAuthClerk") or kind == "tool.authInfo":
        yield from run_clerk_endpoint(record)
    elif kind == "completeOAuthHandler":
        yield {"covered_by": "tests/security/test_callback.py and tests/core/client/test_callback.py"}
    else:  # pragma: no cover - a new kind of vector
        raise AssertionError(f"no runner for {fn}")


def observe(response: Any) -> dict[str, Any]:
    try:
        body = response.json()
    except ValueError:
        body = response.text or None
    return {
        "status": response.status_code,
        "headers": {k.lower(): v for k, v in response.headers.items()},
        "body": body,
    }


def run_metadata(record: dict[str, Any], *, clerk: bool) -> Iterator[dict[str, Any]]:
    data = record["input"]
    method, url, headers = request_of(record)
    route, resource = route_resource(url)
    expected = record["output"]
    body = expected.get("body", {}) if isinstance(expected, dict) else {}
    properties = dict(data.get("properties") or {})
    if "scopes_supported" in body and "properties" not in data:
        properties["scopes_supported"] = body["scopes_supported"]
    app = FastAPI()
    try:
        if clerk:
            env = data.get("env", {"NEXT_PUBLIC_CLERK_PUBLISHABLE_KEY": CLERK_KEY})
            key = env.get("NEXT_PUBLIC_CLERK_PUBLISHABLE_KEY")
            handler = protected_resource_handler_clerk(
                properties or None, publishable_key=key, resource_url=resource, env_var="MCP_TOOLS_UNSET_KEY"
            )
        else:
            auth_server = data.get("authServerUrl", "https://auth.example.com")
            handler = protected_resource_handler(auth_server, properties or None, resource_url=resource)
    except ConfigurationError as exc:
        yield {"__error__": {"name": "Error", "message": str(exc)}}
        return
    app.add_api_route(route, handler, methods=["GET", "OPTIONS"])
    yield observe(TestClient(app).request(method, url, headers=headers))


def run_clerk_as_metadata(record: dict[str, Any]) -> Iterator[dict[str, Any]]:
    from mcp_tools.server.clerk_metadata import default_metadata_cache

    expected_body = {"issuer": "https://example.clerk.accounts.dev"}
    for _other_id, other in VECTORS:  # the document the recorded FAPI served
        if other["fn"] == record["fn"].split(":")[0] and isinstance(other["output"], dict):
            expected_body = other["output"]["body"]
    with fake_http_server() as fapi, pytest.MonkeyPatch.context() as patch:
        patch.setenv("CLERK_FRONTEND_API_URL", fapi.base_url)
        default_metadata_cache.clear()
        fapi.reply("/.well-known/oauth-authorization-server", 200, json.dumps(expected_body))
        app = FastAPI()
        app.add_api_route(
            "/.well-known/oauth-authorization-server",
            auth_server_metadata_handler_clerk(CLERK_KEY),
            methods=["GET"],
        )
        response = TestClient(app).get("http://127.0.0.1:8080/.well-known/oauth-authorization-server")
        default_metadata_cache.clear()
    if record["fn"].endswith(":fetches"):
        yield {"fetched_paths": fapi.paths}
    else:
        yield observe(response)


def run_mcp_auth(record: dict[str, Any]) -> Iterator[dict[str, Any]]:
    method, url, headers = request_of(record)
    route, resource = route_resource(url)
    hono = record["fn"].startswith("hono.")
    verifier = FakeVerifier("c", [], "u") if hono else FakeVerifier("c1", ["read"], "u1")
    app = FastAPI()
    app.add_exception_handler(McpAuthError, mcp_auth_exception_handler)

    guard = Depends(mcp_auth(verifier, resource_url=resource))

    async def reached(token: AccessToken = guard) -> dict[str, Any]:
        return {"reached": True, "auth": ts_auth(token)}

    app.add_api_route(route, reached, methods=["POST"])
    client = TestClient(app, raise_server_exceptions=False)
    observed = observe(client.request(method, url, headers={"content-type": "application/json", **headers}))
    if "verifyToken_called_with" in record:
        observed["verifyToken_called_with"] = verifier.calls
    yield observed


def run_clerk_endpoint(record: dict[str, Any]) -> Iterator[dict[str, Any]]:
    """mcpAuthClerk + streamableHttpHandler: the protected MCP endpoint with a ``whoami`` tool."""
    seen: list[dict[str, Any]] = []
    server: MCPServer[Any] = MCPServer("parity")

    @server.tool()
    def whoami() -> str:
        token = get_access_token()
        assert token is not None
        auth = ts_auth(token)
        seen.append(
            {
                "token": auth["token"],
                "scopes": auth["scopes"],
                "clientId": auth["clientId"],
                "extra": auth["extra"],
            }
        )
        return json.dumps(seen[-1], separators=(",", ":"))

    verifier = FakeVerifier("client_XYZ", ["profile", "email"], "user_123")
    endpoint = streamable_http_handler(
        server,
        verifier=verifier,
        resource_url="http://127.0.0.1:8080/mcp",
        authorization_servers=["https://example.clerk.accounts.dev"],
        json_response=False,
    )

    @contextlib.asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        async with endpoint.run():
            yield

    app = FastAPI(lifespan=lifespan)
    app.add_route("/mcp", endpoint, methods=["POST", "GET", "DELETE"])
    call = {"jsonrpc": "2.0", "id": 1, "method": "tools/call", "params": {"name": "whoami", "arguments": {}}}
    headers = {"content-type": "application/json", "accept": "application/json, text/event-stream"}
    authorization = (
        record["input"].get("authorization") if isinstance(record["input"], dict) else "Bearer oat_valid"
    )
    if record["fn"].endswith(":crash"):
        authorization = "Bearer"
    if record["fn"] == "express.mcpAuthClerk":
        authorization = record["input"]["headers"]["Authorization"]
    if authorization is not None:
        headers["authorization"] = authorization
    with TestClient(app, raise_server_exceptions=False) as client:
        first = client.post("http://127.0.0.1:8080/mcp", json=call, headers=headers)
        second = client.post("http://127.0.0.1:8080/mcp", json=call, headers=headers)
    if record["fn"] == "express.tool.authInfo":
        yield {"authInfo": seen[:1]}
    elif record["fn"].endswith(":crash") or record["fn"] == "express.mcpAuthClerk":
        yield {"first": first.status_code, "second_request_answered": second.status_code}
    else:
        observed = observe(first)
        observed["body_jsonrpc"] = _sse_result(first.text)
        yield observed


def _sse_result(text: str) -> Any:
    for line in text.splitlines():
        if line.startswith("data:") and line[5:].strip():
            return json.loads(line[5:])
    try:
        return json.loads(text)
    except ValueError:
        return None


# -- comparing -----------------------------------------------------------------------------------


def media(value: str) -> str:
    return value.split(";")[0].strip().lower()


def differing_aspects(record: dict[str, Any], observed: dict[str, Any]) -> set[str]:
    expected = expected_port(record["output"])
    fn = record["fn"]
    aspects: set[str] = set()
    if fn == "next.completeOAuthHandler":
        return {"elsewhere"}
    if isinstance(expected, dict) and "__error__" in expected:
        if "__error__" not in observed:
            aspects.add("error")
        return aspects
    if fn.endswith(":fetches"):
        wanted = [urlsplit(u).path for u in expected]
        return set() if observed["fetched_paths"] == wanted else {"fetches"}
    if fn.endswith((":returnType", ":unawaited-registration")) or fn in ("express.mcpAuthClerk",):
        return {"api"}
    if fn.endswith(":crash"):
        return {"api"} if observed["second_request_answered"] else set()
    if fn == "express.tool.authInfo":
        return set() if observed["authInfo"] == expected else {"body"}
    if not isinstance(expected, dict) or "status" not in expected:
        return {"error"} if "status" in observed else set()
    if "status" not in observed:
        return {"error"}
    if observed["status"] != expected["status"]:
        aspects.add("status")
    for name, value in expected.get("headers", {}).items():
        got = observed["headers"].get(name.lower())
        same = got is not None and (
            media(got) == media(value) if name.lower() == "content-type" else got == value
        )
        if not same:
            aspects.add(f"header:{name.lower()}")
    no_cors_expected = "access-control-allow-origin" not in expected.get("headers", {})
    if (
        fn.startswith(("express.", "hono."))
        and no_cors_expected
        and "access-control-allow-origin" in observed["headers"]
    ):
        aspects.add("extra-cors")
    body = expected.get("body")
    if "body_jsonrpc" in observed:
        wanted = _sse_result(body) if isinstance(body, str) else body
        got = observed["body_jsonrpc"]
        if isinstance(wanted, dict) and isinstance(got, dict) and "result" in wanted and "result" in got:
            wanted, got = wanted["result"]["content"], got["result"]["content"]
        if got != wanted:
            aspects.add("body")
    elif isinstance(body, dict) and isinstance(observed["body"], dict):
        if any(observed["body"].get(k) != v for k, v in body.items()) or (
            "status" in expected and set(observed["body"]) != set(body) and expected["status"] == 200
        ):
            aspects.add("body")
    elif body != observed["body"] and not (body is None and observed["body"] in (None, "")):
        aspects.add("body")
    if (
        "verifyToken_called_with" in record
        and observed.get("verifyToken_called_with") != record["verifyToken_called_with"]
    ):
        aspects.add("verify-call")
    return aspects


# -- the intended differences ----------------------------------------------------------------------


HTTP_RESOURCE = "http resource URLs are refused except on loopback (configuration error at start-up)"
CACHE = "metadata is cached with 'public, max-age=3600' (shared caches allowed; TS sends 'max-age=3600')"
ELSEWHERE = (
    "client-side callback handler: replayed in tests/core/client and tests/security (state binding differs)"
)
PATH_SUFFIX = (
    "resource is the configured URL of the route's MCP endpoint, not the bare origin (RFC 9728 §3.3)"
)
TRAILING = "resource is the canonical URL without a trailing slash"
HOST = "the Host header is not trusted: resource comes from configuration"
BEARER_ONLY = STRICT_SCHEME
BAD_TOKEN = "a refused token gets WWW-Authenticate with error=invalid_token (RFC 6750 §3.1); TS sends none"
OUTAGE = "a verifier that raises answers 503 temporarily_unavailable with Retry-After, not 500"

for vid in ("57:express.protectedResourceHandler", "62:express.protectedResourceHandler"):
    _diff(vid, {"body", "extra-cors"}, TRAILING, CORS)
_diff("59:express.protectedResourceHandler", {"body", "extra-cors"}, NO_QUERY, CORS)
_diff("63:express.protectedResourceHandler", {"body", "extra-cors"}, HOST, CORS)
_diff("64:express.protectedResourceHandlerClerk", {"body", "extra-cors"}, ROOT_PATH, CORS)
for vid in (
    "58:express.protectedResourceHandler",
    "60:express.protectedResourceHandler",
    "61:express.protectedResourceHandler",
    "65:express.protectedResourceHandlerClerk",
):
    _diff(vid, {"extra-cors"}, CORS)
_diff("66:express.authServerMetadataHandlerClerk", {"extra-cors"}, PROXY_CORS)
_diff("55:express.mcpAuth:returnType", {"api"}, SYNC_DEPENDENCY)
_diff("56:express.mcpAuth:unawaited-registration", {"error"}, SYNC_DEPENDENCY)
_diff("67:express.mcpAuth", {"body", "header:www-authenticate"}, CHALLENGE, ERROR_BODY)
_diff("68:express.mcpAuth", {"body", "header:www-authenticate"}, CHALLENGE, NO_QUERY, ERROR_BODY)
_diff("70:express.mcpAuth", {"body"}, ERROR_BODY, BAD_TOKEN)
for vid in ("71:express.mcpAuth", "75:express.mcpAuth"):
    _diff(vid, {"body", "status", "verify-call"}, BEARER_ONLY, ERROR_BODY)
for vid in ("73:express.mcpAuth", "74:express.mcpAuth"):
    _diff(vid, {"body", "status"}, MALFORMED, ERROR_BODY)
_diff("76:express.mcpAuth", {"body", "status"}, OUTAGE)
_diff("77:express.mcpAuthClerk", {"api"}, NO_MIDDLEWARE)
_diff(
    "78:express.mcpAuthClerk+streamableHttpHandler",
    {"body", "header:www-authenticate"},
    CHALLENGE,
    ERROR_BODY,
)
_diff("79:express.mcpAuthClerk+streamableHttpHandler", {"body"}, ERROR_BODY, BAD_TOKEN)
_diff(
    "81:express.mcpAuthClerk+streamableHttpHandler", {"body", "header:content-type", "status"}, NOT_ONE_SHOT
)
_diff("82:express.mcpAuthClerk+streamableHttpHandler", {"error"}, MALFORMED)
_diff("149:express.mcpAuthClerk:crash", {"api"}, MALFORMED)
_diff("86:next.protectedResourceHandler", {"header:cache-control"}, CACHE)
_diff("87:next.protectedResourceHandler", {"body", "header:cache-control"}, PATH_SUFFIX, CACHE)
_diff("88:next.protectedResourceHandler", {"body", "header:cache-control"}, PATH_SUFFIX, NO_QUERY, CACHE)
_diff(
    "89:next.protectedResourceHandler",
    {"body", "header:cache-control"},
    "properties (scopes_supported) are honoured; the TS next handler drops them",
    CACHE,
)
_diff("91:next.protectedResourceHandlerClerk", {"body", "header:cache-control"}, PATH_SUFFIX, CACHE)
_diff("92:next.protectedResourceHandlerClerk", {"header:cache-control"}, CACHE)
_diff("93:next.authServerMetadataHandlerClerk", {"header:cache-control"}, CACHE)
for index in (96, 97, 98, 99, 100):
    _diff(f"{index}:next.completeOAuthHandler", {"elsewhere"}, ELSEWHERE)
for vid in (
    "102:hono.protectedResourceHandler",
    "103:hono.protectedResourceHandler",
    "104:hono.protectedResourceHandler",
    "105:hono.protectedResourceHandlerClerk",
):
    _diff(vid, {"error"}, HTTP_RESOURCE)
for index in (106, 107):
    _diff(f"{index}:hono.mcpAuth", {"body", "header:www-authenticate"}, CHALLENGE, ERROR_BODY)
for index in (108, 109, 110):
    _diff(f"{index}:hono.mcpAuth", {"body", "header:www-authenticate"}, MALFORMED, CHALLENGE, ERROR_BODY)
_diff("111:hono.mcpAuth", {"body", "status"}, BEARER_ONLY, "one space between scheme and token", ERROR_BODY)
_diff("112:hono.mcpAuth", {"body"}, ERROR_BODY, BAD_TOKEN)


@pytest.mark.skipif(not VECTORS, reason="ts-vectors.json not found")
def test_every_http_vector_is_here() -> None:
    assert len(VECTORS) == 58


@pytest.mark.parametrize(("vector_id", "record"), VECTORS, ids=[vid for vid, _ in VECTORS])
def test_vector(vector_id: str, record: dict[str, Any]) -> None:
    (observed,) = list(run(record))
    aspects = differing_aspects(record, observed)
    if not aspects:
        assert vector_id not in DIFFERENCES, (
            f"{vector_id} now matches the TS output: drop it from DIFFERENCES"
        )
        return
    assert vector_id in DIFFERENCES, (
        f"{vector_id} differs in {sorted(aspects)} and is not in DIFFERENCES: {observed}"
    )
    listed, reason = DIFFERENCES[vector_id]
    assert reason
    assert set(aspects) == set(listed), (
        f"{vector_id}: differs in {sorted(aspects)}, DIFFERENCES says {sorted(listed)}"
    )


@pytest.mark.skipif(not VECTORS, reason="ts-vectors.json not found")
def test_summary(results: Results) -> None:
    """Put the parity outcome in the results table (runs after every vector above)."""
    identical = len(VECTORS) - len(DIFFERENCES)
    assert set(DIFFERENCES) <= {vid for vid, _ in VECTORS}
    results.parity = (
        f"{len(VECTORS)} vectors replayed against the FastAPI handlers: {identical} identical, "
        f"{len(DIFFERENCES)} intended differences, each named with its reason in "
        "`tests/interop/test_parity_http.py` (quoted challenge, RFC 6750 error bodies, 401 on malformed "
        "headers, no query or Host leak into `resource`, CORS and cache headers on all metadata, "
        "no one-shot endpoint, http resources only on loopback)"
    )
