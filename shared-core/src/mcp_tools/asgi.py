"""Small ASGI helpers shared by the endpoint core and the bridges (no framework imports)."""

from __future__ import annotations

import http
import json
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from mcp_tools.http import Headers, Request, Response, json_response

__all__ = [
    "ASGIApp",
    "BodyTooLarge",
    "Message",
    "Receive",
    "Scope",
    "Send",
    "body_too_large_response",
    "json_error_send",
    "json_errors",
    "read_body",
    "replay_receive",
    "request_from_scope",
    "send_response",
]

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]


class BodyTooLarge(Exception):
    """The request body exceeds the configured limit."""


def request_from_scope(scope: Scope, body: bytes = b"") -> Request:
    """Build a neutral :class:`Request` from an ASGI HTTP scope.

    Header bytes are decoded as Latin-1 (the HTTP wire encoding), so any byte sequence is
    representable and nothing here can raise on hostile input.
    """
    headers = Headers.from_latin1(scope.get("headers") or ())
    scheme = scope.get("scheme") or "http"
    host = headers.get("host")
    if not host:
        server = scope.get("server")
        host = f"{server[0]}:{server[1]}" if server else "localhost"
    path = scope.get("path", "/")
    query = scope.get("query_string", b"").decode("latin-1")
    url = f"{scheme}://{host}{path}" + (f"?{query}" if query else "")
    return Request(method=str(scope.get("method", "GET")).upper(), url=url, headers=headers, body=body)


async def read_body(receive: Receive, limit: int) -> bytes:
    """Read the whole request body; raise :class:`BodyTooLarge` past ``limit`` bytes."""
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            break
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            raise BodyTooLarge
        chunks.append(chunk)
        if not message.get("more_body", False):
            break
    return b"".join(chunks)


def replay_receive(body: bytes, receive: Receive) -> Receive:
    """A ``receive`` that yields ``body`` once, then defers to the real one (disconnects)."""
    sent = False

    async def _receive() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return _receive


async def send_response(send: Send, response: Response) -> None:
    """Send a neutral :class:`Response` over ASGI."""
    headers = [(k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in response.headers]
    if not any(k == b"content-length" for k, _ in headers):
        headers.append((b"content-length", str(len(response.body)).encode()))
    await send({"type": "http.response.start", "status": response.status, "headers": headers})
    await send({"type": "http.response.body", "body": response.body, "more_body": False})


def body_too_large_response(limit: int) -> Response:
    return json_response(
        {"error": "payload_too_large", "error_description": f"request body exceeds {limit} bytes"},
        status=413,
    )


def _error_document(status: int, original: bytes) -> bytes:
    try:
        phrase = http.HTTPStatus(status).phrase
    except ValueError:
        phrase = "Error"
    description = phrase
    text = original.decode("utf-8", "replace").strip()
    if text and len(text) <= 200 and text.isprintable():
        description = f"{phrase}: {text}"
    code = "_".join(phrase.lower().replace("-", " ").replace("'", "").split()) or "error"
    return json.dumps({"error": code, "error_description": description}).encode()


def json_errors(app: ASGIApp) -> ASGIApp:
    """``app`` with a JSON body on every error answer (status >= 400).

    The MCP SDK answers a few refusals with an empty or plain-text body (405 and 406 in the
    2026 era, for instance); the endpoint promises ``{"error": ..., "error_description": ...}``
    for every error. Responses that already are JSON pass through untouched, and nothing
    changes for successful ones (streams included).
    """

    async def wrapped(scope: Scope, receive: Receive, send: Send) -> None:
        await app(scope, receive, json_error_send(send))

    return wrapped


def json_error_send(send: Send) -> Send:
    """``send`` with error answers given a JSON body: what :func:`json_errors` does to an app,
    as a wrapper of one ``send`` (no extra coroutine frame around the app)."""
    held: Message | None = None
    original = bytearray()

    async def _send(message: Message) -> None:
        nonlocal held
        if message["type"] == "http.response.start" and int(message.get("status", 200)) >= 400:
            headers = list(message.get("headers") or [])
            content_type = next((v for k, v in headers if k.lower() == b"content-type"), b"")
            media = content_type.split(b";", 1)[0].strip().lower()
            if not (media == b"application/json" or media.endswith(b"+json")):
                held = message
                return
        if held is not None and message["type"] == "http.response.body":
            if len(original) <= 1024:
                original.extend(message.get("body", b"")[:1024])
            if message.get("more_body", False):
                return
            status = int(held["status"])
            body = _error_document(status, bytes(original))
            drop = {b"content-type", b"content-length", b"content-encoding"}
            headers = [(k, v) for k, v in held.get("headers") or [] if k.lower() not in drop]
            headers += [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
            ]
            held = None
            await send({"type": "http.response.start", "status": status, "headers": headers})
            await send({"type": "http.response.body", "body": body, "more_body": False})
            return
        await send(message)

    return _send
