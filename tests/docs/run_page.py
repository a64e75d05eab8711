"""Run the Python samples of one Markdown page in this (fresh) process.

    python -m tests.docs.run_page docs/stores.md report.json

The test suite starts one process per page, so a page may configure Django, set environment
variables or start servers without touching other pages or the rest of the tests. The JSON
report lists the blocks that ran, the skipped ones with their reasons, and the first failure.
"""

from __future__ import annotations

import ast
import asyncio
import doctest
import inspect
import json
import sys
import traceback
import types
from pathlib import Path

from tests.docs.snippets import Block, parse


def run_script(block: Block, namespace: dict[str, object]) -> None:
    flags = ast.PyCF_ALLOW_TOP_LEVEL_AWAIT
    code = compile(block.code, block.location, "exec", flags=flags, dont_inherit=True)
    if code.co_flags & inspect.CO_COROUTINE:
        asyncio.run(eval(code, namespace))
    else:
        exec(code, namespace)


def run_doctest(block: Block, namespace: dict[str, object]) -> str | None:
    parser = doctest.DocTestParser()
    test = parser.get_doctest(block.code, namespace, block.location, str(block.path), block.lineno - 1)
    output: list[str] = []
    runner = doctest.DocTestRunner(optionflags=doctest.ELLIPSIS, verbose=False)
    runner.run(test, out=output.append, clear_globs=False)
    namespace.update(test.globs)  # DocTest works on a copy: carry its names to the next block
    return "".join(output) if runner.failures else None


def run_page(path: Path) -> dict[str, object]:
    module = types.ModuleType(f"docs_page_{path.stem.replace('-', '_')}")
    module.__file__ = str(path)
    sys.modules[module.__name__] = module  # dataclasses and pickle look the module up
    namespace = module.__dict__
    ran: list[dict[str, str]] = []
    skipped: list[dict[str, str]] = []
    report: dict[str, object] = {"ran": ran, "skipped": skipped, "failure": None}
    for block in parse(path):
        if block.skip_reason is not None:
            skipped.append({"location": block.location, "reason": block.skip_reason})
            continue
        try:
            if block.kind == "doctest":
                failure = run_doctest(block, namespace)
            else:
                run_script(block, namespace)
                failure = None
        except BaseException:  # report anything, SystemExit included
            failure = f"{block.location}\n{traceback.format_exc()}"
        if failure is not None:
            report["failure"] = failure
            break
        if block.kind != "setup":
            ran.append({"location": block.location, "kind": block.kind})
    return report


def main(argv: list[str]) -> int:
    page, out = Path(argv[0]), Path(argv[1])
    report = run_page(page)
    out.write_text(json.dumps(report), encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
