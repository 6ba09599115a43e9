"""No import cycle in the core or the desktop (issues 21, 24): each module's imports, at the top or inside a
function (a cycle hidden in a function still ties the two modules' designs together),
walked from the source; only ``if TYPE_CHECKING:`` imports, which never run, are left out."""

from __future__ import annotations

import ast
import graphlib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def module_name(path: Path, root: Path = ROOT) -> str:
    parts = list(path.relative_to(root).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def imports(path: Path, modules: set[str], root: Path = ROOT) -> set[str]:
    tree = ast.parse(path.read_text(), str(path))
    skip: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            skip |= {id(n) for b in node.body for n in ast.walk(b)}
    me = module_name(path, root)
    package = me if path.name == "__init__.py" else me.rpartition(".")[0]
    out: set[str] = set()
    for node in ast.walk(tree):
        if id(node) in skip:
            continue
        names: list[str] = []
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                up = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join(up + ([base] if base else []))
            names = [base] + [f"{base}.{a.name}" for a in node.names]
        for n in names:
            # the deepest module of ours that the name is, or is in
            while n and n not in modules:
                n = n.rpartition(".")[0]
            if n and n != me and not me.startswith(n + "."):
                out.add(n)
    return out


def tangles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Groups of modules that import each other, round (strongly connected, Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    out: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        for w in graph.get(v, ()):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            group = []
            while True:
                w = stack.pop()
                group.append(w)
                if w == v:
                    break
            if len(group) > 1:
                out.append(sorted(group))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return out


def graph_of(root: Path, packages: tuple[str, ...]) -> dict[str, set[str]]:
    files = sorted(p for pkg in packages for p in (root / pkg).rglob("*.py"))
    modules = {module_name(p, root) for p in files}
    return {module_name(p, root): imports(p, modules, root) for p in files}


def test_the_core_and_the_desktop_have_no_import_cycle() -> None:
    graph = graph_of(ROOT, ("vms", "ui"))
    assert len(graph) > 150 and sum(map(len, graph.values())) > 500  # it read the tree
    groups = tangles(graph)
    example = ""
    try:
        graphlib.TopologicalSorter(graph).prepare()
    except graphlib.CycleError as exc:
        example = " -> ".join(reversed(exc.args[1]))
    shown = "\n".join(", ".join(g) for g in groups)
    assert not groups, f"modules that import each other round, e.g. {example}:\n{shown}"


def test_the_check_finds_a_cycle_even_through_a_lazy_relative_import(tmp_path: Path) -> None:
    pkg = tmp_path / "pkg"
    (pkg / "sub").mkdir(parents=True)
    (pkg / "__init__.py").write_text("")
    (pkg / "sub" / "__init__.py").write_text("")
    (pkg / "a.py").write_text("from pkg.sub import b\n")
    (pkg / "sub" / "b.py").write_text("def f():\n    from .. import c\n")
    (pkg / "c.py").write_text("import pkg.a\n")
    (pkg / "d.py").write_text("from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n"
                              "    from pkg import a\n")
    assert tangles(graph_of(tmp_path, ("pkg",))) == [["pkg.a", "pkg.c", "pkg.sub.b"]]
