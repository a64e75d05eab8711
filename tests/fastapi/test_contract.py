"""The adapter contract, served by the FastAPI router."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from mcp_tools_fastapi import create_mcp_router
from tests.contract.spec import ORIGIN, ContractSettings
from tests.contract.suite import AdapterContract, HttpResult


def build_app(settings: ContractSettings) -> FastAPI:
    app = FastAPI()
    app.include_router(
        create_mcp_router(
            settings.server,
            verifier=settings.verifier,
            resource_url=settings.resource_url,
            authorization_servers=settings.authorization_servers,
            scopes=settings.scopes,
            tool_scopes=settings.tool_scopes,
            authorization_server_metadata=settings.authorization_server_metadata,
        )
    )
    return app


class StarletteContractClient:
    def __init__(self, client: TestClient) -> None:
        self._client = client

    def request(
        self, method: str, path: str, *, headers: dict[str, str] | None = None, body: bytes | None = None
    ) -> HttpResult:
        raw_headers = [(k.encode("latin-1"), v.encode("utf-8")) for k, v in (headers or {}).items()]
        response = self._client.request(method, path, headers=raw_headers, content=body)
        return HttpResult(
            status=response.status_code,
            headers={k.lower(): v for k, v in response.headers.items()},
            body=response.content,
        )


class TestFastAPIContract(AdapterContract):
    @pytest.fixture
    def client(self) -> Iterator[StarletteContractClient]:
        with TestClient(build_app(ContractSettings()), base_url=ORIGIN) as client:
            yield StarletteContractClient(client)
