"""RFC 8414 metadata, JWKS and RFC 7591 dynamic client registration over HTTP."""

from __future__ import annotations

import pytest
import requests

from mcp_tools.devserver import RunningServer

from .flows import REDIRECT_URI, TIMEOUT


@pytest.mark.parametrize(
    "path", ["/.well-known/oauth-authorization-server", "/.well-known/openid-configuration"]
)
def test_metadata_documents(interactive: RunningServer, path: str) -> None:
    response = requests.get(interactive.url + path, timeout=TIMEOUT)
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "application/json"
    assert response.headers["Access-Control-Allow-Origin"] == "*"
    md = response.json()
    issuer = interactive.url
    assert md["issuer"] == issuer
    assert not issuer.endswith("/")
    assert issuer.startswith("http://127.0.0.1:")
    assert md["authorization_endpoint"] == f"{issuer}/authorize"
    assert md["token_endpoint"] == f"{issuer}/token"
    assert md["registration_endpoint"] == f"{issuer}/register"
    assert md["introspection_endpoint"] == f"{issuer}/introspect"
    assert md["revocation_endpoint"] == f"{issuer}/revoke"
    assert md["jwks_uri"] == f"{issuer}/jwks"
    assert md["code_challenge_methods_supported"] == ["S256"]
    assert md["authorization_response_iss_parameter_supported"] is True
    assert md["grant_types_supported"] == ["authorization_code", "refresh_token"]
    assert md["response_types_supported"] == ["code"]
    assert md["token_endpoint_auth_methods_supported"] == [
        "client_secret_basic",
        "client_secret_post",
        "none",
    ]
    assert md["scopes_supported"] == ["notes:read", "notes:write", "offline_access"]


def test_both_discovery_paths_serve_the_same_document(interactive: RunningServer) -> None:
    a = requests.get(interactive.url + "/.well-known/oauth-authorization-server", timeout=TIMEOUT).json()
    b = requests.get(interactive.url + "/.well-known/openid-configuration", timeout=TIMEOUT).json()
    assert a == b


def test_jwks_publishes_only_the_public_key(interactive: RunningServer) -> None:
    jwks = requests.get(interactive.url + "/jwks", timeout=TIMEOUT).json()
    (key,) = jwks["keys"]
    assert key["kty"] == "RSA"
    assert key["alg"] == "RS256"
    assert key["use"] == "sig"
    assert key["kid"]
    assert not {"d", "p", "q", "dp", "dq", "qi"} & set(key)


def test_cors_preflight_and_wrong_method(interactive: RunningServer) -> None:
    pre = requests.options(interactive.url + "/token", timeout=TIMEOUT)
    assert pre.status_code == 204
    assert "POST" in pre.headers["Access-Control-Allow-Methods"]
    assert requests.get(interactive.url + "/token", timeout=TIMEOUT).status_code == 405
    assert requests.get(interactive.url + "/nope", timeout=TIMEOUT).status_code == 404


def register(server: RunningServer, body: object, **kwargs: object) -> requests.Response:
    return requests.post(server.url + "/register", json=body, timeout=TIMEOUT, **kwargs)  # type: ignore[arg-type]


def test_register_confidential_client(interactive: RunningServer) -> None:
    response = register(interactive, {"redirect_uris": [REDIRECT_URI], "client_name": "Confidential"})
    assert response.status_code == 201
    body = response.json()
    assert body["client_id"]
    assert body["client_secret"]
    assert body["client_secret_expires_at"] == 0
    assert body["token_endpoint_auth_method"] == "client_secret_basic"
    assert body["grant_types"] == ["authorization_code"]
    assert body["response_types"] == ["code"]
    assert body["redirect_uris"] == [REDIRECT_URI]
    assert "registration_access_token" not in body


def test_register_public_client_gets_no_secret(interactive: RunningServer) -> None:
    response = register(
        interactive,
        {
            "redirect_uris": [REDIRECT_URI, "https://app.example.com/cb", "com.example.app:/cb"],
            "token_endpoint_auth_method": "none",
            "grant_types": ["authorization_code", "refresh_token"],
            "application_type": "native",
            "scope": "notes:read",
        },
    )
    assert response.status_code == 201, response.text
    body = response.json()
    assert "client_secret" not in body
    assert "client_secret_expires_at" not in body
    assert body["token_endpoint_auth_method"] == "none"
    assert body["application_type"] == "native"
    assert body["scope"] == "notes:read"


@pytest.mark.parametrize(
    ("body", "error"),
    [
        ({"redirect_uris": [REDIRECT_URI], "client_uri": None}, "invalid_client_metadata"),
        ({"redirect_uris": [REDIRECT_URI], "grant_types": None}, "invalid_client_metadata"),
        ({"redirect_uris": None}, "invalid_client_metadata"),
        ({"client_name": "no redirect"}, "invalid_redirect_uri"),
        ({"redirect_uris": []}, "invalid_redirect_uri"),
        ({"redirect_uris": ["http://evil.example.com/cb"]}, "invalid_redirect_uri"),
        ({"redirect_uris": ["https://app.example.com/cb#frag"]}, "invalid_redirect_uri"),
        ({"redirect_uris": ["javascript:alert(1)"]}, "invalid_redirect_uri"),
        ({"redirect_uris": "http://127.0.0.1/cb"}, "invalid_client_metadata"),
        ({"redirect_uris": [REDIRECT_URI], "scope": "admin"}, "invalid_client_metadata"),
        ({"redirect_uris": [REDIRECT_URI], "grant_types": ["password"]}, "invalid_client_metadata"),
        (
            {"redirect_uris": [REDIRECT_URI], "token_endpoint_auth_method": "private_key_jwt"},
            "invalid_client_metadata",
        ),
        ({"redirect_uris": [REDIRECT_URI], "application_type": "tv"}, "invalid_client_metadata"),
        (["not", "an", "object"], "invalid_client_metadata"),
    ],
)
def test_register_rejects_bad_metadata(interactive: RunningServer, body: object, error: str) -> None:
    response = register(interactive, body)
    assert response.status_code == 400, response.text
    assert response.json()["error"] == error


def test_register_rejects_non_json(interactive: RunningServer) -> None:
    response = requests.post(
        interactive.url + "/register", data={"redirect_uris": REDIRECT_URI}, timeout=TIMEOUT
    )
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_request"
    broken = requests.post(
        interactive.url + "/register",
        data=b"{not json",
        headers={"Content-Type": "application/json"},
        timeout=TIMEOUT,
    )
    assert broken.status_code == 400
    assert broken.json()["error"] == "invalid_client_metadata"


def test_register_client_python_api(interactive: RunningServer) -> None:
    info = interactive.app.register_client(redirect_uris=[REDIRECT_URI], client_name="API")
    assert info["client_id"]
    assert "client_secret" not in info
    secret = interactive.app.register_client(
        redirect_uris=[REDIRECT_URI], token_endpoint_auth_method="client_secret_post"
    )
    assert secret["client_secret"]
    with pytest.raises(ValueError, match="invalid_redirect_uri"):
        interactive.app.register_client(redirect_uris=["http://example.com/cb"])
