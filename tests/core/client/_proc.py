"""A separate process of the "web app": finish a callback or call a tool from a shared store.

Run as ``python -m tests.core.client._proc '<json>'``; prints one JSON line. It uses the
synchronous API, as a Django or Flask worker would.
"""

from __future__ import annotations

import json
import sys
import time
from typing import Any

from mcp_tools.client import McpClientError, UrlGuard, complete_auth_with_code, get_client_by_session_id
from mcp_tools.stores import BaseStore, create_postgres_store, create_redis_store


def open_store(kind: str, url: str, namespace: str) -> BaseStore:
    """The shared store (same options as ``conftest.SharedStore.open``)."""
    if kind == "redis":
        return create_redis_store(url, key_prefix=namespace, connect_timeout=2)
    return create_postgres_store(url, table_name=namespace, connect_timeout=3, max_size=4)


def main(raw: str) -> dict[str, Any]:
    job = json.loads(raw)
    store = open_store(job["kind"], job["url"], job["namespace"])
    guard = UrlGuard(allow_loopback=True, timeout=10)
    try:
        if job["command"] == "complete":
            client = complete_auth_with_code(
                state=job["state"],
                code=job["code"],
                iss=job.get("iss"),
                store=store,
                browser_binding=job.get("binding"),
                url_guard=guard,
            )
            return {"session_id": client.session_id}
        client = get_client_by_session_id(session_id=job["session_id"], store=store, url_guard=guard)
        results = []
        for index, call in enumerate(job["calls"]):
            if index and job.get("wait_for_expiry"):  # let the access token expire between calls
                record = store.read(f"session_{client.session_id}")
                time.sleep(max(0.0, float(record["expiresAt"]) - time.time() + 0.3))
            token_before = store.read(f"session_{client.session_id}")["accessToken"]
            result = client.call_tool_sync(call, {})
            token_after = store.read(f"session_{client.session_id}")["accessToken"]
            results.append(
                {
                    "is_error": result.is_error,
                    "structured": result.structured_content,
                    "refreshed": token_after != token_before,
                }
            )
        return {"results": results}
    except McpClientError as exc:
        return {"error_code": exc.code, "message": str(exc)}
    finally:
        store.close()


if __name__ == "__main__":
    print(json.dumps(main(sys.argv[1])))
