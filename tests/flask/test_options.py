"""Every option of :class:`~mcp_tools.options.McpOptions` is settable through ``app.config``
(written as Flask users write it) and through ``create_mcp_blueprint``, and takes effect; the
docs' settings table lists every option under its ``app.config`` key."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import pytest
from flask import Flask

from mcp_tools.errors import ConfigurationError
from mcp_tools.options import McpOptions, flat_fields
from mcp_tools.server.wsgi import WsgiMcpDispatcher
from mcp_tools_flask import FLASK_DEFAULTS, McpTools, config_key, create_mcp_blueprint
from tests.contract.options import RESOURCE, SERVER, VERIFIER, assert_took_effect, sample_values

DOCS = Path(__file__).resolve().parents[2] / "docs" / "flask.md"
SAMPLES = "tests.contract.options"


def as_app_config(values: dict[str, Any]) -> dict[str, Any]:
    """``values`` (by flat name) as ``app.config`` entries: objects as import strings, lists of
    scopes and issuers as space-separated strings, everything else as is."""
    written = {
        "server": f"{SAMPLES}:SERVER",
        "verifier": f"{SAMPLES}:VERIFIER",
        "tool_scopes": f"{SAMPLES}:TOOL_SCOPES",
        "event_store": f"{SAMPLES}:EVENT_STORE",
        "authorization_server_metadata": f"{SAMPLES}:AS_METADATA",
        "authorization_servers": " ".join(values["authorization_servers"]),
        "scopes": " ".join(values["scopes"]),
        "scopes_supported": " ".join(values["scopes_supported"]),
    }
    return {config_key(name): written.get(name, value) for name, value in values.items()}


def test_every_option_set_through_app_config_takes_effect() -> None:
    values = sample_values()
    config = as_app_config(values)
    assert set(config) == {config_key(name) for name in flat_fields()}  # every option, no other
    app = Flask(__name__)
    app.config.update(config, MCP_TOOLS_BLUEPRINT_NAME="sampled")
    extension = McpTools(app)
    try:
        state = extension.state(app)
        assert_took_effect(state.resource_server, values)
        # ... and in what the blueprint serves with:
        assert app.blueprints["sampled"] is state.blueprint
        bridge = state.blueprint.view.wsgi_endpoint
        assert bridge.bridge.response_timeout == values["wsgi_response_timeout"]
        assert bridge.bridge.startup_timeout == values["wsgi_startup_timeout"]
        assert bridge.inline is values["wsgi_inline"]
        assert not isinstance(app.wsgi_app, WsgiMcpDispatcher)  # wsgi_dispatch=False: a Flask view
        assert {r.rule for r in app.url_map.iter_rules()} >= {
            "/api/mcp",
            "/.well-known/oauth-protected-resource/api/mcp",
            "/.well-known/oauth-authorization-server",
        }
    finally:
        extension.shutdown()


def test_arguments_override_app_config_and_options_objects_are_accepted() -> None:
    app = Flask(__name__)
    app.config.update(as_app_config(sample_values()))
    extension = McpTools(app, resource_name="From argument", max_sessions=3)
    try:
        options = extension.state(app).options
        assert (options.resource_name, options.transport.max_sessions) == ("From argument", 3)
    finally:
        extension.shutdown()
    base = McpOptions(
        server=SERVER, verifier=VERIFIER, resource_url=RESOURCE, authorization_servers=["https://a"]
    )
    blueprint = create_mcp_blueprint(base, name="other", scopes="mcp:read", wsgi_dispatch=False)
    assert blueprint.name == "other"
    assert blueprint.resource_server.options.scopes == ["mcp:read"]
    assert blueprint.resource_server.options.wsgi.dispatch is False


def test_errors_name_the_app_config_key() -> None:
    app = Flask(__name__)
    app.config.update(as_app_config(sample_values()), MCP_TOOLS_SERVER="no.such.module:server")
    with pytest.raises(ConfigurationError, match=r"app.config\['MCP_TOOLS_SERVER'\] is invalid"):
        McpTools(app)
    with pytest.raises(TypeError, match="mcp_pth"):
        McpTools(mcp_pth="/mcp")


def settings_table() -> str:
    """The docs' settings table, generated from the options' fields (and the Flask-only keys)."""
    required = {
        f.name
        for f in dataclasses.fields(McpOptions)
        if f.default is f.default_factory is dataclasses.MISSING
    }
    rows = ["| `app.config` key | default | what |", "|---|---|---|"]
    for field in flat_fields().values():
        default = (
            "required" if field.name in required else "" if field.default is None else f"`{field.default!r}`"
        )
        rows.append(f"| `{config_key(field.name)}` | {default} | {field.doc} |")
    blueprint_name = FLASK_DEFAULTS["blueprint_name"]
    rows.append(
        f"| `MCP_TOOLS_BLUEPRINT_NAME` | `{blueprint_name!r}` | The blueprint's name (unique per app). |"
    )
    return "\n".join(rows) + "\n"


def test_docs_settings_table_lists_every_option() -> None:
    table = settings_table()
    assert table in DOCS.read_text(), f"docs/flask.md should hold this table:\n{table}"


def test_errors_name_the_argument_when_one_was_given() -> None:
    app = Flask(__name__)
    app.config.update(as_app_config(sample_values()))
    with pytest.raises(ConfigurationError, match=r"McpTools\(tool_scopes=...\) is invalid"):
        McpTools(app, tool_scopes="tests.contract.options:RESOURCE")
