"""Client-side helpers for driving the dev authorization server over real HTTP."""

from __future__ import annotations

import base64
import hashlib
import json
import re
import secrets
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs, urljoin, urlsplit

import requests

REDIRECT_URI = "http://127.0.0.1:7/callback"
RESOURCE = "http://127.0.0.1:8000/mcp"
TIMEOUT = 10


def pkce() -> tuple[str, str]:
    """A (verifier, S256 challenge) pair."""
    verifier = secrets.token_urlsafe(48)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    return verifier, challenge


def claims_of(jwt: str) -> dict[str, Any]:
    segment = jwt.split(".")[1]
    return dict(json.loads(base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4))))


def header_of(jwt: str) -> dict[str, Any]:
    segment = jwt.split(".")[0]
    return dict(json.loads(base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4))))


def query_of(location: str) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(urlsplit(location).query).items()}


@dataclass
class OAuthClient:
    """A registered client plus a browser-like session (cookies kept, redirects by hand)."""

    issuer: str
    client_id: str
    client_secret: str | None = None
    redirect_uri: str = REDIRECT_URI
    http: requests.Session = field(default_factory=requests.Session)

    @classmethod
    def register(cls, issuer: str, *, public: bool = True, **extra: Any) -> OAuthClient:
        body: dict[str, Any] = {
            "redirect_uris": [REDIRECT_URI],
            "grant_types": ["authorization_code", "refresh_token"],
            "token_endpoint_auth_method": "none" if public else "client_secret_basic",
            "client_name": "test client",
            **extra,
        }
        response = requests.post(f"{issuer}/register", json=body, timeout=TIMEOUT)
        assert response.status_code == 201, response.text
        data = response.json()
        return cls(issuer, data["client_id"], data.get("client_secret"))

    @property
    def auth(self) -> tuple[str, str] | None:
        return (self.client_id, self.client_secret) if self.client_secret else None

    def authorize_params(self, challenge: str | None, **extra: Any) -> dict[str, Any]:
        params: dict[str, Any] = {
            "response_type": "code",
            "client_id": self.client_id,
            "redirect_uri": self.redirect_uri,
            "state": secrets.token_urlsafe(8),
            "resource": RESOURCE,
            "scope": "notes:read",
        }
        if challenge is not None:
            params.update(code_challenge=challenge, code_challenge_method="S256")
        params.update(extra)
        return {k: v for k, v in params.items() if v is not None}

    def get(self, url: str, **kwargs: Any) -> requests.Response:
        return self.http.get(
            urljoin(self.issuer + "/", url), allow_redirects=False, timeout=TIMEOUT, **kwargs
        )

    def post(self, url: str, **kwargs: Any) -> requests.Response:
        return self.http.post(
            urljoin(self.issuer + "/", url), allow_redirects=False, timeout=TIMEOUT, **kwargs
        )

    def authorize(self, challenge: str | None, *, username: str = "alice", **extra: Any) -> dict[str, str]:
        """Run /authorize (and the login and consent forms if shown); return the callback query."""
        response = self.get("/authorize", params=self.authorize_params(challenge, **extra))
        for _ in range(6):
            assert response.status_code in (302, 303), response.text
            location = response.headers["Location"]
            if location.startswith(self.redirect_uri):
                return query_of(location)
            page = self.get(location)
            assert page.status_code == 200, page.text
            form = {"csrf_token": csrf_of(page.text)}
            if 'name="username"' in page.text:
                form.update(action="login", username=username)
            else:
                form["action"] = "approve"
            response = self.post(location, data=form)
        raise AssertionError("too many redirects")

    def token(self, **data: Any) -> requests.Response:
        if self.client_secret is None:
            data.setdefault("client_id", self.client_id)
        return self.post("/token", data=data, auth=self.auth)

    def exchange(self, code: str, verifier: str | None, **extra: Any) -> requests.Response:
        return self.token(
            grant_type="authorization_code",
            code=code,
            redirect_uri=self.redirect_uri,
            code_verifier=verifier,
            resource=RESOURCE,
            **extra,
        )

    def tokens(self, **extra: Any) -> dict[str, Any]:
        """A full code flow; returns the token response."""
        verifier, challenge = pkce()
        callback = self.authorize(challenge, **extra)
        response = self.exchange(callback["code"], verifier)
        assert response.status_code == 200, response.text
        return dict(response.json())

    def refresh(self, refresh_token: str, **extra: Any) -> requests.Response:
        return self.token(grant_type="refresh_token", refresh_token=refresh_token, **extra)


def csrf_of(page: str) -> str:
    match = re.search(r'name="csrf_token" value="([^"]+)"', page)
    assert match, page
    return match.group(1)
