"""Fail on any import cycle between two modules of the five src trees (``nox -s lint``).

import-linter's ``acyclic_siblings`` contract (pyproject.toml) refuses cycles between the
subpackages of a package; this script closes what that leaves out: cycles that go through a
package's ``__init__`` (``pkg/__init__.py`` imports ``pkg.a``, which imports from ``pkg``). It
builds the import graph with grimp (the library import-linter is built on), counting imports
inside functions and under ``if TYPE_CHECKING:`` as import-linter does, and prints each strongly
connected component with one import chain through it.

    PYTHONPATH=shared-core/src:packages/mcp-tools-django/src:... python scripts/check_import_cycles.py
"""

from __future__ import annotations

import sys

import grimp

PACKAGES = ["mcp_tools", "mcp_tools_django", "mcp_tools_flask", "mcp_tools_fastapi", "mcp_tools_demo"]


def cycles(graph: grimp.ImportGraph) -> list[list[str]]:
    """The strongly connected components of more than one module (Tarjan's algorithm, iterative)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    for root in sorted(graph.modules):
        if root in index:
            continue
        work = [(root, iter(sorted(graph.find_modules_directly_imported_by(root))))]
        index[root] = low[root] = len(index)
        stack.append(root)
        on_stack.add(root)
        while work:
            module, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = len(index)
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(graph.find_modules_directly_imported_by(child)))))
                elif child in on_stack:
                    low[module] = min(low[module], index[child])
                continue
            work.pop()
            if work:
                parent = work[-1][0]
                low[parent] = min(low[parent], low[module])
            if low[module] == index[module]:
                component = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == module:
                        break
                if len(component) > 1:
                    found.append(sorted(component))
    return sorted(found)


def describe(graph: grimp.ImportGraph, component: list[str]) -> str:
    first, members = component[0], set(component)
    back = next(m for m in sorted(members) if first in graph.find_modules_directly_imported_by(m))
    chain = graph.find_shortest_chain(importer=first, imported=back) or (first, back)
    lines = []
    for importer, imported in zip([*chain], [*chain[1:], first], strict=True):
        details = graph.get_import_details(importer=importer, imported=imported)
        where = ", ".join(f"line {d['line_number']}" for d in details) or "?"
        lines.append(f"    {importer} -> {imported}  ({where})")
    return "\n".join([f"  cycle between {', '.join(component)}:", *lines])


def main() -> int:
    graph = grimp.build_graph(*PACKAGES, cache_dir=None)
    found = cycles(graph)
    if not found:
        print(f"check_import_cycles: no cycle among {len(graph.modules)} modules of {', '.join(PACKAGES)}")
        return 0
    print(f"check_import_cycles: {len(found)} import cycle(s)", file=sys.stderr)
    for component in found:
        print(describe(graph, component), file=sys.stderr)
    return 1


if __name__ == "__main__":
    sys.exit(main())
