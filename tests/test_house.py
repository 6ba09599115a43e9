"""The house's rules that a reader cannot check at a glance (issue 24): no import cycles in
`vms/` or `ui/`, the command line one module per command with every command wired, and the top
of `vms/` kept to entry points and foundations."""

from __future__ import annotations

import argparse
import ast
from pathlib import Path

from tests.conftest import REPO
from vms.cli import build_parser


def _module(root: Path, path: Path) -> str:
    parts = list(path.relative_to(root).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def import_graph(root: Path, packages: tuple[str, ...]) -> dict[str, set[str]]:
    """Each module's imports of other modules in ``packages``: at module level and inside
    functions alike (a lazy import is still a dependency), not under ``TYPE_CHECKING``."""
    files = {_module(root, p): p for pkg in packages for p in (root / pkg).rglob("*.py")}

    def known(name: str) -> str | None:
        while name and name not in files:
            name = name.rpartition(".")[0]
        return name or None

    graph: dict[str, set[str]] = {}
    for name, path in files.items():
        package = name if path.name == "__init__.py" else name.rpartition(".")[0]
        found: set[str] = set()
        for node in _walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                found.update(filter(None, (known(a.name) for a in node.names)))
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:
                    up = package.split(".")[: len(package.split(".")) - (node.level - 1)]
                    base = ".".join(up + ([node.module] if node.module else []))
                for a in node.names:
                    target = known(f"{base}.{a.name}") if f"{base}.{a.name}" in files \
                        else known(base)
                    if target:
                        found.add(target)
        found.discard(name)
        graph[name] = found
    return graph


def _walk(tree: ast.AST) -> list[ast.AST]:
    out: list[ast.AST] = []
    todo = [tree]
    while todo:
        node = todo.pop()
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            todo.extend(node.orelse)
            continue
        out.append(node)
        todo.extend(ast.iter_child_nodes(node))
    return out


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected groups of more than one module (Tarjan), each sorted."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on: set[str] = set()
    found: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on.add(v)
        for w in graph.get(v, ()):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            group = []
            while True:
                w = stack.pop()
                on.discard(w)
                group.append(w)
                if w == v:
                    break
            if len(group) > 1:
                found.append(sorted(group))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return found


def test_no_import_cycles_in_the_core_or_the_desktop() -> None:
    graph = import_graph(REPO, ("vms", "ui"))
    assert len(graph) > 150 and sum(map(len, graph.values())) > 500  # it read the tree
    assert cycles(graph) == []


def test_the_cycle_check_finds_a_cycle_even_through_a_lazy_import(tmp_path: Path) -> None:
    pkg = tmp_path / "pkg"
    (pkg / "sub").mkdir(parents=True)
    (pkg / "__init__.py").write_text("")
    (pkg / "sub" / "__init__.py").write_text("")
    (pkg / "a.py").write_text("from pkg.sub import b\n")
    (pkg / "sub" / "b.py").write_text("def f():\n    from .. import c\n")
    (pkg / "c.py").write_text("import pkg.a\n")
    (pkg / "d.py").write_text("from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n"
                              "    from pkg import a\n")
    assert cycles(import_graph(tmp_path, ("pkg",))) == [["pkg.a", "pkg.c", "pkg.sub.b"]]


def test_every_command_says_what_runs_it_and_what_it_needs() -> None:
    parser = build_parser()
    sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    assert len(sub.choices) >= 17
    for name, p in sub.choices.items():
        defaults = p._defaults
        assert callable(defaults.get("run")), f"'vms {name}' has no handler"
        assert defaults.get("needs") in ("user", "data_dir", "nothing"), name
    needs = {n: p._defaults["needs"] for n, p in sub.choices.items()}
    assert needs["verify"] == needs["serve"] == needs["sim"] == "data_dir"
    assert needs["evaluate"] == "nothing" and needs["export"] == needs["calls"] == "user"


def test_no_command_module_at_the_top_of_the_core() -> None:
    top = sorted(p.name for p in (REPO / "vms").glob("cli*.py"))
    assert top == [], f"command modules belong in vms/cli/: {top}"


# Exceptions that never leave their module: control flow inside one part, each saying so.
INTERNAL = {"Refused", "Missing"}  # vms/evidence/files.py: become findings in the report


def test_every_error_is_a_vms_error_defined_with_the_others() -> None:
    import vms.errors

    outside = []
    for path in [*(REPO / "vms").rglob("*.py"), *(REPO / "ui").rglob("*.py")]:
        rel = path.relative_to(REPO).as_posix()
        if rel == "vms/errors.py" or rel.startswith("vms/sim/"):  # the simulator is not the product
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ClassDef) and not node.name.startswith("_") and \
                    node.name not in INTERNAL and any(
                        ast.unparse(b).endswith(("Error", "Exception")) for b in node.bases):
                outside.append(f"{rel}: {node.name}")
    assert outside == [], "errors belong in vms/errors.py, under VmsError"
    errors = [v for v in vars(vms.errors).values()
              if isinstance(v, type) and issubclass(v, BaseException)]
    assert len(errors) > 30 and all(issubclass(e, vms.errors.VmsError) for e in errors)
