"""Contract clients for Django: the test client (WSGI handler) and Starlette's TestClient (ASGI)."""

from __future__ import annotations

from django.test import Client
from starlette.testclient import TestClient

from tests.contract.suite import HttpResult


class DjangoWsgiContractClient:
    """Requests through Django's WSGI request handler (``django.test.Client``), over https."""

    def __init__(self, host: str = "api.example.com") -> None:
        self.client = Client(enforce_csrf_checks=True, HTTP_HOST=host)

    def request(
        self, method: str, path: str, *, headers: dict[str, str] | None = None, body: bytes | None = None
    ) -> HttpResult:
        headers = dict(headers or {})
        content_type = next((headers.pop(k) for k in list(headers) if k.lower() == "content-type"), None)
        response = self.client.generic(
            method,
            path,
            data=body or b"",
            content_type=content_type or "application/octet-stream",
            secure=True,
            headers=headers,
        )
        content = b"".join(response.streaming_content) if response.streaming else response.content
        return HttpResult(
            status=response.status_code,
            headers={k.lower(): v for k, v in response.headers.items()},
            body=content,
        )


class AsgiContractClient:
    """Requests through the ASGI wrapper with Starlette's TestClient (lifespan included)."""

    def __init__(self, client: TestClient) -> None:
        self.client = client

    def request(
        self, method: str, path: str, *, headers: dict[str, str] | None = None, body: bytes | None = None
    ) -> HttpResult:
        raw = [(k.encode("latin-1"), v.encode("utf-8")) for k, v in (headers or {}).items()]
        response = self.client.request(method, path, headers=raw, content=body)
        return HttpResult(
            status=response.status_code,
            headers={k.lower(): v for k, v in response.headers.items()},
            body=response.content,
        )
