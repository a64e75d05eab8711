"""MkDocs hook: a short stand-in for a page in the nav whose file has not been written yet.

Pages are written by different people at different times; the build is ``--strict``, so a nav
entry without its file would fail it. Each page listed in ``PENDING`` gets an in-memory stand-in
only while ``docs/<page>`` does not exist; once the file arrives it is used as is.
"""

from __future__ import annotations

from typing import Any

from mkdocs.config.defaults import MkDocsConfig
from mkdocs.structure.files import File, Files

PENDING = {
    "client.md": (
        "Client side",
        "The guide to the client side (connecting your users to other MCP servers: discovery, "
        "registration, consent, callback, refresh, calling tools) is being written. Meanwhile see "
        "the client sections of the getting-started pages and the "
        "[API reference](api/client.md).",
    ),
    "benchmarks.md": (
        "Benchmarks",
        "The benchmark report (every adapter against the bare SDK and fastmcp, with its chart) is "
        "being written. Run `nox -s bench` to produce the numbers on your machine.",
    ),
}


def on_files(files: Files, config: MkDocsConfig, **kwargs: Any) -> Files:
    for name, (title, text) in PENDING.items():
        if files.get_file_from_path(name) is None:
            content = f'# {title}\n\n!!! note "Coming soon"\n    {text}\n'
            files.append(File.generated(config, name, content=content))
    return files
