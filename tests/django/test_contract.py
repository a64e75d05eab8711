"""The adapter contract, served by Django under WSGI (the URLconf's view, and the WSGI wrapper
that routes the MCP path ahead of Django) and under ASGI (the wrapper)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import ClassVar

import pytest
from starlette.testclient import TestClient

from mcp_tools_django import runtime
from mcp_tools_django.asgi import get_asgi_application
from mcp_tools_django.wsgi import get_wsgi_application
from tests.contract.spec import ORIGIN
from tests.contract.suite import MCP_PATH, REFUSALS, AdapterContract
from tests.django.clients import AsgiContractClient, DjangoWsgiContractClient, WsgiAppContractClient


class TestDjangoWsgiContract(AdapterContract):
    framework_refusals: ClassVar[dict[str, str]] = {
        "host-421": "Django's CommonMiddleware answers a foreign Host with its own 400"
    }

    @pytest.fixture
    def client(self) -> DjangoWsgiContractClient:
        return DjangoWsgiContractClient()

    def test_foreign_host_is_djangos_own_400_on_the_view_path(self, client: DjangoWsgiContractClient) -> None:
        method, headers, body, _status, _expected = REFUSALS["host-421"]()
        assert client.request(method, MCP_PATH, headers=headers, body=body).status == 400


class TestDjangoWsgiWrapperContract(AdapterContract):
    @pytest.fixture
    def client(self) -> WsgiAppContractClient:
        return WsgiAppContractClient(get_wsgi_application())


@pytest.fixture(scope="module")
def asgi_client() -> Iterator[TestClient]:
    runtime.reload()  # a fresh endpoint: the WSGI bridge may be running the previous one
    with TestClient(get_asgi_application(), base_url=ORIGIN) as client:
        yield client


class TestDjangoAsgiContract(AdapterContract):
    @pytest.fixture
    def client(self, asgi_client: TestClient) -> AsgiContractClient:
        return AsgiContractClient(asgi_client)
