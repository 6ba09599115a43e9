"""The signed-in desktop profile the GUI benchmarks start from (an administrator and an operator)."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any


def bench_desk(folder: Path) -> tuple[Any, Any, Any, Any]:
    """(QApplication with the house style, Profile, administrator session, operator session)."""
    from PySide6.QtWidgets import QApplication

    import resources
    from vms.access.admin import UserAdmin, create_first_administrator
    from vms.access.roles import Role
    from vms.profile import Profile

    app = QApplication(sys.argv[:1])
    app.setStyleSheet(resources.path("styles/app.qss").read_text())
    profile = Profile(folder)
    create_first_administrator(profile.access, "bench-admin", "bench-admin-pass",
                               via="cli", workstation="bench")
    admin = profile.access.sign_in("bench-admin", "bench-admin-pass", via="cli")
    UserAdmin(profile.access, admin).add("bench-op", Role.OPERATOR, "bench-op-pass1")
    op = profile.access.sign_in("bench-op", "bench-op-pass1", via="desktop")
    return app, profile, admin, op
