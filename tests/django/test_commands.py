"""Management commands: mcp_tools_metadata and mcp_tools_cleanup."""

from __future__ import annotations

import io
import json
import pathlib
import time

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.test import override_settings

from mcp_tools.stores.url import store_from_url
from tests.contract.spec import BASE_SCOPE, ISSUER, RESOURCE, WRITE_SCOPE
from tests.django.conftest import BASE_MCP_TOOLS


def run(*args: str) -> str:
    out = io.StringIO()
    call_command(*args, stdout=out)
    return out.getvalue()


def test_metadata_command_prints_both_documents() -> None:
    documents = json.loads(run("mcp_tools_metadata"))
    prm_url = "https://api.example.com/.well-known/oauth-protected-resource/mcp"
    as_url = "https://api.example.com/.well-known/oauth-authorization-server"
    assert set(documents) == {prm_url, as_url}
    assert documents[prm_url] == {
        "resource": RESOURCE,
        "authorization_servers": [ISSUER],
        "scopes_supported": [BASE_SCOPE, WRITE_SCOPE],
        "bearer_methods_supported": ["header"],
    }
    assert documents[as_url]["issuer"] == ISSUER


def test_metadata_command_reports_bad_settings() -> None:
    broken = {**BASE_MCP_TOOLS, "AUTHORIZATION_SERVERS": []}
    with override_settings(MCP_TOOLS=broken), pytest.raises(CommandError, match="AUTHORIZATION_SERVERS"):
        run("mcp_tools_metadata")


@pytest.fixture
def store_url(tmp_path: pathlib.Path) -> str:
    url = f"sqlite:///{tmp_path / 'store.db'}"
    with store_from_url(url, allow_plaintext=True) as store:
        store.write("state_expired", {"v": 1}, ttl=0.05)
        store.write("session_live", {"v": 2})
    time.sleep(0.1)
    return url


def test_cleanup_command_removes_expired_entries(store_url: str) -> None:
    settings = {**BASE_MCP_TOOLS, "STORE": store_url, "STORE_OPTIONS": {"allow_plaintext": True}}
    with override_settings(MCP_TOOLS=settings):
        assert run("mcp_tools_cleanup").strip() == "removed 1 entry"
        with store_from_url(store_url, allow_plaintext=True) as store:
            assert store.keys() == ["session_live"]
        assert run("mcp_tools_cleanup", "--older-than", "0").strip() == "removed 1 entry"
        with store_from_url(store_url, allow_plaintext=True) as store:
            assert store.keys() == []


def test_cleanup_command_store_option_and_errors(store_url: str) -> None:
    with pytest.raises(CommandError, match="STORE"):
        run("mcp_tools_cleanup")  # no STORE configured
    with pytest.raises(CommandError, match="unsupported store URL scheme"):
        run("mcp_tools_cleanup", "--store", "ftp://example.com/x")
    with pytest.raises(CommandError, match="zero or more"):
        run("mcp_tools_cleanup", "--older-than", "-1")
