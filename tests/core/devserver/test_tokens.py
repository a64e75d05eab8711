"""Token endpoint: PKCE verification, one-time codes, RFC 8707 audience, RFC 9068 JWTs, refresh."""

from __future__ import annotations

import time

from mcp_tools.devserver import RunningServer
from mcp_tools.server.verifiers.jwt import JWTVerifier

from .flows import RESOURCE, OAuthClient, claims_of, header_of, pkce

OTHER = "http://127.0.0.1:8001/mcp"


def introspect(server: RunningServer, token: str) -> dict[str, object]:
    rs = OAuthClient.register(server.url, public=False)
    response = rs.post("/introspect", data={"token": token}, auth=rs.auth)
    assert response.status_code == 200
    return dict(response.json())


def test_access_token_is_an_rfc9068_jwt_for_the_resource(auto: RunningServer) -> None:
    client = OAuthClient.register(auto.url)
    before = int(time.time())
    token = client.tokens(scope="notes:read notes:write")
    assert token["token_type"] == "Bearer"
    assert token["expires_in"] == 300
    assert token["scope"] == "notes:read notes:write"
    assert token["refresh_token"]
    header = header_of(token["access_token"])
    assert header["typ"] == "at+jwt"
    assert header["alg"] == "RS256"
    assert header["kid"] == auto.app.jwks()["keys"][0]["kid"]
    claims = claims_of(token["access_token"])
    assert set(claims) == {"iss", "sub", "aud", "client_id", "scope", "jti", "iat", "exp"}
    assert claims["iss"] == auto.issuer
    assert claims["aud"] == RESOURCE
    assert claims["client_id"] == client.client_id
    assert claims["sub"] == "robot"
    assert claims["exp"] - claims["iat"] == 300
    assert claims["iat"] >= before


def test_token_verifies_with_the_resource_server_jwt_verifier(auto: RunningServer) -> None:
    client = OAuthClient.register(auto.url)
    token = client.tokens(scope="notes:read notes:write")["access_token"]
    verifier = JWTVerifier(issuer=auto.issuer, audience=RESOURCE, jwks_uri=auto.url + "/jwks", typ="at+jwt")
    access = verifier.verify_token_sync(token)
    assert access is not None
    assert access.subject == "robot"
    assert access.client_id == client.client_id
    assert sorted(access.scopes) == ["notes:read", "notes:write"]
    wrong_audience = JWTVerifier(issuer=auto.issuer, audience=OTHER, jwks_uri=auto.url + "/jwks")
    assert wrong_audience.verify_token_sync(token) is None


def test_confidential_client_authenticates(auto: RunningServer) -> None:
    client = OAuthClient.register(auto.url, public=False)
    verifier, challenge = pkce()
    code = client.authorize(challenge)["code"]
    anonymous = client.post(
        "/token",
        data={
            "grant_type": "authorization_code",
            "code": code,
            "client_id": client.client_id,
            "redirect_uri": client.redirect_uri,
            "code_verifier": verifier,
            "resource": RESOURCE,
        },
    )
    assert anonymous.status_code in (400, 401)
    assert anonymous.json()["error"] == "invalid_client"
    assert client.exchange(code, verifier).status_code == 200


def test_wrong_or_missing_verifier_is_refused(auto: RunningServer) -> None:
    client = OAuthClient.register(auto.url)
    verifier, challenge = pkce()
    code = client.authorize(challenge)["code"]
    wrong = client.exchange(code, pkce()[0])
    assert wrong.status_code == 400
    assert wrong.json()["error"] == "invalid_grant"
    missing = client.exchange(code, None)
    assert missing.status_code == 400
    assert missing.json()["error"] == "invalid_request"
    # Failed attempts do not consume the code: the right verifier still works once.
    assert client.exchange(code, verifier).status_code == 200


def test_code_replay_is_refused_and_revokes_the_tokens(auto: RunningServer) -> None:
    client = OAuthClient.register(auto.url)
    verifier, challenge = pkce()
    code = client.authorize(challenge)["code"]
    first = client.exchange(code, verifier)
    assert first.status_code == 200
    tokens = first.json()
    assert introspect(auto, tokens["access_token"])["active"] is True
    replay = client.exchange(code, verifier)
    assert replay.status_code == 400
    assert replay.json()["error"] == "invalid_grant"
    assert introspect(auto, tokens["access_token"]) == {"active": False}
    assert client.refresh(tokens["refresh_token"]).json()["error"] == "invalid_grant"


def test_code_is_bound_to_client_and_redirect_uri(auto: RunningServer) -> None:
    client = OAuthClient.register(auto.url)
    thief = OAuthClient.register(auto.url)
    verifier, challenge = pkce()
    code = client.authorize(challenge)["code"]
    assert thief.exchange(code, verifier).json()["error"] == "invalid_grant"
    other_redirect = client.token(
        grant_type="authorization_code",
        code=code,
        redirect_uri="http://127.0.0.1:7/else",
        code_verifier=verifier,
        resource=RESOURCE,
    )
    assert other_redirect.json()["error"] == "invalid_grant"
    assert client.exchange(code, verifier).status_code == 200


def test_resource_must_be_granted_at_the_token_endpoint(auto: RunningServer) -> None:
    client = OAuthClient.register(auto.url)
    verifier, challenge = pkce()
    code = client.authorize(challenge)["code"]
    mismatch = client.token(
        grant_type="authorization_code",
        code=code,
        redirect_uri=client.redirect_uri,
        code_verifier=verifier,
        resource=OTHER,
    )
    assert mismatch.status_code == 400
    assert mismatch.json()["error"] == "invalid_target"
    omitted = client.token(
        grant_type="authorization_code", code=code, redirect_uri=client.redirect_uri, code_verifier=verifier
    )
    assert omitted.status_code == 200  # the single granted resource
    assert claims_of(omitted.json()["access_token"])["aud"] == RESOURCE


def test_several_resources_one_audience_per_token(auto: RunningServer) -> None:
    client = OAuthClient.register(auto.url)
    verifier, challenge = pkce()
    code = client.authorize(challenge, resource=[RESOURCE, OTHER])["code"]
    ambiguous = client.token(
        grant_type="authorization_code", code=code, redirect_uri=client.redirect_uri, code_verifier=verifier
    )
    assert ambiguous.json()["error"] == "invalid_target"
    picked = client.token(
        grant_type="authorization_code",
        code=code,
        redirect_uri=client.redirect_uri,
        code_verifier=verifier,
        resource=OTHER,
    )
    tokens = picked.json()
    assert claims_of(tokens["access_token"])["aud"] == OTHER
    switched = client.refresh(tokens["refresh_token"], resource=RESOURCE).json()
    assert claims_of(switched["access_token"])["aud"] == RESOURCE
    kept = client.refresh(switched["refresh_token"]).json()
    assert claims_of(kept["access_token"])["aud"] == RESOURCE


def test_refresh_rotates_and_keeps_the_audience(auto: RunningServer) -> None:
    client = OAuthClient.register(auto.url)
    first = client.tokens(scope="notes:read notes:write")
    second = client.refresh(first["refresh_token"])
    assert second.status_code == 200
    body = second.json()
    assert body["refresh_token"] != first["refresh_token"]
    assert body["access_token"] != first["access_token"]
    claims = claims_of(body["access_token"])
    assert claims["aud"] == RESOURCE
    assert claims["sub"] == "robot"
    narrowed = client.refresh(body["refresh_token"], scope="notes:read").json()
    assert narrowed["scope"] == "notes:read"
    widened = client.refresh(narrowed["refresh_token"], scope="notes:read offline_access")
    assert widened.json()["error"] == "invalid_scope"
    # A refused request does not consume the refresh token.
    assert client.refresh(narrowed["refresh_token"]).status_code == 200


def test_refresh_resource_mismatch_is_invalid_target(auto: RunningServer) -> None:
    client = OAuthClient.register(auto.url)
    tokens = client.tokens()
    mismatch = client.refresh(tokens["refresh_token"], resource=OTHER)
    assert mismatch.status_code == 400
    assert mismatch.json()["error"] == "invalid_target"
    assert client.refresh(tokens["refresh_token"], resource=RESOURCE).status_code == 200


def test_refresh_token_reuse_revokes_the_whole_grant(auto: RunningServer) -> None:
    client = OAuthClient.register(auto.url)
    first = client.tokens()
    second = client.refresh(first["refresh_token"]).json()
    third = client.refresh(second["refresh_token"]).json()
    reuse = client.refresh(first["refresh_token"])
    assert reuse.status_code == 400
    assert reuse.json()["error"] == "invalid_grant"
    # The newest refresh token and every access token of the grant are dead too.
    assert client.refresh(third["refresh_token"]).json()["error"] == "invalid_grant"
    for token in (first, second, third):
        assert introspect(auto, token["access_token"]) == {"active": False}
    # Other grants of the same client are untouched.
    assert client.refresh(client.tokens()["refresh_token"]).status_code == 200


def test_refresh_token_is_bound_to_its_client(auto: RunningServer) -> None:
    client = OAuthClient.register(auto.url)
    thief = OAuthClient.register(auto.url)
    tokens = client.tokens()
    assert thief.refresh(tokens["refresh_token"]).json()["error"] == "invalid_grant"
    assert client.refresh(tokens["refresh_token"]).status_code == 200


def test_no_refresh_token_without_the_refresh_grant(auto: RunningServer) -> None:
    client = OAuthClient.register(auto.url, grant_types=["authorization_code"])
    tokens = client.tokens()
    assert "refresh_token" not in tokens


def test_default_resource_setting() -> None:
    from mcp_tools.devserver import serve

    with serve(auto_approve=True, default_resource=OTHER, resources=[OTHER]) as running:
        client = OAuthClient.register(running.url)
        verifier, challenge = pkce()
        code = client.authorize(challenge, resource=None, scope=None)["code"]
        token = client.token(
            grant_type="authorization_code",
            code=code,
            redirect_uri=client.redirect_uri,
            code_verifier=verifier,
        ).json()
        assert claims_of(token["access_token"])["aud"] == OTHER
        assert claims_of(token["access_token"])["scope"] == "mcp"
        refused = client.get(
            "/authorize", params=client.authorize_params(pkce()[1], resource=RESOURCE, scope=None)
        )
        assert "error=invalid_target" in refused.headers["Location"]


def test_short_access_token_ttl() -> None:
    from mcp_tools.devserver import serve

    with serve(auto_approve=True, access_token_ttl=1, scopes=["notes:read"]) as running:
        client = OAuthClient.register(running.url)
        token = client.tokens()
        assert token["expires_in"] == 1
        verifier = JWTVerifier(
            issuer=running.issuer, audience=RESOURCE, jwks_uri=running.url + "/jwks", leeway=0
        )
        assert verifier.verify_token_sync(token["access_token"]) is not None
        time.sleep(2.1)
        assert verifier.verify_token_sync(token["access_token"]) is None
        fresh = client.refresh(token["refresh_token"]).json()["access_token"]
        assert verifier.verify_token_sync(fresh) is not None
