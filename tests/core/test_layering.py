"""Layering rule 1: the core never imports a web framework."""

from __future__ import annotations

import ast
import pathlib

import mcp_tools

FORBIDDEN = {"django", "flask", "fastapi", "starlette"}
CORE_ROOT = pathlib.Path(mcp_tools.__file__).parent


def imported_top_level_modules(path: pathlib.Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module.split(".")[0])
    return found


def test_core_sources_exist() -> None:
    assert len(list(CORE_ROOT.rglob("*.py"))) > 5


def test_no_core_module_imports_a_framework() -> None:
    offenders = {
        str(path.relative_to(CORE_ROOT)): sorted(imported_top_level_modules(path) & FORBIDDEN)
        for path in CORE_ROOT.rglob("*.py")
    }
    offenders = {k: v for k, v in offenders.items() if v}
    assert offenders == {}


def test_detector_catches_a_framework_import(tmp_path: pathlib.Path) -> None:
    sample = tmp_path / "sample.py"
    sample.write_text("import os\nfrom starlette.requests import Request\nimport flask.json\n")
    assert imported_top_level_modules(sample) & FORBIDDEN == {"starlette", "flask"}
