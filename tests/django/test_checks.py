"""``manage.py check``: each misconfiguration is reported with its stable id."""

from __future__ import annotations

import os
import pathlib
import subprocess
import sys
from typing import Any

import pytest
from django.core import checks
from django.core.management import call_command
from django.core.management.base import SystemCheckError
from django.test import override_settings

from tests.django.conftest import BASE_MCP_TOOLS

ROOT = pathlib.Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "examples" / "django"


def ids(**changes: Any) -> list[str]:
    merged = {**BASE_MCP_TOOLS, **changes}
    config = {k: v for k, v in merged.items() if v is not None}
    with override_settings(MCP_TOOLS=config):
        return sorted(m.id for m in checks.run_checks(tags=["mcp_tools"]))


def test_valid_configuration_has_no_messages() -> None:
    assert ids() == []


@pytest.mark.parametrize(
    ("changes", "expected"),
    [
        ({"RESOURCE_URL": None}, "mcp_tools.E001"),
        ({"RESOURCE_URL": "https://api.example.com/mcp?tenant=a"}, "mcp_tools.E002"),
        ({"RESOURCE_URL": "/mcp"}, "mcp_tools.E002"),
        ({"AUTHORIZATION_SERVERS": []}, "mcp_tools.E004"),
        ({"AUTHORIZATION_SERVERS": None}, "mcp_tools.E004"),
        ({"AUTHORIZATION_SERVERS": ""}, "mcp_tools.E004"),  # a string is a space-separated list
        ({"SERVER": None}, "mcp_tools.E005"),
        ({"SERVER": "tests.django.no_such_module:server"}, "mcp_tools.E005"),
        ({"SERVER": "tests.django.project:verifier"}, "mcp_tools.E005"),
        ({"VERIFIER": None}, "mcp_tools.E006"),
        ({"VERIFIER": "tests.django.project:no_such_verifier"}, "mcp_tools.E006"),
        ({"VERIFIER": {"CLASS": "mcp_tools.server.verifiers.jwt.JWTVerifier"}}, "mcp_tools.E006"),
        ({"STORE": "ftp://example.com/store"}, "mcp_tools.E007"),
        ({"STORE": "tests.django.project:no_such_store"}, "mcp_tools.E007"),
        ({"TOOL_SCOPES": "tests.django.project:no_such_scopes"}, "mcp_tools.E010"),
        ({"AUTHORIZATION_SERVER_METADATA": "tests.django.project:nothing"}, "mcp_tools.E010"),
        ({"SCOPE": ["typo"]}, "mcp_tools.W002"),
    ],
    ids=lambda v: v if isinstance(v, str) else ",".join(v),
)
def test_each_misconfiguration_has_its_id(changes: dict[str, Any], expected: str) -> None:
    assert ids(**changes) == [expected]


def test_http_resource_url_is_an_error_outside_debug_only() -> None:
    local = "http://127.0.0.1:8000/mcp"
    with override_settings(ALLOWED_HOSTS=["127.0.0.1"]):
        assert ids(RESOURCE_URL=local) == ["mcp_tools.E003"]
        with override_settings(DEBUG=True):
            assert ids(RESOURCE_URL=local) == []


def test_missing_resource_url_under_debug_is_a_warning() -> None:
    with override_settings(DEBUG=True, ALLOWED_HOSTS=[]):
        assert ids(RESOURCE_URL=None) == ["mcp_tools.W001"]


def test_allowed_hosts_must_cover_the_resource_host() -> None:
    with override_settings(ALLOWED_HOSTS=["other.example.com"]):
        assert ids() == ["mcp_tools.E008"]
    with override_settings(ALLOWED_HOSTS=[".example.com"]):
        assert ids() == []
    with override_settings(ALLOWED_HOSTS=["*"]):
        assert ids() == []


def test_mcp_tools_must_be_a_dict() -> None:
    with override_settings(MCP_TOOLS=["not", "a", "dict"]):
        assert [m.id for m in checks.run_checks(tags=["mcp_tools"])] == ["mcp_tools.E009"]


def test_call_command_check_fails_with_the_ids() -> None:
    broken = {**BASE_MCP_TOOLS, "AUTHORIZATION_SERVERS": []}
    with override_settings(MCP_TOOLS=broken), pytest.raises(SystemCheckError, match=r"mcp_tools\.E004"):
        call_command("check")


def manage(*args: str, **env: str) -> subprocess.CompletedProcess[str]:
    environment = {k: v for k, v in os.environ.items() if not k.startswith(("MCP_", "DJANGO_"))}
    environment.update(env)
    return subprocess.run(  # bounded: killed after the timeout
        [sys.executable, "manage.py", *args],
        cwd=EXAMPLE,
        env=environment,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_manage_py_check_on_the_example() -> None:
    clean = manage("check")
    assert clean.returncode == 0, clean.stderr
    assert "no issues" in clean.stdout
    broken = manage("check", DJANGO_DEBUG="0", MCP_RESOURCE_URL="http://127.0.0.1:8000/mcp?x=1")
    assert broken.returncode != 0
    assert "(mcp_tools.E002)" in broken.stderr
    production = manage("check", DJANGO_DEBUG="0")
    assert production.returncode != 0
    assert "(mcp_tools.E003)" in production.stderr
