"""The set-up every journey shares, done outside the windows: a simulated site on the desk's
own profile (as the demo runs it), the accounts the journey signs in with, and any devices it
takes as already registered."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path

from tests.conftest import PASSWORD, USER, Sim, signed_in, start_sim
from vms.access.admin import UserAdmin
from vms.access.roles import Role
from vms.devices.commissioning import Commissioning
from vms.profile import Profile


@contextlib.contextmanager
def simulated_site(tmp_path: Path, clip_cache: Path, *, config: str | None = None,
                   users: dict[str, tuple[Role, str]], registered: tuple[str, ...] = ()
                   ) -> Iterator[tuple[Sim, Profile]]:
    extra: tuple[str, ...] = ()
    if config is not None:
        cfg = tmp_path / "site.toml"
        cfg.write_text(config)
        extra = ("--config", str(cfg))
    data = tmp_path / "profile"
    sim = start_sim(data, clip_cache, *extra)
    profile, admin = signed_in(data)
    try:
        svc = Commissioning(profile, admin)
        for name in registered:
            svc.add(sim.address(name), USER, PASSWORD)
        accounts = UserAdmin(profile.access, admin)
        for name, (role, password) in users.items():
            accounts.add(name, role, password)
        profile.access.sign_out(admin, "set-up done")
        yield sim, profile
    finally:
        profile.close()
        sim.stop()
