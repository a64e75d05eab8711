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

    @classmethod
    def from_latin1(cls, raw: Iterable[tuple[bytes, bytes]]) -> Headers:
        """Headers from raw ``(name, value)`` byte pairs (ASGI), decoded as Latin-1.

        Latin-1 maps every byte, so hostile input cannot make this raise. The lookup index is
        built in the same pass: this runs once per request on the MCP path.
        """
        self = cls.__new__(cls)
        items: list[tuple[str, str]] = []
        index: dict[str, list[str]] = {}
        for k, v in raw:
            name, value = k.decode("latin-1"), v.decode("latin-1")
            items.append((name, value))
            key = name.lower()
            values = index.get(key)
            if values is None:
                index[key] = [value]
            else:
                values.append(value)
        self._items, self._index = items, index
        return self

    def _values(self, name: str) -> list[str] | None:
        index = self._index
        if index is None:
            index = {}
            for k, v in self._items:
                index.setdefault(k.lower(), []).append(v)
            self._index = index
        return index.get(name.lower())

    def get_all(self, name: str) -> list[str]:
        """Every value of header ``name``, in order."""
        values = self._values(name)
        return list(values) if values else []

    def get(self, name: str, default: Any = None) -> Any:  # the Mapping mixin, without its detours
        values = self._values(name)
        if not values:
            return default
        return values[0] if len(values) == 1 else ", ".join(values)

    def __getitem__(self, name: str) -> str:
        values = self._values(name)
        if not values:
            raise KeyError(name)
        return values[0] if len(values) == 1 else ", ".join(values)

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and bool(self._values(name))

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
