"""Test helpers: signing keys, token minting (real signatures via joserfc, plus hand-made
forgeries), a controllable clock, and a tiny HTTP server on 127.0.0.1 for JWKS,
introspection and Clerk Backend API endpoints."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import threading
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from joserfc import jwt
from joserfc.errors import SecurityWarning
from joserfc.jwk import ECKey, Key, OKPKey, RSAKey

ISSUER = "https://auth.example.test"
RESOURCE = "https://api.example.test/mcp"
METADATA_URL = "https://api.example.test/.well-known/oauth-protected-resource/mcp"
NOW = 1_800_000_000


class FakeClock:
    def __init__(self, now: float = NOW) -> None:
        self.now = float(now)

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


def rsa_key(kid: str = "rsa-1") -> RSAKey:
    return RSAKey.generate_key(2048, parameters={"kid": kid, "use": "sig", "alg": "RS256"}, private=True)


def ec_key(kid: str = "ec-1") -> ECKey:
    return ECKey.generate_key("P-256", parameters={"kid": kid, "use": "sig", "alg": "ES256"}, private=True)


def ed_key(kid: str = "ed-1") -> OKPKey:
    return OKPKey.generate_key("Ed25519", parameters={"kid": kid, "use": "sig"}, private=True)


def jwks(*keys: Key) -> dict[str, Any]:
    return {"keys": [k.as_dict(private=False) for k in keys]}


def claims(**overrides: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "iss": ISSUER,
        "sub": "user_123",
        "aud": RESOURCE,
        "client_id": "client_abc",
        "scope": "mcp:read mcp:write",
        "iat": NOW - 10,
        "nbf": NOW - 10,
        "exp": NOW + 3600,
        "jti": "jti-1",
    }
    base.update(overrides)
    return {k: v for k, v in base.items() if v is not None}


def mint(
    key: Key,
    payload: dict[str, Any] | None = None,
    *,
    alg: str | None = None,
    typ: str | None = "at+jwt",
    kid: str | None = "__key__",
    extra_header: dict[str, Any] | None = None,
) -> str:
    """A genuinely signed JWT."""
    algorithm = alg or {"RSA": "RS256", "EC": "ES256", "OKP": "EdDSA"}[key.key_type]
    header: dict[str, Any] = {"alg": algorithm}
    if kid == "__key__":
        if key.kid:
            header["kid"] = key.kid
    elif kid is not None:
        header["kid"] = kid
    if typ is not None:
        header["typ"] = typ
    header.update(extra_header or {})
    body = payload if payload is not None else claims()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SecurityWarning)
        return jwt.encode(header, body, key, algorithms=[algorithm], default_type=None)


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _segment(obj: Any) -> str:
    return b64url(json.dumps(obj, separators=(",", ":")).encode())


def forge_none(payload: dict[str, Any] | None = None, kid: str | None = "rsa-1") -> str:
    header: dict[str, Any] = {"alg": "none", "typ": "at+jwt"}
    if kid:
        header["kid"] = kid
    return f"{_segment(header)}.{_segment(payload or claims())}."


def forge_none_with_signature(payload: dict[str, Any] | None = None) -> str:
    return forge_none(payload)[:-1] + "c2ln"


def forge_hs256_with_public_pem(key: RSAKey, payload: dict[str, Any] | None = None) -> str:
    """The classic key-confusion attack: HMAC keyed with the RSA public key's PEM bytes."""
    pem = key.as_pem(private=False)
    header = {"alg": "HS256", "typ": "at+jwt", "kid": key.kid}
    signing_input = f"{_segment(header)}.{_segment(payload or claims())}"
    signature = hmac.new(pem, signing_input.encode(), hashlib.sha256).digest()
    return f"{signing_input}.{b64url(signature)}"


def tamper(token: str, **changes: Any) -> str:
    """Swap the payload of a signed token, keeping header and signature."""
    header, payload, signature = token.split(".")
    padded = payload + "=" * (-len(payload) % 4)
    data = json.loads(base64.urlsafe_b64decode(padded))
    data.update(changes)
    return f"{header}.{_segment(data)}.{signature}"


# -- a local HTTP server ---------------------------------------------------------------------


@dataclass
class Recorded:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


Handler = Callable[[Recorded], tuple[int, Any]]


@dataclass
class LocalServer:
    """A threaded HTTP server answering from ``routes`` (``"METHOD /path"`` -> handler).

    A handler returns ``(status, body)``; a dict/list body is sent as JSON.
    """

    routes: dict[str, Handler] = field(default_factory=dict)
    requests: list[Recorded] = field(default_factory=list)

    def __post_init__(self) -> None:
        outer = self

        class _H(BaseHTTPRequestHandler):
            def _serve(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                path = self.path.split("?", 1)[0]
                rec = Recorded(self.command, path, {k.lower(): v for k, v in self.headers.items()}, body)
                outer.requests.append(rec)
                handler = outer.routes.get(f"{self.command} {path}")
                status, payload = handler(rec) if handler else (404, {"error": "not found"})
                data = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            do_GET = _serve
            do_POST = _serve

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _H)
        self._server.daemon_threads = True
        self.port = self._server.server_address[1]
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
        )
        self._thread.start()
        self._stopped = False

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def count(self, method: str, path: str) -> int:
        return sum(1 for r in self.requests if r.method == method and r.path == path)

    def stop(self) -> None:
        if not self._stopped:
            self._stopped = True
            self._server.shutdown()
            self._server.server_close()
            self._thread.join(timeout=5)


def wait_until(predicate: Callable[[], bool], timeout: float = 2.0) -> bool:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if predicate():
            return True
        time.sleep(0.01)
    return predicate()
