"""The neutral ``Headers`` mapping: both constructors agree, lookups are case-insensitive."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mcp_tools.asgi import request_from_scope
from mcp_tools.http import Headers

NAMES = st.sampled_from([b"host", b"Host", b"authorization", b"x-a", b"X-A", b"content-type", b"\xff\xfe"])
PAIRS = st.lists(st.tuples(NAMES, st.binary(max_size=12)), max_size=8)
LOOKUPS = ["host", "HOST", "Authorization", "x-a", "X-a", "content-type", "missing", "\xff\xfe"]


@given(PAIRS)
def test_from_latin1_behaves_like_the_decoded_constructor(raw: list[tuple[bytes, bytes]]) -> None:
    fast = Headers.from_latin1(raw)
    plain = Headers([(k.decode("latin-1"), v.decode("latin-1")) for k, v in raw])
    assert fast.items_raw() == plain.items_raw()
    assert list(fast) == list(plain)
    assert len(fast) == len(plain)
    for name in LOOKUPS:
        assert fast.get_all(name) == plain.get_all(name)
        assert fast.get(name) == plain.get(name)
        assert fast.get(name, "default") == plain.get(name, "default")
        assert (name in fast) == (name in plain)
        if name in plain:
            assert fast[name] == plain[name]
        else:
            with pytest.raises(KeyError):
                fast[name]


def test_repeated_headers_join_for_item_access_and_stay_apart_for_get_all() -> None:
    headers = Headers.from_latin1([(b"X-A", b"1"), (b"x-a", b"2"), (b"host", b"h")])
    assert headers["x-a"] == "1, 2"
    assert headers.get("X-A") == "1, 2"
    assert headers.get_all("x-A") == ["1", "2"]
    assert headers.get("host") == "h"
    assert 1 not in headers  # type: ignore[comparison-overlap]
    values = headers.get_all("x-a")
    values.append("3")  # a copy: the headers do not change
    assert headers.get_all("x-a") == ["1", "2"]


def test_any_byte_is_decoded_without_error() -> None:
    raw = [(bytes([n]) + b"-name", bytes(range(256))) for n in (0x41, 0xE9, 0xFF)]
    headers = Headers.from_latin1(raw)
    assert headers.get("\xe9-name") == bytes(range(256)).decode("latin-1")


def test_request_from_scope_uses_the_scope_headers() -> None:
    scope = {
        "type": "http",
        "method": "post",
        "scheme": "http",
        "path": "/mcp",
        "query_string": b"a=1",
        "headers": [(b"host", b"example.test:8000"), (b"authorization", b"Bearer t")],
    }
    request = request_from_scope(scope, b"{}")
    assert request.method == "POST"
    assert request.url == "http://example.test:8000/mcp?a=1"
    assert request.headers.get("Authorization") == "Bearer t"
    assert request.body == b"{}"
