"""The core (vms/) must never import Qt or the UI: it runs headless and is tested without a display."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

FORBIDDEN = ("PySide6", "shiboken6", "pyqtgraph", "PyQt5", "PyQt6", "ui")
CORE = Path(__file__).resolve().parents[1] / "vms"


def _imports(path: Path) -> list[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    names = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names += [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.append(node.module)
    return names


def test_no_core_module_imports_qt_or_ui() -> None:
    offenders = []
    files = sorted(CORE.rglob("*.py"))
    assert len(files) > 10, "the core package was not found"
    for f in files:
        for name in _imports(f):
            if name.split(".")[0] in FORBIDDEN:
                offenders.append(f"{f.relative_to(CORE.parent)} imports {name}")
    assert not offenders, "\n".join(offenders)


def test_importing_every_core_module_loads_no_qt() -> None:
    """Catches indirect imports too (a core dependency that drags Qt in)."""
    code = (
        "import importlib, pkgutil, sys, vms\n"
        "for m in pkgutil.walk_packages(vms.__path__, 'vms.'):\n"
        "    if m.name != 'vms.__main__':\n"
        "        importlib.import_module(m.name)\n"
        f"bad = [m for m in sys.modules if m.split('.')[0] in {FORBIDDEN!r}]\n"
        "print(len([m for m in sys.modules if m.startswith('vms')]))\n"
        "assert not bad, bad\n"
    )
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert res.returncode == 0, res.stderr
    assert int(res.stdout.strip()) > 10
