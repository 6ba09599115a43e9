"""The house's rules that a reader cannot check at a glance (issue 24): the command line one
module per command with every command wired, the top of `vms/` kept free of command modules,
every error a VmsError defined in one place, and every device action through one gate.
(Import cycles: test_import_cycles.py.)"""

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


def _quiet_handlers(source: str) -> list[int]:
    """Lines of the handlers that drop an error without a word: an ``except`` whose body is
    only ``pass``/``...``, or a ``with contextlib.suppress(...)``, with no comment (on its
    line, the line before, or the ``pass``) saying why dropping it is safe."""
    lines = source.splitlines()

    def said(*numbers: int) -> bool:
        return any("#" in lines[n - 1] for n in numbers if 0 < n <= len(lines))

    quiet = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.ExceptHandler) and all(
                isinstance(s, ast.Pass) or (isinstance(s, ast.Expr) and
                                            isinstance(s.value, ast.Constant)) for s in node.body):
            if not said(node.lineno - 1, node.lineno, *(s.lineno for s in node.body)):
                quiet.append(node.lineno)
        elif isinstance(node, ast.With | ast.AsyncWith) and any(
                ast.unparse(i.context_expr).startswith(("contextlib.suppress", "suppress("))
                for i in node.items) and not said(node.lineno - 1, node.lineno):
            quiet.append(node.lineno)
    return sorted(quiet)


def test_no_error_is_dropped_without_saying_why() -> None:
    """Issue 24: no silent ``except``; each recovers visibly or says why it is safe."""
    bad = ("try:\n    f()\nexcept OSError:\n    pass\n"
           "with contextlib.suppress(OSError):\n    g()\n")
    assert _quiet_handlers(bad) == [3, 5], "the check finds nothing: it proves nothing"
    assert _quiet_handlers(bad.replace("OSError:\n", "OSError:  # gone already\n")
                           .replace("(OSError):\n", "(OSError):  # best effort\n")) == []
    quiet = []
    for path in [*(REPO / "vms").rglob("*.py"), *(REPO / "ui").rglob("*.py")]:
        rel = path.relative_to(REPO).as_posix()
        quiet += [f"{rel}:{n}" for n in _quiet_handlers(path.read_text(encoding="utf-8"))]
    assert quiet == [], "say why each of these may drop an error, or handle it"


# The top of vms/: the package's entry points and the foundations every part stands on.
TOP = {
    "__init__.py": "the package and its version", "__main__.py": "python -m vms",
    "errors.py": "the one error hierarchy", "paths.py": "where a profile's files live",
    "coreloop.py": "the one asyncio loop", "retry.py": "the one retry policy",
    "profile.py": "a profile opened: the databases and services a command or desk uses",
    "credentials.py": "the OS keyring, which every part that opens a device needs",
    "settings.py": "the profile's settings", "sqlite_local.py": "a local SQLite file, opened safely",
}


def test_the_top_of_the_core_holds_only_entry_points_and_foundations() -> None:
    top = {p.name for p in (REPO / "vms").glob("*.py")}
    assert top <= set(TOP), f"put these in the part they belong to: {sorted(top - set(TOP))}"


# Permissions to act on a device itself (the call and evidence rights are checked by their
# services against the incident or clip, not by opening the device).
DEVICE_ACTIONS = {"LIVE_VIEW", "PTZ", "TALK", "RELAY", "DEVICE_CONFIGURE", "DEVICE_REMOVE"}
# Keyring reads that are not a device's login.
NOT_DEVICE_LOGINS = {"vms/audit/ledger.py": "the audit chain's key",
                     "vms/evidence/ca.py": "the evidence CA's passphrase",
                     "vms/evidence/signing.py": "whether the signing passphrase is kept",
                     "vms/site/database.py": "the site database's password",
                     "vms/cli/site.py": "the site database's password, put back if refused"}


def _around_the_gate(source: str) -> list[int]:
    """Lines that read a keyring entry, or check a device-action right on a device, directly."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)):
            continue
        owner = node.func.value
        named = owner.attr if isinstance(owner, ast.Attribute) else getattr(owner, "id", "")
        if node.func.attr == "get" and named == "credentials":
            found.append(node.lineno)
        elif node.func.attr == "require" and named == "access" and len(node.args) >= 3:
            perm = node.args[1]
            if isinstance(perm, ast.Attribute) and perm.attr in DEVICE_ACTIONS:
                found.append(node.lineno)
    return found


def test_every_device_action_goes_through_the_device_gate() -> None:
    """Issue 24: find the device, check the right, read its login, audit: one way, in
    ``vms/devices/gate.py``, not written out again by each action."""
    sample = ("creds = self.profile.credentials.get(row.uid)\n"
              "self.profile.access.require(self.session, Permission.PTZ, row, action='x')\n"
              "access.require(session, P.USERS_MANAGE, action='users')\n")
    assert _around_the_gate(sample) == [1, 2], "the check finds nothing: it proves nothing"
    bypass = []
    for path in [*(REPO / "vms").rglob("*.py"), *(REPO / "ui").rglob("*.py")]:
        rel = path.relative_to(REPO).as_posix()
        if rel in ("vms/devices/gate.py", *NOT_DEVICE_LOGINS):
            continue
        bypass += [f"{rel}:{n}" for n in _around_the_gate(path.read_text(encoding="utf-8"))]
    assert bypass == [], "open the device through vms.devices.gate.DeviceGate"
