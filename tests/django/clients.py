"""Contract clients for Django: the test client (WSGI handler), a plain WSGI caller for the
WSGI wrapper, and Starlette's TestClient (ASGI)."""

from __future__ import annotations

import io
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from django.test import Client
from starlette.testclient import TestClient

from tests.contract.suite import HttpResult

if TYPE_CHECKING:
    from wsgiref.types import WSGIApplication


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


class WsgiAppContractClient:
    """Requests straight into a WSGI application (the ``mcp_tools_django.wsgi`` wrapper), over https.

    The environ is what a WSGI server builds (PEP 3333); the response is collected and the
    body iterator closed, as a server would.
    """

    def __init__(self, app: WSGIApplication, host: str = "api.example.com") -> None:
        self.app = app
        self.host = host

    def request(
        self, method: str, path: str, *, headers: dict[str, str] | None = None, body: bytes | None = None
    ) -> HttpResult:
        parts = urlsplit(path)
        data = body or b""
        environ: dict[str, Any] = {
            "REQUEST_METHOD": method,
            "SCRIPT_NAME": "",
            "PATH_INFO": parts.path,
            "QUERY_STRING": parts.query,
            "SERVER_NAME": self.host,
            "SERVER_PORT": "443",
            "SERVER_PROTOCOL": "HTTP/1.1",
            "HTTP_HOST": self.host,
            "REMOTE_ADDR": "127.0.0.1",
            "wsgi.version": (1, 0),
            "wsgi.url_scheme": "https",
            "wsgi.input": io.BytesIO(data),
            "wsgi.errors": io.StringIO(),
            "wsgi.multithread": True,
            "wsgi.multiprocess": False,
            "wsgi.run_once": False,
            "CONTENT_LENGTH": str(len(data)) if data else "",
        }
        for name, value in (headers or {}).items():
            key = name.upper().replace("-", "_")
            if key == "CONTENT_TYPE":
                environ["CONTENT_TYPE"] = value
            else:
                environ[f"HTTP_{key}"] = value
        started: dict[str, Any] = {}

        def start_response(status: str, response_headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
            started["status"], started["headers"] = status, response_headers
            return lambda chunk: None

        result = self.app(environ, start_response)
        try:
            content = b"".join(result)
        finally:
            close = getattr(result, "close", None)
            if close is not None:
                close()
        response_headers: dict[str, str] = {}
        for name, value in started["headers"]:
            key = name.lower()
            response_headers[key] = f"{response_headers[key]}, {value}" if key in response_headers else value
        return HttpResult(status=int(started["status"].split()[0]), headers=response_headers, body=content)


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
