"""Fixtures: dev authorization servers on 127.0.0.1 (one interactive, one auto-approving)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from mcp_tools.devserver import RunningServer, serve

SCOPES = ["notes:read", "notes:write"]


@pytest.fixture(scope="package")
def interactive() -> Iterator[RunningServer]:
    with serve(scopes=SCOPES) as running:
        yield running


@pytest.fixture(scope="package")
def auto() -> Iterator[RunningServer]:
    with serve(scopes=SCOPES, auto_approve=True, default_user="robot") as running:
        yield running


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"
