"""Get an access token from oidc-provider the way a confidential-less web client would.

Dynamic client registration (RFC 7591), an authorization request with PKCE S256 and the
``resource`` indicator (RFC 8707), oidc-provider's auto-consent redirects followed by hand, and
the code exchange. Used for the clients that take a ready bearer token (the Inspector CLI and
the conformance harness).
"""

from __future__ import annotations

import base64
import hashlib
import secrets
from urllib.parse import urlencode

import requests

from tests.support.oauth_as import consent

REDIRECT = "http://127.0.0.1:9/oauth/callback"  # never contacted


def obtain_access_token(issuer: str, resource: str, scope: str = "notes:read") -> str:
    with requests.Session() as http:
        metadata = http.get(f"{issuer}/.well-known/oauth-authorization-server", timeout=10).json()
        registration = http.post(
            metadata["registration_endpoint"],
            json={
                "client_name": "mcp-tools interop (token for bearer clients)",
                "redirect_uris": [REDIRECT],
                "grant_types": ["authorization_code"],
                "response_types": ["code"],
                "token_endpoint_auth_method": "none",
            },
            timeout=10,
        )
        registration.raise_for_status()
        client_id = registration.json()["client_id"]
        verifier = secrets.token_urlsafe(48)
        challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
        state = secrets.token_urlsafe(16)
        query = urlencode(
            {
                "response_type": "code",
                "client_id": client_id,
                "redirect_uri": REDIRECT,
                "scope": scope,
                "state": state,
                "code_challenge": challenge,
                "code_challenge_method": "S256",
                "resource": resource,
            }
        )
        callback = consent(f"{metadata['authorization_endpoint']}?{query}", REDIRECT, http)
        assert callback.get("state") == state, callback
        assert "code" in callback, callback
        token = http.post(
            metadata["token_endpoint"],
            data={
                "grant_type": "authorization_code",
                "code": callback["code"],
                "redirect_uri": REDIRECT,
                "client_id": client_id,
                "code_verifier": verifier,
                "resource": resource,
            },
            timeout=10,
        )
        token.raise_for_status()
        return str(token.json()["access_token"])
