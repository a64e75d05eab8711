"""Small ASGI helpers shared by the endpoint core and the bridges (no framework imports)."""

from __future__ import annotations

import asyncio
import http
import json
import logging
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from mcp_tools.http import Headers, Request, Response, json_response

__all__ = [
    "ASGIApp",
    "BodyTooLarge",
    "Message",
    "Receive",
    "ResponseCollector",
    "Scope",
    "Send",
    "body_too_large_response",
    "collect_response",
    "json_error_send",
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

logger = logging.getLogger(__name__)


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
    """The 413 for a body above ``limit`` bytes (OAuth-shaped JSON, like every refusal before the SDK)."""
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


def json_error_send(send: Send) -> Send:
    """``send`` with error answers given a JSON body.

    The MCP SDK answers a few refusals with an empty or plain-text body (405 and 406 in the
    2026 era, for instance); the endpoint promises ``{"error": ..., "error_description": ...}``
    for every error. Responses that already are JSON pass through untouched, and nothing
    changes for successful ones (streams included).
    """
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


class ResponseCollector:
    """The state machine of one ASGI HTTP response, as the app ``send``s it.

    ``http.response.start`` comes once (its status and Latin-1 decoded headers are kept), then
    ``http.response.body`` messages until one says ``more_body`` false; body messages after that
    and other message types (trailers, extensions) are ignored, a body before the start or a
    second start raises ``RuntimeError``. ``on_start()`` runs once the headers are known and
    ``on_body(chunk, end)`` for each body message (``end`` on the last), so callers decide
    whether to buffer or stream. Pass :meth:`send` to the app.
    """

    __slots__ = ("complete", "headers", "on_body", "on_start", "status")

    def __init__(
        self,
        on_body: Callable[[bytes, bool], Awaitable[None]],
        on_start: Callable[[], object] | None = None,
    ) -> None:
        self.on_body = on_body
        self.on_start = on_start
        self.status: int | None = None
        self.headers: list[tuple[str, str]] = []
        self.complete = False

    async def send(self, message: Message) -> None:
        """The ``send`` callable for the app."""
        kind = message["type"]
        if kind == "http.response.body":
            if self.status is None:
                raise RuntimeError("ASGI app sent a response body before http.response.start")
            if self.complete:
                return
            end = not message.get("more_body", False)
            self.complete = end
            await self.on_body(bytes(message.get("body", b"")), end)
        elif kind == "http.response.start":
            if self.status is not None:
                raise RuntimeError("ASGI app sent http.response.start twice")
            self.headers = [
                (bytes(k).decode("latin-1"), bytes(v).decode("latin-1"))
                for k, v in message.get("headers", ())
            ]
            self.status = int(message["status"])
            if self.on_start is not None:
                self.on_start()


async def collect_response(
    app: ASGIApp, scope: Scope, body: bytes, timeout: float | None = None
) -> tuple[int, list[tuple[str, str]], bytes] | BaseException | None:
    """Run ``app`` for one request with ``body`` and buffer its whole response.

    Returns ``(status, headers, body)``, the exception the app raised before starting its
    response (``TimeoutError`` after ``timeout`` seconds), or ``None`` when it returned without
    starting one. A failure after the start is logged and the response kept as it stands.
    """
    chunks: list[bytes] = []
    done = asyncio.Event()
    pending: bytes | None = body

    async def receive() -> Message:
        nonlocal pending
        if pending is not None:
            message = {"type": "http.request", "body": pending, "more_body": False}
            pending = None
            return message
        await done.wait()  # ASGI: once the response is complete, receive() reports a disconnect
        return {"type": "http.disconnect"}

    async def keep(chunk: bytes, end: bool) -> None:
        if chunk:
            chunks.append(chunk)
        if end:
            done.set()

    response = ResponseCollector(keep)
    try:
        # asyncio.timeout, not wait_for: wait_for runs the app in a task of its own, which anyio
        # then takes for the root task, starting a new worker thread for every request
        async with asyncio.timeout(timeout):
            await app(scope, receive, response.send)
    except Exception as exc:
        if response.status is None:
            return exc
        logger.error("the ASGI application failed after starting its response", exc_info=exc)
    if response.status is None:
        return None
    return response.status, response.headers, b"".join(chunks)
