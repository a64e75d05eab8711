"""The WSGI (PEP 3333) seam: request and response objects, and authlib's request types.

authlib's server core is framework-free: an integration turns its native request into an
:class:`~authlib.oauth2.rfc6749.OAuth2Request` (``create_oauth2_request``) and a
``(status, body, headers)`` triple into its native response (``handle_response``). This
module is that integration for plain WSGI, with the standard library only.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from http import HTTPStatus
from http.cookies import CookieError, SimpleCookie
from typing import Any
from urllib.parse import parse_qsl

from authlib.oauth2.rfc6749 import JsonPayload, JsonRequest, OAuth2Payload, OAuth2Request

__all__ = [
    "MAX_BODY",
    "Headers",
    "Request",
    "Response",
    "json_request",
    "json_response",
    "oauth2_request",
    "read_request",
]

#: Largest request body read (bytes); larger bodies are refused with 413.
MAX_BODY = 64 * 1024


class BodyTooLarge(Exception):
    """The request body exceeds :data:`MAX_BODY`."""


class Headers(dict[str, str]):
    """Request headers with case-insensitive lookup (``headers.get("authorization")``)."""

    def __init__(self, items: Iterable[tuple[str, str]] = ()) -> None:
        super().__init__((k.lower(), v) for k, v in items)

    def get(self, key: str, default: Any = None) -> Any:
        return super().get(key.lower(), default)

    def __getitem__(self, key: str) -> str:
        return super().__getitem__(key.lower())

    def __contains__(self, key: object) -> bool:
        return isinstance(key, str) and super().__contains__(key.lower())


@dataclass
class Request:
    """A parsed WSGI request."""

    method: str
    path: str
    query: list[tuple[str, str]]
    headers: Headers
    body: bytes = b""

    @property
    def content_type(self) -> str:
        value: str = self.headers.get("content-type", "")
        return value.split(";")[0].strip().lower()

    @property
    def form(self) -> list[tuple[str, str]]:
        """The ``application/x-www-form-urlencoded`` body (empty for other types)."""
        if self.content_type != "application/x-www-form-urlencoded":
            return []
        try:
            return parse_qsl(self.body.decode("utf-8"), keep_blank_values=True)
        except UnicodeDecodeError:
            return []

    @property
    def cookies(self) -> dict[str, str]:
        jar = SimpleCookie()
        try:
            jar.load(self.headers.get("cookie", ""))
        except CookieError:
            return {}
        return {name: morsel.value for name, morsel in jar.items()}


def read_request(environ: Mapping[str, Any]) -> Request:
    """Build a :class:`Request` from a WSGI environ (body capped at :data:`MAX_BODY`)."""
    headers = Headers(
        (key[5:].replace("_", "-"), str(value)) for key, value in environ.items() if key.startswith("HTTP_")
    )
    for key in ("CONTENT_TYPE", "CONTENT_LENGTH"):
        if environ.get(key):
            headers[key.replace("_", "-").lower()] = str(environ[key])
    try:
        length = int(environ.get("CONTENT_LENGTH") or 0)
    except ValueError:
        length = 0
    if length > MAX_BODY:
        raise BodyTooLarge
    body = environ["wsgi.input"].read(length) if length > 0 else b""
    raw_path = environ.get("PATH_INFO", "") or "/"
    try:  # PEP 3333 hands the path over as latin-1 decoded bytes
        path = raw_path.encode("latin-1").decode("utf-8")
    except UnicodeError:
        path = raw_path
    query = parse_qsl(environ.get("QUERY_STRING", ""), keep_blank_values=True)
    return Request(str(environ.get("REQUEST_METHOD", "GET")).upper(), path, query, headers, body)


@dataclass
class Response:
    """A response; ``location`` is what authlib's RFC 9207 extension rewrites."""

    status: int
    body: bytes = b""
    headers: list[tuple[str, str]] = field(default_factory=list)

    @property
    def location(self) -> str | None:
        for name, value in self.headers:
            if name.lower() == "location":
                return value
        return None

    @location.setter
    def location(self, value: str) -> None:
        self.headers = [(n, v) for n, v in self.headers if n.lower() != "location"]
        self.headers.append(("Location", value))

    def header(self, name: str, value: str) -> Response:
        self.headers.append((name, value))
        return self

    @property
    def status_line(self) -> str:
        try:
            return f"{self.status} {HTTPStatus(self.status).phrase}"
        except ValueError:
            return f"{self.status} Unknown"


def json_response(status: int, body: Any, headers: Iterable[tuple[str, str]] = ()) -> Response:
    """A JSON response that is never cached."""
    out = [("Content-Type", "application/json"), ("Cache-Control", "no-store")]
    out.extend((n, v) for n, v in headers if n.lower() not in ("content-type", "cache-control"))
    return Response(status, json.dumps(body).encode("utf-8"), out)


# -- authlib request types -----------------------------------------------------------------


class _Payload(OAuth2Payload):  # type: ignore[misc]
    def __init__(self, pairs: list[tuple[str, str]]) -> None:
        self._data: dict[str, str] = {}
        self._datalist: defaultdict[str, list[str]] = defaultdict(list)
        for key, value in pairs:
            self._data.setdefault(key, value)
            self._datalist[key].append(value)

    @property
    def data(self) -> dict[str, str]:
        return self._data

    @property
    def datalist(self) -> defaultdict[str, list[str]]:
        return self._datalist


class _OAuth2Request(OAuth2Request):  # type: ignore[misc]
    def __init__(self, uri: str, request: Request) -> None:
        super().__init__(method=request.method, uri=uri, headers=request.headers)
        self._query = dict(reversed(request.query))
        self._form = dict(reversed(request.form))
        # Parameters come from the query at the authorization endpoint, from the body elsewhere.
        self.payload = _Payload(request.query if request.method == "GET" else request.form)
        self.resource: str | None = None
        self.resources: tuple[str, ...] = ()
        self.grant: Any = None

    @property
    def args(self) -> dict[str, str]:
        return self._query

    @property
    def form(self) -> dict[str, str]:
        return self._form


class _JsonPayload(JsonPayload):  # type: ignore[misc]
    def __init__(self, data: Any) -> None:
        self._data = data

    @property
    def data(self) -> Any:
        return self._data


def oauth2_request(issuer: str, request: Request) -> Any:
    """authlib's view of ``request`` (an ``OAuth2Request``); the URI is built on the issuer."""
    return _OAuth2Request(issuer + request.path, request)


def json_request(issuer: str, request: Request) -> Any:
    """authlib's JSON request for the registration endpoint; ``data`` is None if unparsable."""
    try:
        data = json.loads(request.body.decode("utf-8")) if request.body else None
    except (UnicodeDecodeError, ValueError):
        data = None
    json_req = JsonRequest(request.method, issuer + request.path, request.headers)
    json_req.payload = _JsonPayload(data)
    return json_req
