"""Validation of SQL table names (both SQL stores interpolate them only after this check)."""

from __future__ import annotations

import re

TABLE_NAME_RE = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,62}")


def check_table_name(name: str) -> str:
    """Return ``name`` if it is a plain SQL identifier of at most 63 characters, else raise ValueError."""
    if not isinstance(name, str) or TABLE_NAME_RE.fullmatch(name) is None:
        raise ValueError(
            f"invalid table name {name!r}: use letters, digits and underscores, starting with a letter "
            "or underscore, at most 63 characters"
        )
    return name
