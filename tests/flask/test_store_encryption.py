"""``mcp_tools_flask.load_store`` encrypts with keys derived from ``SECRET_KEY`` (issue 22, item 8).

``SECRET_KEY_FALLBACKS`` (Flask 3.1) rotates the store's key as it rotates the session's;
entries written in clear before still read; without a secret key a warning is logged.
"""

from __future__ import annotations

import logging
from pathlib import Path

import pytest
from flask import Flask

from mcp_tools.stores import StoreDecryptionError, store_from_url
from mcp_tools_flask import load_store

SECRETS = {"accessToken": "at-SECRET-1", "refreshToken": "rt-SECRET-2", "clientSecret": "cs-SECRET-3"}


def raw_bytes(directory: Path) -> bytes:
    return b"".join(path.read_bytes() for path in sorted(directory.rglob("*")) if path.is_file())


def app_with(**config: object) -> Flask:
    app = Flask(__name__)
    app.config.update(config)
    return app


def test_tokens_are_not_stored_in_clear_and_a_rotated_secret_still_decrypts(tmp_path: Path) -> None:
    url = f"file://{tmp_path}/store.json"
    load_store(app_with(SECRET_KEY="flask-secret-one"), url).write("session_a", SECRETS)
    on_disk = raw_bytes(tmp_path)
    for value in SECRETS.values():
        assert value.encode() not in on_disk
    rotated = app_with(SECRET_KEY="flask-secret-two", SECRET_KEY_FALLBACKS=["flask-secret-one"])
    assert load_store(rotated, url).read("session_a") == SECRETS
    with pytest.raises(StoreDecryptionError):
        load_store(app_with(SECRET_KEY="flask-secret-two"), url).read("session_a")


def test_entries_written_in_clear_before_still_read(tmp_path: Path) -> None:
    url = f"file://{tmp_path}/store.json"
    store_from_url(url, encryption_keys=[]).write("session_old", SECRETS)
    store = load_store(app_with(SECRET_KEY="flask-secret"), url)
    assert store.read("session_old") == SECRETS
    store.write("session_old", SECRETS)
    assert b"at-SECRET-1" not in raw_bytes(tmp_path)


def test_without_a_secret_key_a_warning_is_logged(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING, logger="mcp_tools.stores"):
        store = load_store(app_with(), f"file://{tmp_path}/store.json")
    assert any("in clear" in record.getMessage() for record in caplog.records)
    store.write("session_a", SECRETS)
    assert b"at-SECRET-1" in raw_bytes(tmp_path)  # what the warning is about
