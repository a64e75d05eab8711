"""verify_clerk_token against every verifyClerkToken vector recorded from @clerk/mcp-tools 0.6.0.

Naming map (TS -> Python): ``clientId`` -> ``client_id``, ``extra.userId`` ->
``extra.user_id``; input keys are accepted in camelCase and snake_case, on mappings and on
objects. ``console.error`` lines become WARNING records on the ``mcp_tools.clerk`` logger.
"""

from __future__ import annotations

import json
import logging
import re
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from mcp_tools.server.verifiers import verify_clerk_token

VECTORS = Path(__file__).resolve().parents[2].parent / "shared" / "reference" / "ts-vectors.json"


def _load() -> list[dict[str, Any]]:
    if not VECTORS.exists():
        return []
    return [v for v in json.loads(VECTORS.read_text()) if v["fn"] == "verifyClerkToken"]


CASES = _load()


def _undefined(value: Any) -> bool:
    return isinstance(value, dict) and value.get("__undefined__") is True


def _snake(name: str) -> str:
    return re.sub(r"(?<!^)([A-Z])", r"_\1", name).lower()


def _expected(output: Any) -> Any:
    if _undefined(output):
        return None
    return {
        "token": output["token"],
        "scopes": output["scopes"],
        "client_id": output["clientId"],
        "extra": {"user_id": output["extra"]["userId"]},
    }


def test_all_eleven_vectors_present() -> None:
    if not VECTORS.exists():
        pytest.skip(f"{VECTORS} not found")
    assert len(CASES) == 11


@pytest.mark.parametrize("style", ["camel-dict", "snake-dict", "snake-object", "camel-object"])
@pytest.mark.parametrize("vector", CASES, ids=[v.get("note", str(i))[:60] for i, v in enumerate(CASES)])
def test_vector(vector: dict[str, Any], style: str, caplog: pytest.LogCaptureFixture) -> None:
    raw_auth: dict[str, Any] = vector["input"]["auth"]
    auth_dict = raw_auth if style.startswith("camel") else {_snake(k): v for k, v in raw_auth.items()}
    auth: Any = SimpleNamespace(**auth_dict) if style.endswith("object") else auth_dict
    token = None if _undefined(vector["input"]["token"]) else vector["input"]["token"]
    output = vector["output"]

    caplog.set_level(logging.DEBUG, logger="mcp_tools.clerk")
    if isinstance(output, dict) and "__error__" in output:
        with pytest.raises(ValueError) as info:
            verify_clerk_token(auth, token)
        assert str(info.value) == output["__error__"]["message"]
    else:
        result = verify_clerk_token(auth, token)
        assert result == _expected(output)
        if result is not None:
            # Byte-level parity of the mapped JSON, key order included.
            ts_json = json.dumps(output, separators=(",", ":"))
            py_json = json.dumps(result, separators=(",", ":"))
            assert py_json.replace("client_id", "clientId").replace("user_id", "userId") == ts_json

    records = [r for r in caplog.records if r.name == "mcp_tools.clerk"]
    assert [r.getMessage() for r in records] == vector.get("console_error", [])
    assert all(r.levelno == logging.WARNING for r in records)
