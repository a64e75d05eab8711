"""Layering rule 1: the core never imports a web framework.

One exception: ``mcp_tools/demo/`` (the ``mcp-tools demo`` command) runs an MCP server on each
framework, so it may import them, but only inside functions: importing the package (or the
command line) loads no framework.
"""

from __future__ import annotations

import ast
import pathlib
import subprocess
import sys

import mcp_tools

FORBIDDEN = {"django", "flask", "fastapi", "starlette"}
CORE_ROOT = pathlib.Path(mcp_tools.__file__).parent
DEMO = CORE_ROOT / "demo"


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
        if DEMO not in path.parents
    }
    offenders = {k: v for k, v in offenders.items() if v}
    assert offenders == {}


def module_level_imports(path: pathlib.Path) -> set[str]:
    """Top-level modules imported outside any function or class body."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    found: set[str] = set()
    pending: list[ast.AST] = list(tree.body)
    while pending:
        node = pending.pop()
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef | ast.Lambda):
            continue
        if isinstance(node, ast.Import):
            found.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module.split(".")[0])
        pending.extend(ast.iter_child_nodes(node))
    return found


def test_the_demo_imports_frameworks_only_inside_functions() -> None:
    offenders = {
        str(path.relative_to(CORE_ROOT)): sorted(module_level_imports(path) & FORBIDDEN)
        for path in DEMO.rglob("*.py")
    }
    assert {k: v for k, v in offenders.items() if v} == {}


def test_importing_the_demo_and_the_cli_loads_no_framework() -> None:
    frameworks = sorted(FORBIDDEN - {"starlette"})  # the SDK's server modules import starlette themselves
    code = (
        "import sys, mcp_tools.demo, mcp_tools.cli; mcp_tools.cli.build_parser(); "
        f"print(sorted(m for m in sys.modules if m.split('.')[0] in {frameworks!r}))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60)
    assert out.stdout.strip() == "[]"


def test_detector_catches_a_framework_import(tmp_path: pathlib.Path) -> None:
    sample = tmp_path / "sample.py"
    sample.write_text("import os\nfrom starlette.requests import Request\nimport flask.json\n")
    assert imported_top_level_modules(sample) & FORBIDDEN == {"starlette", "flask"}
