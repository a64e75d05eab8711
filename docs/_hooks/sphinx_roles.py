"""MkDocs hook: render the Sphinx roles used in the docstrings as code in the API reference.

The docstrings are written for Sphinx-style readers (``:class:`~mcp_tools.stores.Store```);
Markdown turns such a role into ``:class:<code>~mcp_tools.stores.Store</code>``. This hook
drops the role name and, for ``~`` targets, keeps only the last component, as Sphinx does.
"""

from __future__ import annotations

import re
from typing import Any

_ROLE = re.compile(r":(?:py:)?(?:class|func|meth|mod|attr|exc|data|obj|const|ref):<code>(~?)([^<]*)</code>")


def _replace(match: re.Match[str]) -> str:
    tilde, target = match.groups()
    if tilde:
        target = target.rsplit(".", 1)[-1]
    return f"<code>{target}</code>"


def on_page_content(html: str, **kwargs: Any) -> str:
    return _ROLE.sub(_replace, html)
