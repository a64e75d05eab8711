"""The store of ``MCP_TOOLS['STORE']`` is encrypted with keys derived from ``SECRET_KEY`` (issue 22, item 8).

Rotation is Django's: the old secret moves to ``SECRET_KEY_FALLBACKS`` and still decrypts;
entries written in clear before still read; opting out (``encryption_keys=[]``) is a system
check warning outside ``DEBUG``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from django.core import checks
from django.test import override_settings

from mcp_tools.stores import StoreDecryptionError, store_from_url
from mcp_tools_django.loaders import load_store
from tests.django.conftest import BASE_MCP_TOOLS

SECRETS = {"accessToken": "at-SECRET-1", "refreshToken": "rt-SECRET-2", "clientSecret": "cs-SECRET-3"}


def raw_bytes(directory: Path) -> bytes:
    return b"".join(path.read_bytes() for path in sorted(directory.rglob("*")) if path.is_file())


def mcp_tools(url: str, **store_options: Any) -> dict[str, Any]:
    return {**BASE_MCP_TOOLS, "STORE": url, "STORE_OPTIONS": store_options}


def test_tokens_are_not_stored_in_clear_and_a_rotated_secret_still_decrypts(tmp_path: Path) -> None:
    url = f"file://{tmp_path}/store.json"
    with override_settings(MCP_TOOLS=mcp_tools(url), SECRET_KEY="django-secret-one-" + "x" * 40):
        load_store().write("session_a", SECRETS)
    on_disk = raw_bytes(tmp_path)
    for value in SECRETS.values():
        assert value.encode() not in on_disk
    rotated = {
        "SECRET_KEY": "django-secret-two-" + "y" * 40,
        "SECRET_KEY_FALLBACKS": ["django-secret-one-" + "x" * 40],
    }
    with override_settings(MCP_TOOLS=mcp_tools(url), **rotated):
        assert load_store().read("session_a") == SECRETS
    dropped = override_settings(MCP_TOOLS=mcp_tools(url), SECRET_KEY="django-secret-two-" + "y" * 40)
    with dropped, pytest.raises(StoreDecryptionError):
        load_store().read("session_a")  # the old secret dropped: refused, never a silent None


def test_entries_written_in_clear_before_still_read(tmp_path: Path) -> None:
    url = f"file://{tmp_path}/store.json"
    store_from_url(url, encryption_keys=[]).write("session_old", SECRETS)
    with override_settings(MCP_TOOLS=mcp_tools(url)):
        store = load_store()
        assert store.read("session_old") == SECRETS
        store.write("session_old", SECRETS)  # rewritten: encrypted now
    assert b"at-SECRET-1" not in raw_bytes(tmp_path)


def test_explicit_keys_win_and_opting_out_is_a_check_warning(tmp_path: Path) -> None:
    url = f"file://{tmp_path}/store.json"
    with override_settings(MCP_TOOLS=mcp_tools(url, encryption_keys=[])):
        load_store().write("session_a", SECRETS)
        assert "mcp_tools.W003" in [m.id for m in checks.run_checks(tags=["mcp_tools"])]
    assert b"at-SECRET-1" in raw_bytes(tmp_path)
    with override_settings(MCP_TOOLS=mcp_tools(url)):
        assert "mcp_tools.W003" not in [m.id for m in checks.run_checks(tags=["mcp_tools"])]
    with override_settings(MCP_TOOLS=mcp_tools(url, encryption_keys=[]), DEBUG=True):
        assert "mcp_tools.W003" not in [m.id for m in checks.run_checks(tags=["mcp_tools"])]
