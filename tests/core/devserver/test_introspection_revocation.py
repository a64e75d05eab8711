"""RFC 7662 introspection (confidential clients only) and RFC 7009 revocation."""

from __future__ import annotations

from mcp_tools.devserver import RunningServer

from .flows import RESOURCE, OAuthClient, claims_of


def test_introspection_of_access_and_refresh_tokens(auto: RunningServer) -> None:
    client = OAuthClient.register(auto.url)
    tokens = client.tokens()
    rs = OAuthClient.register(auto.url, public=False)
    at = rs.post("/introspect", data={"token": tokens["access_token"]}, auth=rs.auth).json()
    claims = claims_of(tokens["access_token"])
    assert at == {
        "active": True,
        "iss": auto.issuer,
        "sub": "robot",
        "client_id": client.client_id,
        "scope": "notes:read",
        "iat": claims["iat"],
        "exp": claims["exp"],
        "token_type": "Bearer",
        "aud": RESOURCE,
        "jti": claims["jti"],
    }
    rt = rs.post(
        "/introspect",
        data={"token": tokens["refresh_token"], "token_type_hint": "refresh_token"},
        auth=rs.auth,
    ).json()
    assert rt["active"] is True
    assert rt["aud"] == [RESOURCE]
    assert rt["sub"] == "robot"
    unknown = rs.post("/introspect", data={"token": "nope"}, auth=rs.auth).json()
    assert unknown == {"active": False}


def test_introspection_requires_client_authentication(auto: RunningServer) -> None:
    client = OAuthClient.register(auto.url)
    tokens = client.tokens()
    anonymous = client.post("/introspect", data={"token": tokens["access_token"]})
    assert anonymous.status_code == 401
    assert anonymous.json()["error"] == "invalid_client"
    public = client.post("/introspect", data={"token": tokens["access_token"], "client_id": client.client_id})
    assert public.status_code == 401
    rs = OAuthClient.register(auto.url, public=False)
    wrong = client.post("/introspect", data={"token": tokens["access_token"]}, auth=(rs.client_id, "bad"))
    assert wrong.status_code == 401
    post_auth = OAuthClient.register(auto.url, public=False, token_endpoint_auth_method="client_secret_post")
    ok = post_auth.post(
        "/introspect",
        data={
            "token": tokens["access_token"],
            "client_id": post_auth.client_id,
            "client_secret": post_auth.client_secret,
        },
    )
    assert ok.status_code == 200
    assert ok.json()["active"] is True


def test_revoking_an_access_token(auto: RunningServer) -> None:
    client = OAuthClient.register(auto.url)
    tokens = client.tokens()
    rs = OAuthClient.register(auto.url, public=False)
    revoked = client.post("/revoke", data={"token": tokens["access_token"], "client_id": client.client_id})
    assert revoked.status_code == 200
    assert rs.post("/introspect", data={"token": tokens["access_token"]}, auth=rs.auth).json() == {
        "active": False
    }
    # The refresh token of the grant survives an access-token revocation.
    assert client.refresh(tokens["refresh_token"]).status_code == 200


def test_revoking_a_refresh_token_revokes_the_grant(auto: RunningServer) -> None:
    client = OAuthClient.register(auto.url, public=False)
    tokens = client.tokens()
    rs = OAuthClient.register(auto.url, public=False)
    response = client.post(
        "/revoke",
        data={"token": tokens["refresh_token"], "token_type_hint": "refresh_token"},
        auth=client.auth,
    )
    assert response.status_code == 200
    assert client.refresh(tokens["refresh_token"]).json()["error"] == "invalid_grant"
    assert rs.post("/introspect", data={"token": tokens["access_token"]}, auth=rs.auth).json() == {
        "active": False
    }


def test_revocation_rules(auto: RunningServer) -> None:
    client = OAuthClient.register(auto.url)
    other = OAuthClient.register(auto.url)
    tokens = client.tokens()
    unknown = client.post("/revoke", data={"token": "unknown", "client_id": client.client_id})
    assert unknown.status_code == 200
    foreign = other.post("/revoke", data={"token": tokens["refresh_token"], "client_id": other.client_id})
    assert foreign.status_code == 400
    assert client.refresh(tokens["refresh_token"]).status_code == 200
    missing = client.post("/revoke", data={"client_id": client.client_id})
    assert missing.status_code == 400
    assert missing.json()["error"] == "invalid_request"
