"""The typed session record, the typed flow steps and their executors, and McpClient's store.

No network: the flows are sans-I/O, so leg 2 is stepped here by hand, answering the token
request with a canned response.
"""

from __future__ import annotations

import json
import time
from typing import Any

import anyio
import pytest

from mcp_tools._outbound import OutboundRequest, OutboundResponse
from mcp_tools.client import (
    AuthorizationRequired,
    McpClient,
    PendingAuth,
    SessionRecord,
    aget_client_by_session_id,
    get_client_by_session_id,
)
from mcp_tools.client._flows import complete_flow
from mcp_tools.client._io import drive_async, drive_sync
from mcp_tools.client._steps import (
    AcquireLock,
    Fetch,
    Flow,
    ReleaseLock,
    Step,
    StoreRead,
    StoreTake,
    StoreUpdate,
    StoreWrite,
)
from mcp_tools.client.guard import UrlGuard
from mcp_tools.client.record import ClientConfig, binding_hash
from mcp_tools.stores import AsyncStore, MemoryStore

GUARD = UrlGuard(allow_loopback=True, timeout=5)

# A record as the TypeScript package writes it, plus keys it may add that this version does not know.
TS_RECORD: dict[str, Any] = {
    "mcpEndpoint": "https://mcp.example/mcp",
    "oauthRedirectUrl": "https://app.example/cb",
    "oauthScopes": "read",
    "oauthClientName": "App",
    "oauthClientUri": "https://app.example",
    "mcpClientName": "app",
    "mcpClientVersion": "1.0",
    "clientId": "cid",
    "clientSecret": "csecret",
    "accessToken": "at",
    "refreshToken": "rt",
    "authComplete": True,
    "client_id": "cid",  # written by the TS SDK's saveClientInformation
    "futureField": {"nested": [1, 2]},
}


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


# -- the record ---------------------------------------------------------------------------------


def test_a_typescript_record_round_trips_unchanged() -> None:
    record = SessionRecord.from_json(TS_RECORD)
    assert record.mcp_endpoint == "https://mcp.example/mcp"
    assert record.oauth_redirect_url == "https://app.example/cb"
    assert record.client_secret == "csecret"
    assert record.auth_complete is True
    assert record.extra == {"client_id": "cid", "futureField": {"nested": [1, 2]}}
    assert record.to_json() == TS_RECORD


def test_values_of_an_unexpected_type_are_kept_not_interpreted() -> None:
    stored = {**TS_RECORD, "authComplete": "yes", "expiresAt": "soon", "pendingAuth": []}
    record = SessionRecord.from_json(stored)
    assert record.auth_complete is None
    assert record.expires_at is None
    assert record.pending_auth is None
    assert record.to_json() == stored


def test_the_initial_record_has_the_typescript_client_data_keys() -> None:
    dynamic = ClientConfig(
        "https://mcp.example/mcp", "https://app.example/cb", "app", "1.0", oauth_scopes="s"
    )
    assert dynamic.record().to_json() == {
        "mcpEndpoint": "https://mcp.example/mcp",
        "oauthRedirectUrl": "https://app.example/cb",
        "mcpClientName": "app",
        "mcpClientVersion": "1.0",
        "oauthScopes": "s",
    }
    known = ClientConfig("https://mcp.example/mcp", "https://app.example/cb", "app", "1.0", client_id="c")
    assert known.record().to_json()["clientId"] == "c"
    assert known.record().to_json()["knownCredentials"] is True
    assert ClientConfig.from_record(known.record()) == known
    assert ClientConfig.from_record(dynamic.record()) == dynamic


def test_pending_authorizations_are_written_with_every_key() -> None:
    pending = PendingAuth(issuer="https://as.example", client_id="c", expires_at=5.0, binding_hash="h")
    assert pending.to_json() == {
        "issuer": "https://as.example",
        "authorizationServer": {},
        "clientId": "c",
        "clientSecret": None,
        "tokenEndpointAuthMethod": None,
        "resource": None,
        "resourceMetadataUrl": None,
        "scope": None,
        "bindingHash": "h",
        "expiresAt": 5.0,
        "stepUpAttempts": 0,
    }
    record = SessionRecord(mcp_endpoint="https://mcp.example/mcp", pending_auth={"st": pending})
    again = SessionRecord.from_json(json.loads(json.dumps(record.to_json())))
    assert again.pending_auth == {"st": pending}


def test_tokens_are_applied_and_forgotten() -> None:
    record = SessionRecord.from_json(TS_RECORD)
    record.apply_tokens({"access_token": "at2", "expires_at": 10, "scope": "read", "issued_at": 1})
    data = record.to_json()
    assert (data["accessToken"], data["refreshToken"], data["tokenType"]) == ("at2", "rt", "Bearer")
    assert data["tokenResponse"] == {
        "access_token": "at2",
        "expires_at": 10,
        "scope": "read",
        "issued_at": 1,
        "refresh_token": "rt",
    }
    record.forget_tokens()
    data = record.to_json()
    assert data["authComplete"] is False
    assert not {"accessToken", "refreshToken", "expiresAt", "tokenResponse"} & set(data)


# -- steps and executors ------------------------------------------------------------------------


def _every_store_step() -> Flow[list[object]]:
    results: list[object] = []
    results.append((yield from StoreWrite("k", {"n": 1}, 60)))
    results.append((yield from StoreRead("k")))
    results.append((yield from StoreUpdate("k", lambda current: {"n": current["n"] + 1})))  # type: ignore[index,call-overload]
    yield from AcquireLock("lock", 5)
    yield from ReleaseLock("lock")
    results.append((yield from StoreTake("k")))
    results.append((yield from StoreTake("k")))
    return results


def test_the_sync_and_async_executors_give_each_step_its_result() -> None:
    expected = [None, {"n": 1}, {"n": 2}, {"n": 2}, None]
    assert drive_sync(_every_store_step(), MemoryStore(), GUARD) == expected

    async def main() -> list[object]:
        return await drive_async(_every_store_step(), AsyncStore(MemoryStore()), GUARD)

    assert anyio.run(main) == expected


def test_a_flow_receives_a_failing_step_as_an_exception() -> None:
    def flow() -> Flow[str]:
        try:
            yield from StoreRead("")  # the store refuses an empty key
        except ValueError:
            return "caught"
        return "not raised"

    assert drive_sync(flow(), MemoryStore(), GUARD) == "caught"


# -- leg 2 returns what it wrote ----------------------------------------------------------------


def _step_by_hand(
    flow: Flow[Any], store: MemoryStore, token_response: dict[str, Any]
) -> tuple[Any, list[Step[Any]]]:
    """Run ``flow`` against ``store``, answering every HTTP request with ``token_response``."""
    steps: list[Step[Any]] = []
    result: object = None
    try:
        while True:
            step = flow.send(result)
            steps.append(step)
            match step:
                case Fetch():
                    result = OutboundResponse(200, {}, json.dumps(token_response).encode())
                case StoreTake(key=key):
                    result = store.take(key)
                case StoreRead(key=key):
                    result = store.read(key)
                case StoreUpdate(key=key, fn=fn):
                    result = store.update(key, fn)
                case _:
                    raise AssertionError(f"unexpected step {step!r}")
    except StopIteration as stop:
        return stop.value, steps


def test_complete_flow_returns_the_record_it_wrote_without_reading_it_back() -> None:
    store = MemoryStore()
    pending = PendingAuth(
        issuer="https://as.example",
        authorization_server={"issuer": "https://as.example", "token_endpoint": "https://as.example/token"},
        client_id="cid",
        token_endpoint_auth_method="none",
        resource="https://mcp.example/mcp",
        scope="read",
        binding_hash=binding_hash("browser"),
        expires_at=time.time() + 60,
    )
    base = ClientConfig("https://mcp.example/mcp", "https://app.example/cb", "app", "1.0").record()
    base.pending_auth = {"st": pending}
    store.write("session_sid", base.to_json())
    store.write("state_st", "sid")
    store.write("pkce_verifier_st", "verifier")

    flow = complete_flow("st", "code", binding="browser", iss="https://as.example")
    tokens = {"access_token": "at", "token_type": "Bearer", "expires_in": 60, "refresh_token": "rt"}
    done, steps = _step_by_hand(flow, store, tokens)

    assert done.session_id == "sid"
    assert done.record.to_json() == store.read("session_sid")
    assert done.record.access_token == "at"
    assert done.record.auth_complete is True
    assert done.record.pending_auth == {}
    assert isinstance(steps[-1], StoreUpdate)  # the write is the last step: nothing is read back
    request = next(step.request for step in steps if isinstance(step, Fetch))
    assert isinstance(request, OutboundRequest)
    assert request.data is not None
    assert request.data["code_verifier"] == "verifier"


# -- McpClient keeps the store it was given -----------------------------------------------------


class RecordingAsyncStore(AsyncStore):
    """An AsyncStore that notes its reads (a stand-in for one configured with its own limiter)."""

    def __init__(self, store: MemoryStore, limiter: anyio.CapacityLimiter) -> None:
        super().__init__(store, limiter=limiter)
        self.limiter = limiter
        self.reads: list[str] = []

    async def read(self, key: str) -> Any:
        self.reads.append(key)
        return await super().read(key)


@pytest.mark.anyio
async def test_mcp_client_keeps_the_callers_async_store_and_its_limiter() -> None:
    memory = MemoryStore()
    memory.write("session_sid", {**TS_RECORD, "authComplete": False})
    astore = RecordingAsyncStore(memory, anyio.CapacityLimiter(1))

    client = await aget_client_by_session_id(session_id="sid", store=astore, url_guard=GUARD)
    assert client.store is astore
    assert astore.reads == ["session_sid"]
    with pytest.raises(AuthorizationRequired):
        async with client.connect():
            pass  # pragma: no cover - connect refuses an unauthorized session after reading it
    assert astore.reads == ["session_sid", "session_sid"]  # connect() read through the caller's store

    direct = McpClient("sid", astore)
    with pytest.raises(AuthorizationRequired):
        async with direct.connect():
            pass  # pragma: no cover
    assert len(astore.reads) == 3

    synchronous = get_client_by_session_id(session_id="sid", store=astore, url_guard=GUARD)
    assert synchronous.store is astore  # sync callers use the underlying store, the object is kept
    assert len(astore.reads) == 3


# -- one set of typed parameters for both forms ---------------------------------------------------


def test_unknown_or_missing_parameters_are_refused_as_a_signature_would() -> None:
    from mcp_tools.client import create_dynamically_registered_mcp_client
    from mcp_tools.client.views import ConnectSettings

    common: dict[str, Any] = {
        "mcp_endpoint": "https://mcp.example/mcp",
        "oauth_redirect_url": "https://app.example/cb",
        "mcp_client_name": "app",
        "mcp_client_version": "1.0",
        "store": MemoryStore(),
    }
    with pytest.raises(TypeError, match="unexpected keyword argument 'client_id'"):
        create_dynamically_registered_mcp_client(**common, client_id="x")
    with pytest.raises(TypeError, match="missing required keyword argument 'store'"):
        create_dynamically_registered_mcp_client(**{k: v for k, v in common.items() if k != "store"})
    with pytest.raises(TypeError, match="unexpected keyword argument 'scopes'"):
        ConnectSettings.of({"secret": "s" * 16, "scopes": "read"})  # type: ignore[typeddict-unknown-key]
    settings = ConnectSettings.of(
        {
            "secret": "s" * 16,
            "oauth_redirect_url": "https://app.example/cb",
            "mcp_client_name": "app",
            "mcp_client_version": "1.0",
            "oauth_scopes": "read",
            "cookie_name": "c",
        }
    )
    assert settings.cookie_name == "c"
    assert settings.client_options == {"oauth_scopes": "read"}
