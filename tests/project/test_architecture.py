"""The package's import structure: no circle, and the floors of pyproject's import-linter
contract (also run by `make test` as `lint-imports`; this test says which modules go round)."""

from __future__ import annotations

import pytest

grimp = pytest.importorskip("grimp", reason="import-linter (the dev extra) is not installed")


def _imports(graph, module: str):
    return iter(sorted(graph.find_modules_directly_imported_by(module)))


def _circles(graph) -> list[set[str]]:
    """Strongly connected groups of modules (Tarjan's algorithm, iterative): a group of more
    than one module is an import circle."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    groups: list[set[str]] = []
    counter = 0
    for start in sorted(graph.modules):
        if start in index:
            continue
        work = [(start, _imports(graph, start))]
        index[start] = low[start] = counter
        counter += 1
        stack.append(start)
        on_stack.add(start)
        while work:
            node, children = work[-1]
            for child in children:
                if child not in index:
                    index[child] = low[child] = counter
                    counter += 1
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, _imports(graph, child)))
                    break
                if child in on_stack:
                    low[node] = min(low[node], index[child])
            else:
                work.pop()
                if work:
                    low[work[-1][0]] = min(low[work[-1][0]], low[node])
                if low[node] == index[node]:
                    group = set()
                    while True:
                        member = stack.pop()
                        on_stack.discard(member)
                        group.add(member)
                        if member == node:
                            break
                    if len(group) > 1:
                        groups.append(group)
    return groups


def test_no_import_circle():
    # annotation-only imports (under TYPE_CHECKING) never run, so they do not count
    graph = grimp.build_graph("chainrule", exclude_type_checking_imports=True)
    assert _circles(graph) == []


def test_below_the_package_nothing_imports_it():
    """`import chainrule` loads the engine, nn, optim, data, train, checkpoint, capture and
    viz; none of those may import the package back (checkpoint once did, for the version)."""
    graph = grimp.build_graph("chainrule", exclude_type_checking_imports=True)
    below = set()
    for module in graph.find_modules_directly_imported_by("chainrule"):
        below |= {module} | graph.find_upstream_modules(module)
    assert not {m for m in below if "chainrule" in graph.find_modules_directly_imported_by(m)}


def test_the_circle_finder_finds_a_circle():
    graph = grimp.ImportGraph()
    for name in ("pkg", "pkg.a", "pkg.b", "pkg.c"):
        graph.add_module(name)
    graph.add_import(importer="pkg.a", imported="pkg.b")
    graph.add_import(importer="pkg.b", imported="pkg.a")
    graph.add_import(importer="pkg.c", imported="pkg.a")
    assert _circles(graph) == [{"pkg.a", "pkg.b"}]
