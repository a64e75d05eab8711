"""The demo connector's connect form is a ``POST`` with a signed double-submit token (issue 22, item 7).

The connector app runs in-process (Starlette's test client on the connector's own origin); its MCP
server is a closed port on 127.0.0.1, so an accepted connect ends at "cannot connect" (``502``),
while a refused one is ``403`` and writes nothing. The full journey (consent, callback, tool calls)
through the form is ``test_demo_cli``'s headless run and ``test_browser``.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from mcp_tools.client import BINDING_COOKIE, UrlGuard
from mcp_tools.stores import MemoryStore
from mcp_tools_demo.connector import ConnectorConfig, create_connector_app
from tests.support.servers import free_port

BASE = "http://127.0.0.1:8765"


@pytest.fixture
def connector() -> Iterator[tuple[TestClient, MemoryStore, str]]:
    store = MemoryStore()
    closed = f"http://127.0.0.1:{free_port()}/mcp"  # nothing listens there
    config = ConnectorConfig(
        url=BASE,
        store=store,
        secret="connector-csrf-test-secret",
        servers=[("closed", closed)],
        authorization_server="http://127.0.0.1:1",
        store_description="memory",
        url_guard=UrlGuard(allow_loopback=True, timeout=5),
    )
    with TestClient(create_connector_app(config), base_url=BASE) as client:
        yield client, store, closed


def token_of(client: TestClient) -> str:
    page = client.get("/")
    assert page.status_code == 200
    found = re.search(
        r'<form method="post" action="/connect"><input type="hidden" name="csrf_token" value="([^"]+)"',
        page.text,
    )
    assert found, page.text
    return found.group(1)


def test_a_get_on_connect_starts_nothing(connector: tuple[TestClient, MemoryStore, str]) -> None:
    client, store, closed = connector
    got = client.get("/connect", params={"url": closed, "server": "closed"}, follow_redirects=False)
    assert got.status_code == 405
    assert BINDING_COOKIE not in client.cookies
    assert store.keys() == []


def test_a_cross_site_post_without_the_token_is_refused(
    connector: tuple[TestClient, MemoryStore, str],
) -> None:
    client, store, _closed = connector
    token_of(client)  # the user has the page open: the nonce cookie is set
    evil = client.post(
        "/connect",
        data={"server": "closed"},
        headers={"Origin": "https://evil.example"},
        follow_redirects=False,
    )
    assert evil.status_code == 403
    no_token = client.post("/connect", data={"server": "closed"}, follow_redirects=False)
    assert no_token.status_code == 403
    with TestClient(client.app, base_url=BASE) as attacker:  # a token valid for another browser only
        borrowed = client.post("/connect", data={"server": "closed", "csrf_token": token_of(attacker)})
    assert borrowed.status_code == 403
    assert store.keys() == []


def test_the_page_form_with_its_token_connects(connector: tuple[TestClient, MemoryStore, str]) -> None:
    client, _store, _closed = connector
    token = token_of(client)
    answer = client.post(
        "/connect",
        data={"server": "closed", "csrf_token": token},
        headers={"Origin": BASE},
        follow_redirects=False,
    )
    assert answer.status_code == 502  # past the CSRF check: the (closed) MCP server was tried
    assert "Cannot connect" in answer.text
