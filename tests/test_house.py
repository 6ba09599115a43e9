"""The house's rules that a reader cannot check at a glance (issue 24): the command line one
module per command with every command wired, the top of `vms/` kept free of command modules,
and every error a VmsError defined in one place. (Import cycles: test_import_cycles.py.)"""

from __future__ import annotations

import argparse
import ast

from tests.conftest import REPO
from vms.cli import build_parser


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
