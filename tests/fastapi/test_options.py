"""Every option of :class:`~mcp_tools.options.McpOptions` through FastAPI's native configuration:
``create_mcp_router`` keywords (objects, or import strings and space-separated lists as a
settings file would give them) and an ``McpOptions`` with keyword overrides."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from mcp_tools.errors import ConfigurationError
from mcp_tools.options import McpOptions, flat_fields
from mcp_tools.server.scopes import ToolScopes
from mcp_tools_fastapi import create_mcp_router, streamable_http_handler
from tests.contract.options import assert_took_effect, sample_values
from tests.contract.spec import ISSUER, ORIGIN, RESOURCE, make_server, make_verifier, mint
from tests.contract.suite import mcp_headers, rpc

DOCS = Path(__file__).parents[2] / "docs" / "fastapi.md"
SAMPLES = "tests.contract.options"


def test_every_option_as_keywords() -> None:
    values = sample_values()
    keywords = dict(values)
    server = keywords.pop("server")
    assert_took_effect(create_mcp_router(server, **keywords).resource_server, values)


def test_every_option_as_import_strings_and_space_separated_lists() -> None:
    values = sample_values()
    keywords = {
        **values,
        "verifier": f"{SAMPLES}:VERIFIER",
        "tool_scopes": f"{SAMPLES}:TOOL_SCOPES",
        "event_store": f"{SAMPLES}:EVENT_STORE",
        "authorization_servers": ISSUER,
        "scopes": "mcp:read",
        "scopes_supported": "mcp:read notes:write extra",
    }
    del keywords["server"]
    assert_took_effect(create_mcp_router(f"{SAMPLES}:SERVER", **keywords).resource_server, values)


def test_every_option_as_an_options_object_with_overrides() -> None:
    values = sample_values()
    assert_took_effect(create_mcp_router(McpOptions.from_values(values)).resource_server, values)
    base = McpOptions(
        server=values["server"], verifier=make_verifier(), resource_url=RESOURCE, authorization_servers=["x"]
    )
    overrides = {name: value for name, value in values.items() if name != "server"}
    assert_took_effect(create_mcp_router(base, **overrides).resource_server, values)


def test_streamable_http_handler_takes_the_same_options() -> None:
    options = McpOptions(
        server=make_server(ToolScopes()),
        verifier=make_verifier(),
        resource_url=RESOURCE,
        authorization_servers=[ISSUER],
    )
    endpoint = streamable_http_handler(options, max_request_body_size=1000, retry_interval=250)
    assert (endpoint.max_request_body_size, endpoint.transport.retry_interval) == (1000, 250)


def test_unknown_keywords_are_refused() -> None:
    with pytest.raises(ConfigurationError, match="stateles="):
        create_mcp_router(
            make_server(ToolScopes()),
            verifier=make_verifier(),
            resource_url=RESOURCE,
            authorization_servers=[ISSUER],
            stateles=False,
        )


def router(**overrides: Any) -> Any:
    return create_mcp_router(
        make_server(ToolScopes()),
        verifier=make_verifier(),
        resource_url=RESOURCE,
        authorization_servers=[ISSUER],
        **overrides,
    )


def test_body_limit_is_settable() -> None:
    app = FastAPI()
    app.include_router(router(max_request_body_size=2000))
    with TestClient(app, base_url=ORIGIN) as client:
        small = client.post("/mcp", headers=mcp_headers(mint()), content=rpc("tools/list"))
        assert small.status_code == 200
        padded = rpc("tools/list", {"pad": "x" * 3000})
        large = client.post("/mcp", headers=mcp_headers(mint()), content=padded)
        assert large.status_code == 413


def test_a_prefix_is_refused_at_start_up() -> None:
    app = FastAPI()
    app.include_router(router(), prefix="/api")
    with pytest.raises(ConfigurationError, match="without a prefix"), TestClient(app, base_url=ORIGIN):
        pass


def settings_table() -> str:
    """The docs' settings table, generated from the options' fields."""
    required = {
        f.name
        for f in dataclasses.fields(McpOptions)
        if f.default is f.default_factory is dataclasses.MISSING
    }
    rows = ["| keyword | default | what |", "|---|---|---|"]
    for field in flat_fields().values():
        if field.name in required:
            default = "required"
        else:
            default = "" if field.default is None else f"`{field.default!r}`"
        rows.append(f"| `{field.name}` | {default} | {field.doc} |")
    return "\n".join(rows) + "\n"


def test_docs_settings_table_lists_every_option() -> None:
    table = settings_table()
    assert table in DOCS.read_text(), f"docs/fastapi.md should hold this table:\n{table}"
