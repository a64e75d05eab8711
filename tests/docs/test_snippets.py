"""Every code sample in the documentation runs.

One test per page. The page's ``python`` blocks run in order in one namespace, doctest blocks
as doctests, in a fresh Python process (``tests/docs/run_page.py``) so that a page may
configure Django or set environment variables. Blocks marked ``<!-- skip: reason -->`` are
not run; the terminal summary counts the executed blocks and lists every skipped block with
its reason. The marker syntax is described in ``tests/docs/snippets.py``.
"""

from __future__ import annotations

import ast
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from tests.docs.snippets import ROOT, documentation_files, parse

PAGES = documentation_files()
RESULTS: dict[str, list[dict[str, object]]] = {"ran": [], "skipped": []}
# Ambient credentials must not change what a sample does.
SCRUBBED = ("CLERK_PUBLISHABLE_KEY", "CLERK_SECRET_KEY", "CLERK_API_URL", "CLERK_FRONTEND_API_URL")


def _has_samples(path: Path) -> bool:
    try:
        return bool(parse(path))
    except ValueError:  # a malformed marker: keep the page so that its test reports it
        return True


SAMPLE_PAGES = [page for page in PAGES if _has_samples(page)]


def _page_id(path: Path) -> str:
    return str(path.relative_to(ROOT))


def test_every_page_is_collected() -> None:
    names = {p.name for p in PAGES}
    assert {"index.md", "server-metadata.md", "security.md", "README.md"} <= names


def test_markers_are_well_formed() -> None:
    """parse() raises on a skip marker without a reason or one that is not before a python fence."""
    for page in PAGES:
        for block in parse(page):
            if block.skip_reason is not None:
                assert len(block.skip_reason) >= 10, f"{block.location}: give a real reason for the skip"


def test_skipped_samples_still_import() -> None:
    """A skipped sample is not run, but the names it imports must exist (renames are caught)."""
    for page in PAGES:
        for block in parse(page):
            if block.skip_reason is None or block.kind != "script":
                continue
            try:
                tree = ast.parse(block.code)
            except SyntaxError:  # a fragment (dict entries, a view body): nothing to check
                continue
            imports: list[ast.stmt] = [n for n in tree.body if isinstance(n, ast.Import | ast.ImportFrom)]
            code = compile(ast.Module(body=imports, type_ignores=[]), block.location, "exec")
            try:
                exec(code, {})
            except ImportError as exc:
                pytest.fail(f"{block.location}: {exc}")


@pytest.mark.parametrize("page", SAMPLE_PAGES, ids=_page_id)
def test_page_samples_run(page: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k not in SCRUBBED}
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    with tempfile.TemporaryDirectory(prefix="mcp-tools-docs-") as scratch:
        out = Path(scratch) / "report.json"
        work = Path(scratch) / "work"
        work.mkdir()
        proc = subprocess.run(
            [sys.executable, "-m", "tests.docs.run_page", str(page), str(out)],
            cwd=work,
            env=env,
            capture_output=True,
            text=True,
            timeout=240,
            check=False,
        )
        if proc.returncode != 0 or not out.exists():
            pytest.fail(f"the page runner crashed (exit {proc.returncode}):\n{proc.stdout}\n{proc.stderr}")
        report = json.loads(out.read_text(encoding="utf-8"))
    RESULTS["ran"] += report["ran"]
    RESULTS["skipped"] += report["skipped"]
    if report["failure"]:
        pytest.fail(f"{report['failure']}\n--- output ---\n{proc.stdout}{proc.stderr}", pytrace=False)
