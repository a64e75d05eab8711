"""The adapter contract, served by the Flask blueprint through the WSGI bridge."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from flask import Flask
from flask.testing import FlaskClient

from mcp_tools_flask import McpBlueprint, create_mcp_blueprint
from tests.contract.spec import ORIGIN, ContractSettings
from tests.contract.suite import AdapterContract, HttpResult


def build_app(settings: ContractSettings) -> tuple[Flask, McpBlueprint]:
    app = Flask(__name__)
    blueprint = create_mcp_blueprint(
        settings.server,
        verifier=settings.verifier,
        resource_url=settings.resource_url,
        authorization_servers=settings.authorization_servers,
        scopes=settings.scopes,
        tool_scopes=settings.tool_scopes,
        authorization_server_metadata=settings.authorization_server_metadata,
    )
    app.register_blueprint(blueprint)
    return app, blueprint


class FlaskContractClient:
    def __init__(self, client: FlaskClient) -> None:
        self._client = client

    def request(
        self, method: str, path: str, *, headers: dict[str, str] | None = None, body: bytes | None = None
    ) -> HttpResult:
        response = self._client.open(
            path, method=method, headers=list((headers or {}).items()), data=body, base_url=ORIGIN
        )
        return HttpResult(
            status=response.status_code,
            headers={k.lower(): v for k, v in response.headers.items()},
            body=response.get_data(),
        )


@pytest.fixture(scope="module")
def contract_app() -> Iterator[Flask]:
    # One app (and one bridge thread) for the whole suite; it is shut down at the end.
    app, blueprint = build_app(ContractSettings())
    yield app
    blueprint.shutdown()


class TestFlaskContract(AdapterContract):
    @pytest.fixture
    def client(self, contract_app: Flask) -> FlaskContractClient:
        return FlaskContractClient(contract_app.test_client())
