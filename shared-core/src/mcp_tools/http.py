"""Framework-neutral HTTP request and response.

Core handlers take a :class:`Request` and return a :class:`Response`; each framework adapter
only converts its native objects to and from these two (the seam authlib uses with
``create_oauth2_request`` / ``handle_response``).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl, urlsplit

__all__ = ["Headers", "Request", "Response", "json_response"]


class Headers(Mapping[str, str]):
    """Case-insensitive, read-only header mapping.

    Repeated headers are joined with ``", "`` for :meth:`__getitem__`; :meth:`get_all`
    returns every value. Names compare case-insensitively.
    """

    __slots__ = ("_index", "_items")

    def __init__(self, items: Iterable[tuple[str, str]] | Mapping[str, str] = ()) -> None:
        pairs = items.items() if isinstance(items, Mapping) else items
        self._items: list[tuple[str, str]] = [(str(k), str(v)) for k, v in pairs]
        self._index: dict[str, list[str]] | None = None  # lower-cased name -> values, built once

    def get_all(self, name: str) -> list[str]:
        """Every value of header ``name``, in order."""
        index = self._index
        if index is None:
            index = {}
            for k, v in self._items:
                index.setdefault(k.lower(), []).append(v)
            self._index = index
        return list(index.get(name.lower(), ()))

    def __getitem__(self, name: str) -> str:
        values = self.get_all(name)
        if not values:
            raise KeyError(name)
        return ", ".join(values)

    def __iter__(self) -> Iterator[str]:
        seen: set[str] = set()
        for k, _ in self._items:
            if k.lower() not in seen:
                seen.add(k.lower())
                yield k.lower()

    def __len__(self) -> int:
        return len({k.lower() for k, _ in self._items})

    def items_raw(self) -> list[tuple[str, str]]:
        """The headers as received, repeated names kept."""
        return list(self._items)

    def __repr__(self) -> str:
        return f"Headers({self._items!r})"


@dataclass(frozen=True)
class Request:
    """An incoming HTTP request, as every adapter hands it to the core.

    ``url`` is the full URL the server saw (scheme, host, path and query); ``path`` and
    ``query`` are derived from it.
    """

    method: str
    url: str
    headers: Headers = field(default_factory=Headers)
    body: bytes = b""

    @property
    def path(self) -> str:
        return urlsplit(self.url).path or "/"

    @property
    def query(self) -> dict[str, str]:
        """Query parameters; for a repeated name the first value wins."""
        out: dict[str, str] = {}
        for k, v in parse_qsl(urlsplit(self.url).query, keep_blank_values=True):
            out.setdefault(k, v)
        return out

    def query_all(self, name: str) -> list[str]:
        return [v for k, v in parse_qsl(urlsplit(self.url).query, keep_blank_values=True) if k == name]


@dataclass
class Response:
    """An outgoing HTTP response built by the core; adapters copy it into a native response."""

    status: int
    headers: list[tuple[str, str]] = field(default_factory=list)
    body: bytes = b""

    def header(self, name: str) -> str | None:
        lname = name.lower()
        for k, v in self.headers:
            if k.lower() == lname:
                return v
        return None

    def json(self) -> Any:
        return json.loads(self.body)


def json_response(
    data: Any, status: int = 200, headers: Mapping[str, str] | Iterable[tuple[str, str]] = ()
) -> Response:
    """A JSON response with ``Content-Type: application/json``.

    The body is compact and keeps key order (byte parity with ``JSON.stringify``).
    """
    body = json.dumps(data, separators=(",", ":"), ensure_ascii=False).encode("utf-8")
    pairs = list(headers.items()) if isinstance(headers, Mapping) else list(headers)
    return Response(status=status, headers=[("Content-Type", "application/json"), *pairs], body=body)
