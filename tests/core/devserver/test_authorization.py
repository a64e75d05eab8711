"""The authorization endpoint: PKCE S256 required, RFC 9207 iss, login and consent pages."""

from __future__ import annotations

import pytest

from mcp_tools.devserver import RunningServer

from .flows import REDIRECT_URI, RESOURCE, OAuthClient, claims_of, csrf_of, pkce, query_of


def test_auto_approve_redirects_at_once_with_code_state_and_iss(auto: RunningServer) -> None:
    client = OAuthClient.register(auto.url)
    verifier, challenge = pkce()
    params = client.authorize_params(challenge, state="s-123")
    response = client.get("/authorize", params=params)
    assert response.status_code == 302
    assert response.headers["Location"].startswith(REDIRECT_URI + "?")
    callback = query_of(response.headers["Location"])
    assert callback["state"] == "s-123"
    assert callback["iss"] == auto.issuer
    assert len(callback["code"]) >= 32
    token = client.exchange(callback["code"], verifier).json()
    assert claims_of(token["access_token"])["sub"] == "robot"


def test_auto_approve_login_hint_names_the_user(auto: RunningServer) -> None:
    client = OAuthClient.register(auto.url)
    token = client.tokens(login_hint="carol")
    assert claims_of(token["access_token"])["sub"] == "carol"


def test_login_and_consent_forms(interactive: RunningServer) -> None:
    client = OAuthClient.register(interactive.url)
    verifier, challenge = pkce()
    first = client.get("/authorize", params=client.authorize_params(challenge, state="xyz"))
    assert first.status_code == 303
    cookie = first.headers["Set-Cookie"]
    assert "HttpOnly" in cookie
    assert "SameSite=Lax" in cookie
    assert "Domain" not in cookie
    interaction = first.headers["Location"]
    assert interaction.startswith("/interaction/")

    login = client.get(interaction)
    assert login.status_code == 200
    assert 'name="username"' in login.text
    assert "test client" in login.text
    assert "Development authorization server" in login.text
    assert login.headers["X-Frame-Options"] == "DENY"
    assert "frame-ancestors 'none'" in login.headers["Content-Security-Policy"]

    signed_in = client.post(
        interaction, data={"csrf_token": csrf_of(login.text), "action": "login", "username": "alice"}
    )
    assert signed_in.status_code == 303
    assert signed_in.headers["Location"] == interaction
    assert client.http.cookies.get("mcp_devserver_session")

    consent = client.get(interaction)
    assert consent.status_code == 200
    assert "Approve" in consent.text
    assert "notes:read" in consent.text
    assert RESOURCE in consent.text
    assert "alice" in consent.text

    done = client.post(interaction, data={"csrf_token": csrf_of(consent.text), "action": "approve"})
    assert done.status_code == 302
    callback = query_of(done.headers["Location"])
    assert done.headers["Location"].startswith(REDIRECT_URI)
    assert callback["state"] == "xyz"
    assert callback["iss"] == interactive.issuer

    token = client.exchange(callback["code"], verifier)
    assert token.status_code == 200
    assert claims_of(token.json()["access_token"])["sub"] == "alice"

    # Signed in already: the next authorization only asks for consent.
    again = client.get("/authorize", params=client.authorize_params(pkce()[1]))
    page = client.get(again.headers["Location"])
    assert "Approve" in page.text
    assert 'name="username"' not in page.text


def test_deny_redirects_access_denied_with_iss(interactive: RunningServer) -> None:
    client = OAuthClient.register(interactive.url)
    client.authorize(pkce()[1])  # signs in
    start = client.get("/authorize", params=client.authorize_params(pkce()[1], state="d"))
    page = client.get(start.headers["Location"])
    denied = client.post(start.headers["Location"], data={"csrf_token": csrf_of(page.text), "action": "deny"})
    callback = query_of(denied.headers["Location"])
    assert callback["error"] == "access_denied"
    assert callback["state"] == "d"
    assert callback["iss"] == interactive.issuer
    assert "code" not in callback


def test_forms_require_the_csrf_token_and_the_session(interactive: RunningServer) -> None:
    client = OAuthClient.register(interactive.url)
    start = client.get("/authorize", params=client.authorize_params(pkce()[1]))
    interaction = start.headers["Location"]
    page = client.get(interaction)
    token = csrf_of(page.text)

    forged = client.post(interaction, data={"csrf_token": "wrong", "action": "login", "username": "eve"})
    assert forged.status_code == 403
    cross_site = client.post(
        interaction,
        data={"csrf_token": token, "action": "login", "username": "eve"},
        headers={"Origin": "http://evil.example"},
    )
    assert cross_site.status_code == 403

    other_browser = OAuthClient(interactive.url, client.client_id)
    stolen = other_browser.post(interaction, data={"csrf_token": token, "action": "login", "username": "eve"})
    assert stolen.status_code == 400
    assert other_browser.get(interaction).status_code == 400


def test_prompt_login_forces_the_login_form(interactive: RunningServer) -> None:
    client = OAuthClient.register(interactive.url)
    client.authorize(pkce()[1], username="alice")
    start = client.get("/authorize", params=client.authorize_params(pkce()[1], prompt="login"))
    assert 'name="username"' in client.get(start.headers["Location"]).text
    verifier, challenge = pkce()
    callback = client.authorize(challenge, prompt="login", username="bob")
    token = client.exchange(callback["code"], verifier).json()
    assert claims_of(token["access_token"])["sub"] == "bob"


def test_prompt_none_without_session_is_login_required(interactive: RunningServer) -> None:
    client = OAuthClient.register(interactive.url)
    response = client.get("/authorize", params=client.authorize_params(pkce()[1], prompt="none", state="n"))
    assert query_of(response.headers["Location"]) == {
        "error": "login_required",
        "state": "n",
        "iss": interactive.issuer,
    }


@pytest.mark.parametrize(
    ("extra", "description"),
    [
        ({"code_challenge": None, "code_challenge_method": None}, "PKCE is required"),
        ({"code_challenge_method": "plain"}, "code_challenge_method"),
        ({"code_challenge_method": None}, "S256"),
        ({"code_challenge": "short"}, "code_challenge"),
    ],
)
def test_pkce_is_required_at_authorize(
    auto: RunningServer, extra: dict[str, object], description: str
) -> None:
    for public in (True, False):
        client = OAuthClient.register(auto.url, public=public)
        params = client.authorize_params(pkce()[1], state="p", **extra)
        response = client.get("/authorize", params=params)
        assert response.status_code == 302
        callback = query_of(response.headers["Location"])
        assert callback["error"] == "invalid_request"
        assert description in callback["error_description"]
        assert callback["state"] == "p"
        assert callback["iss"] == auto.issuer
        assert "code" not in callback


@pytest.mark.parametrize(
    ("extra", "error"),
    [
        ({"resource": None}, "invalid_target"),
        ({"resource": "not-a-uri"}, "invalid_target"),
        ({"resource": "https://api.example.com/mcp#frag"}, "invalid_target"),
        ({"scope": "admin"}, "invalid_scope"),
        ({"response_type": "token"}, "unsupported_response_type"),
    ],
)
def test_bad_requests_are_redirected_with_errors(
    auto: RunningServer, extra: dict[str, object], error: str
) -> None:
    client = OAuthClient.register(auto.url)
    response = client.get("/authorize", params=client.authorize_params(pkce()[1], **extra))
    assert response.status_code == 302
    callback = query_of(response.headers["Location"])
    assert callback["error"] == error
    assert callback["iss"] == auto.issuer


@pytest.mark.parametrize(
    "extra",
    [{"client_id": "unknown"}, {"redirect_uri": "http://127.0.0.1:7/other"}, {"client_id": None}],
)
def test_untrusted_redirects_are_never_followed(auto: RunningServer, extra: dict[str, object]) -> None:
    client = OAuthClient.register(auto.url)
    response = client.get("/authorize", params=client.authorize_params(pkce()[1], **extra))
    assert response.status_code == 400
    assert "Location" not in response.headers
    assert response.headers["Content-Type"].startswith("text/html")


def test_default_scope_when_none_requested(auto: RunningServer) -> None:
    client = OAuthClient.register(auto.url)
    token = client.tokens(scope=None)
    assert claims_of(token["access_token"])["scope"] == "notes:read notes:write"
    narrow = OAuthClient.register(auto.url, scope="notes:read")
    assert claims_of(narrow.tokens(scope=None)["access_token"])["scope"] == "notes:read"
