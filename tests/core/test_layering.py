"""Layering rule 1: the core never imports a web framework, nor anything above it.

No module under ``mcp_tools`` imports django, flask, fastapi, starlette, uvicorn, an adapter or
the demo, at module level or inside a function (the SDK's own starlette use aside). The demo is
its own distribution (``mcp_tools_demo``); the core's command line reaches it through an entry
point, never an import. ``nox -s lint`` checks the same rules, and the import graph's layers and
cycles, with import-linter (``.importlinter``); this test keeps the rule in the test suite too
and also catches dynamic imports by name (``importlib.import_module("flask")``).
"""

from __future__ import annotations

import ast
import pathlib
import subprocess
import sys

import pytest

import mcp_tools

FRAMEWORKS = {"django", "flask", "fastapi", "starlette", "uvicorn"}
ABOVE_THE_CORE = {"mcp_tools_django", "mcp_tools_flask", "mcp_tools_fastapi", "mcp_tools_demo"}
FORBIDDEN = FRAMEWORKS | ABOVE_THE_CORE
CORE_ROOT = pathlib.Path(mcp_tools.__file__).parent


def imported_top_level_modules(path: pathlib.Path) -> set[str]:
    """Every top-level module ``path`` imports, wherever the import statement is (functions,
    methods, ``if TYPE_CHECKING:`` blocks), plus string arguments of ``import_module``/``__import__``."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module.split(".")[0])
        elif isinstance(node, ast.Call) and node.args and isinstance(node.args[0], ast.Constant):
            func = node.func
            name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
            if name in {"import_module", "__import__", "find_spec"} and isinstance(node.args[0].value, str):
                found.add(node.args[0].value.split(".")[0])
    return found


def test_core_sources_exist() -> None:
    assert len(list(CORE_ROOT.rglob("*.py"))) > 5


def test_the_demo_is_not_in_the_core() -> None:
    assert not list((CORE_ROOT / "demo").rglob("*.py"))


def test_no_core_module_imports_a_framework_or_anything_above_the_core() -> None:
    offenders = {
        str(path.relative_to(CORE_ROOT)): sorted(imported_top_level_modules(path) & FORBIDDEN)
        for path in CORE_ROOT.rglob("*.py")
    }
    assert {k: v for k, v in offenders.items() if v} == {}


def test_the_cli_loads_no_framework_nor_the_demo_runner_even_with_the_demo_registered() -> None:
    pytest.importorskip("mcp_tools_demo")
    # The SDK's server modules import starlette and uvicorn themselves.
    frameworks = sorted(FRAMEWORKS - {"starlette", "uvicorn"})
    code = (
        "import sys, mcp_tools.cli; parser = mcp_tools.cli.build_parser(); "
        "assert 'not installed' not in parser.format_help(); "
        "assert 'mcp_tools_demo.cli' in sys.modules and 'mcp_tools_demo.runner' not in sys.modules; "
        f"print(sorted(m for m in sys.modules if m.split('.')[0] in {frameworks!r}))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60)
    assert out.stdout.strip() == "[]"


@pytest.mark.parametrize(
    "source",
    [
        "import os\nfrom starlette.requests import Request\nimport flask.json\n",
        "def f():\n    from starlette.requests import Request\n    import flask.json\n",
        "import importlib\nclass A:\n    def m(self):\n        importlib.import_module('flask')\n"
        "        __import__('starlette.requests')\n",
    ],
    ids=["module-level", "in-a-function", "by-name"],
)
def test_detector_catches_a_framework_import(tmp_path: pathlib.Path, source: str) -> None:
    sample = tmp_path / "sample.py"
    sample.write_text(source)
    assert imported_top_level_modules(sample) & FORBIDDEN == {"starlette", "flask"}
