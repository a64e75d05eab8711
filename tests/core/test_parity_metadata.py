"""Parity with ``@clerk/mcp-tools`` 0.6.0: every metadata vector of ``ts-vectors.json``.

Each vector either gives byte-identical JSON (key order included) or is listed in
:data:`DIFFERENCES` with the reason, and then our documented behaviour is asserted instead.
The same list is the table in ``docs/server-metadata.md``.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest

from mcp_tools.server.clerk_metadata import (
    ClerkMetadataError,
    InvalidPublishableKeyError,
    MetadataCache,
    clerk_authorization_server_metadata_url,
    default_metadata_cache,
    fetch_clerk_authorization_server_metadata,
    generate_clerk_authorization_server_metadata,
    generate_clerk_protected_resource_metadata,
)
from mcp_tools.server.metadata import (
    cors_headers,
    generate_authorization_server_metadata,
    generate_protected_resource_metadata,
)
from tests.core.vectors import canonical, fake_http_server, from_js, load_vectors

DOCS = Path(__file__).resolve().parents[2] / "docs" / "server-metadata.md"

PURE_FNS = ("generateProtectedResourceMetadata", "generateClerkProtectedResourceMetadata", "corsHeaders")
AS_FNS = ("generateAuthorizationServerMetadata", "generateClerkAuthorizationServerMetadata")
FETCH_FN = "fetchClerkAuthorizationServerMetadata"
ALL_FNS = (*PURE_FNS, *AS_FNS, FETCH_FN)

VECTORS = load_vectors(ALL_FNS)


@dataclass(frozen=True)
class Difference:
    """A vector on which we deliberately differ from the TypeScript output."""

    reason: str
    error: type[Exception] | None = None  # None: TS threw, we return a document
    message: str = ""  # regular expression our error message matches


DIFFERENCES: dict[str, Difference] = {
    # generateClerkProtectedResourceMetadata: the key is validated instead of decoded blindly.
    "no trailing $ in decoded value: nothing stripped": Difference(
        "Every Clerk publishable key decodes to '<host>$' (Clerk's own SDKs check this); a value "
        "without the '$' is truncated or not a publishable key.",
        InvalidPublishableKeyError,
        r"final '\$' is missing",
    ),
    'only the FIRST "$" is removed (regex without /g): a.b$c$ -> a.bc$': Difference(
        "Exactly one final '$' is removed; what remains ('a.b$c') is not a host name.",
        InvalidPublishableKeyError,
        "not a valid host name",
    ),
    'base64url alphabet (-,_) and missing padding are accepted (normalised to +,/ and "=" padded)': Difference(  # noqa: E501
        "base64url and missing padding are accepted too, but this key decodes to 'ab?.clerk.dev', "
        "which is not a host name (TS put it into the URL).",
        InvalidPublishableKeyError,
        r"'ab\?\.clerk\.dev', which is not a valid host name",
    ),
    "no pk_ prefix: decoded as-is (prefix removal is optional)": Difference(
        "A publishable key starts with pk_test_ or pk_live_; anything else is rejected.",
        InvalidPublishableKeyError,
        "must start with pk_test_ or pk_live_",
    ),
    'wrong prefix (sk_test_) is NOT stripped; "sk_test_" is decoded as part of the base64 -> garbage or error': (  # noqa: E501
        Difference(
            "A secret key in the publishable-key slot is a leak waiting to happen; it is rejected by "
            "name instead of turning into a garbage host.",
            InvalidPublishableKeyError,
            "secret key",
        )
    ),
    "invalid base64 -> atob throws InvalidCharacterError (no friendly error)": Difference(
        "Both throw; ours is an InvalidPublishableKeyError (a ValueError) that says what is wrong.",
        InvalidPublishableKeyError,
        "not valid base64",
    ),
    'empty key -> "https://" auth server (no validation)': Difference(
        "An empty key is a configuration error, not the authorization server 'https://'.",
        InvalidPublishableKeyError,
        "empty",
    ),
    # fetchClerkAuthorizationServerMetadata: status and JSON are checked.
    "HTTP status is NOT checked: an error body is returned as if it were metadata; no caching, no timeout, "
    "one fetch per call": Difference(
        "A non-2xx answer is an error (ClerkMetadataError with .status), never served as metadata.",
        ClerkMetadataError,
        "HTTP 404",
    ),
    "non-JSON body -> SyntaxError from res.json() propagates; no caching, no timeout, one fetch per call": (
        Difference(
            "Both fail; ours is a ClerkMetadataError naming the URL and the status (500 is checked "
            "before the body is parsed).",
            ClerkMetadataError,
            "HTTP 500",
        )
    ),
    # The README promised these two functions; no TS version shipped them.
    "NOT EXPORTED by any published version (0.1.1..0.6.0). Documented in README <=0.5.0 only; "
    "removed from README in 0.6.0 (PR #32).": Difference(
        "TS: not a function. Ours implements what the README described (see AS_DOCUMENTED)."
    ),
    "README (<=0.5.0) override / false-value examples; function does not exist in any version": Difference(
        "TS: not a function. Ours implements the README's overrides: relative paths go under the "
        "authorization server URL, False omits the field."
    ),
    "NOT EXPORTED; README <=0.5.0 named it, the real function is fetchClerkAuthorizationServerMetadata": (
        Difference("TS: not a function. Ours fetches Clerk's document (key from CLERK_PUBLISHABLE_KEY).")
    ),
}

_COMMON_TAIL = {
    "response_types_supported": ["code"],
    "grant_types_supported": ["authorization_code", "refresh_token"],
    "token_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post", "none"],
    "code_challenge_methods_supported": ["S256"],
}

# Our documented output for the README inputs of generateAuthorizationServerMetadata,
# keyed by the canonical JSON of the vector input.
AS_DOCUMENTED: dict[str, dict[str, Any]] = {
    canonical({"authServerUrl": "https://auth.example.com", "scopes": ["email", "profile", "openid"]}): {
        "issuer": "https://auth.example.com",
        "authorization_endpoint": "https://auth.example.com/authorize",
        "token_endpoint": "https://auth.example.com/token",
        "userinfo_endpoint": "https://auth.example.com/userinfo",
        "jwks_uri": "https://auth.example.com/.well-known/jwks.json",
        "registration_endpoint": "https://auth.example.com/register",
        "scopes_supported": ["email", "profile", "openid"],
        **_COMMON_TAIL,
    },
    canonical(
        {
            "authServerUrl": "https://auth.example.com",
            "authorizationEndpoint": "foo/bar/authorize",
            "registrationEndpoint": False,
            "tokenEndpoint": "tokens",
            "scopes": ["email", "profile", "openid", "foobar"],
        }
    ): {
        "issuer": "https://auth.example.com",
        "authorization_endpoint": "https://auth.example.com/foo/bar/authorize",
        "token_endpoint": "https://auth.example.com/tokens",
        "userinfo_endpoint": "https://auth.example.com/userinfo",
        "jwks_uri": "https://auth.example.com/.well-known/jwks.json",
        "scopes_supported": ["email", "profile", "openid", "foobar"],
        **_COMMON_TAIL,
    },
    canonical(
        {
            "authServerUrl": "https://auth.example.com",
            "registrationEndpoint": False,
            "userInfoEndpoint": False,
            "jwksUri": False,
        }
    ): {
        "issuer": "https://auth.example.com",
        "authorization_endpoint": "https://auth.example.com/authorize",
        "token_endpoint": "https://auth.example.com/token",
        **_COMMON_TAIL,
    },
}

_AS_ARGUMENTS = {
    "scopes": "scopes",
    "authorizationEndpoint": "authorization_endpoint",
    "tokenEndpoint": "token_endpoint",
    "registrationEndpoint": "registration_endpoint",
    "userInfoEndpoint": "userinfo_endpoint",
    "jwksUri": "jwks_uri",
}

CLERK_AS_DOCUMENT = {
    "issuer": "https://example.clerk.accounts.dev",
    "authorization_endpoint": "https://example.clerk.accounts.dev/oauth/authorize",
}


def _vector_id(vector: dict[str, Any]) -> str:
    slug = re.sub(r"[^a-z0-9]+", "-", vector.get("note", "").lower()).strip("-")[:50]
    return f"{vector['fn']}:{slug}"


def _of(*fns: str) -> list[Any]:
    return [pytest.param(v, id=_vector_id(v)) for v in VECTORS if v["fn"] in fns]


@pytest.fixture(autouse=True)
def _isolated(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.delenv("CLERK_FRONTEND_API_URL", raising=False)
    monkeypatch.delenv("CLERK_PUBLISHABLE_KEY", raising=False)
    default_metadata_cache.clear()
    yield
    default_metadata_cache.clear()


def _call_pure(fn: str, raw_input: Any) -> Any:
    data = from_js(raw_input)
    if fn == "corsHeaders":
        return dict(cors_headers)
    if fn == "generateProtectedResourceMetadata":
        return generate_protected_resource_metadata(
            data["authServerUrl"], data["resourceUrl"], data.get("properties")
        )
    assert fn == "generateClerkProtectedResourceMetadata"
    return generate_clerk_protected_resource_metadata(
        data["publishableKey"], data["resourceUrl"], data.get("properties")
    )


@pytest.mark.parametrize("vector", _of(*PURE_FNS))
def test_pure_vector(vector: dict[str, Any]) -> None:
    difference = DIFFERENCES.get(vector.get("note", ""))
    if difference is None:
        assert canonical(_call_pure(vector["fn"], vector["input"])) == canonical(vector["output"])
        return
    assert difference.error is not None
    with pytest.raises(difference.error, match=difference.message) as info:
        _call_pure(vector["fn"], vector["input"])
    key = vector["input"].get("publishableKey", "")
    if len(key) > 8:
        assert key not in str(info.value), "the error message must not echo the key"


@pytest.mark.parametrize("vector", _of("generateAuthorizationServerMetadata"))
def test_authorization_server_metadata_vector(vector: dict[str, Any]) -> None:
    assert vector["output"]["__error__"]["name"] == "TypeError"
    assert "is not a function" in vector["output"]["__error__"]["message"]
    assert vector["note"] in DIFFERENCES
    data = dict(vector["input"])
    auth_server_url = data.pop("authServerUrl")
    kwargs = {_AS_ARGUMENTS[name]: value for name, value in data.items()}
    ours = generate_authorization_server_metadata(auth_server_url, **kwargs)
    assert canonical(ours) == canonical(AS_DOCUMENTED[canonical(vector["input"])])


@pytest.mark.parametrize("vector", _of("generateClerkAuthorizationServerMetadata"))
def test_clerk_authorization_server_metadata_vector(
    vector: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    assert vector["output"]["__error__"]["name"] == "TypeError"
    assert vector["note"] in DIFFERENCES
    assert vector["input"] == {}
    with fake_http_server() as clerk:
        clerk.reply("/.well-known/oauth-authorization-server", 200, canonical(CLERK_AS_DOCUMENT))
        monkeypatch.setenv("CLERK_PUBLISHABLE_KEY", "pk_test_ZXhhbXBsZS5jbGVyay5hY2NvdW50cy5kZXYk")
        monkeypatch.setenv("CLERK_FRONTEND_API_URL", clerk.base_url)
        ours = generate_clerk_authorization_server_metadata()
    assert canonical(ours) == canonical(CLERK_AS_DOCUMENT)


@pytest.mark.parametrize("vector", _of(FETCH_FN))
def test_fetch_vector(vector: dict[str, Any]) -> None:
    key = vector["input"]["publishableKey"]
    mocked = vector["input"]["mocked_response"]
    (call,) = vector["fetch_calls"]
    assert clerk_authorization_server_metadata_url(key) == call["url"]
    path = urlsplit(call["url"]).path
    with fake_http_server() as clerk:
        clerk.reply(path, mocked["status"], mocked["body"])
        difference = DIFFERENCES.get(vector["note"])
        if difference is None:
            ours = fetch_clerk_authorization_server_metadata(
                key, frontend_api_url=clerk.base_url, cache=MetadataCache()
            )
            assert canonical(ours) == canonical(vector["output"])
        else:
            assert difference.error is ClerkMetadataError
            with pytest.raises(ClerkMetadataError, match=difference.message) as info:
                fetch_clerk_authorization_server_metadata(
                    key, frontend_api_url=clerk.base_url, cache=MetadataCache()
                )
            assert info.value.status == mocked["status"]
            assert info.value.url == clerk.base_url + path
    assert clerk.paths == [path]


def test_every_vector_is_covered_and_every_difference_is_real() -> None:
    assert Counter(v["fn"] for v in VECTORS) == {
        "generateProtectedResourceMetadata": 12,
        "generateClerkProtectedResourceMetadata": 12,
        "corsHeaders": 1,
        "generateAuthorizationServerMetadata": 3,
        "generateClerkAuthorizationServerMetadata": 1,
        "fetchClerkAuthorizationServerMetadata": 3,
    }
    notes = {v.get("note", "") for v in VECTORS}
    assert set(DIFFERENCES) <= notes, set(DIFFERENCES) - notes
    assert len(AS_DOCUMENTED) == 3


def test_differences_are_documented() -> None:
    text = DOCS.read_text(encoding="utf-8")
    missing = [note for note in DIFFERENCES if note not in text]
    assert missing == []
