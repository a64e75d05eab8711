"""Helpers for the parity tests against the TypeScript package.

* :func:`load_vectors` reads ``ts-vectors.json`` (records ``{fn, input, output, note}``
  produced by running ``@clerk/mcp-tools`` 0.6.0). The file is looked up at
  ``$MCP_TOOLS_TS_VECTORS`` if set, otherwise at ``<repo>/../shared/reference/ts-vectors.json``.
* :func:`from_js` turns the file's JS markers into Python values (``undefined`` -> ``OMIT``).
* :class:`FakeHTTPServer` is a local HTTP server on 127.0.0.1 (standard library, one thread)
  that answers fixed responses, standing in for Clerk's Frontend API.
"""

from __future__ import annotations

import json
import os
import threading
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from mcp_tools.server.metadata import OMIT

REPO_ROOT = Path(__file__).resolve().parents[2]
ENV_VAR = "MCP_TOOLS_TS_VECTORS"


def vectors_path() -> Path:
    override = os.environ.get(ENV_VAR)
    if override:
        return Path(override)
    return REPO_ROOT.parent / "shared" / "reference" / "ts-vectors.json"


def load_vectors(fns: Iterable[str]) -> list[dict[str, Any]]:
    """Every vector whose ``fn`` is in ``fns``, in file order.

    Skips the calling test module when the default file is absent; fails when
    ``$MCP_TOOLS_TS_VECTORS`` names a file that does not exist.
    """
    path = vectors_path()
    if not path.exists():
        if os.environ.get(ENV_VAR):
            raise FileNotFoundError(f"{ENV_VAR} points to {path}, which does not exist")
        pytest.skip(f"TypeScript vectors not found at {path}", allow_module_level=True)
    wanted = set(fns)
    records: list[dict[str, Any]] = json.loads(path.read_text(encoding="utf-8"))
    return [r for r in records if r.get("fn") in wanted]


def from_js(value: Any) -> Any:
    """Replace ``{"__undefined__": true}`` by :data:`OMIT`, recursively."""
    if isinstance(value, dict):
        if value == {"__undefined__": True}:
            return OMIT
        return {k: from_js(v) for k, v in value.items()}
    if isinstance(value, list):
        return [from_js(v) for v in value]
    return value


def canonical(value: Any) -> str:
    """Compact JSON that keeps key order, as ``JSON.stringify`` writes it."""
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


@dataclass
class Reply:
    status: int
    body: bytes
    content_type: str = "application/json"


@dataclass
class FakeHTTPServer:
    """Answers ``GET <path>`` with the :class:`Reply` registered for it (404 otherwise)."""

    replies: dict[str, Reply] = field(default_factory=dict)
    requests: list[tuple[str, str, dict[str, str]]] = field(default_factory=list)
    base_url: str = ""

    def reply(
        self, path: str, status: int, body: str | bytes, content_type: str = "application/json"
    ) -> None:
        data = body.encode("utf-8") if isinstance(body, str) else body
        self.replies[path] = Reply(status, data, content_type)

    @property
    def paths(self) -> list[str]:
        return [path for _, path, _ in self.requests]


@contextmanager
def fake_http_server() -> Iterator[FakeHTTPServer]:
    state = FakeHTTPServer()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            state.requests.append(("GET", self.path, {k.lower(): v for k, v in self.headers.items()}))
            reply = state.replies.get(self.path, Reply(404, b'{"error":"not found"}'))
            self.send_response(reply.status)
            self.send_header("Content-Type", reply.content_type)
            self.send_header("Content-Length", str(len(reply.body)))
            self.end_headers()
            self.wfile.write(reply.body)

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    state.base_url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True)
    thread.start()
    try:
        yield state
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
