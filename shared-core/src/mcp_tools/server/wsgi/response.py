"""The response handed back to the WSGI side: status and headers now, the body as it arrives."""

from __future__ import annotations

import http
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Final

if TYPE_CHECKING:
    from wsgiref.types import StartResponse

__all__ = ["HOP_BY_HOP_HEADERS", "BridgeResponse", "status_line", "strip_hop_by_hop"]

HOP_BY_HOP_HEADERS: Final = frozenset(
    {
        "connection",
        "keep-alive",
        "proxy-authenticate",
        "proxy-authorization",
        "te",
        "trailers",
        "transfer-encoding",
        "upgrade",
    }
)
"""Connection-level headers (RFC 9110 section 7.6.1) a WSGI application must not set (PEP 3333)."""


def strip_hop_by_hop(headers: Iterable[tuple[str, str]]) -> list[tuple[str, str]]:
    """Drop connection-level headers (``Connection``, ``Transfer-Encoding``...), keep the rest in order.

    The SDK's SSE responses carry ``Connection: keep-alive``; PEP 3333 forbids hop-by-hop headers
    in a WSGI response and waitress and wsgiref reject them.
    """
    return [(name, value) for name, value in headers if name.lower() not in HOP_BY_HOP_HEADERS]


def status_line(status: int) -> str:
    """``"200 OK"``: the WSGI status line for ``status``."""
    try:
        phrase = http.HTTPStatus(status).phrase
    except ValueError:
        phrase = "Unknown"
    return f"{status} {phrase}"


def _nothing() -> None:
    return None


@dataclass
class BridgeResponse:
    """A response coming back from the ASGI app: status and headers now, body as it arrives.

    Iterate it to get the body chunks, blocking until each one is sent by the app. Always
    :meth:`close` it (every WSGI server and framework response does): closing before the end
    tells the app the client disconnected and then cancels it.
    """

    status: int
    headers: list[tuple[str, str]]
    _chunks: Iterator[bytes] = field(repr=False)
    _close: Callable[[], None] = field(repr=False)

    @property
    def status_line(self) -> str:
        """The WSGI status string, e.g. ``"200 OK"``."""
        return status_line(self.status)

    def __iter__(self) -> Iterator[bytes]:
        return self._chunks

    def close(self) -> None:
        """Finish the exchange; if the body was not fully read, disconnect and cancel the app."""
        self._close()

    def start(self, start_response: StartResponse) -> BridgeResponse:
        """Hand the status and headers to ``start_response`` and return self as the WSGI body;
        if ``start_response`` raises, the exchange is closed first (the app is not left running)."""
        try:
            start_response(self.status_line, self.headers)
        except BaseException:
            self.close()
            raise
        return self

    @classmethod
    def fixed(cls, status: int, headers: list[tuple[str, str]], body: bytes) -> BridgeResponse:
        """A whole response, known without streaming (a refusal, or a buffered answer)."""
        return cls(status, headers, iter((body,)), _nothing)
