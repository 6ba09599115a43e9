"""The set-up every journey shares, done outside the windows: a simulated site on the desk's
own profile (as the demo runs it), the accounts the journey signs in with, and any devices it
takes as already registered."""

from __future__ import annotations

import contextlib
import datetime as dt
from collections.abc import Iterator
from pathlib import Path

from tests.conftest import ADMIN, ADMIN_PASSWORD, PASSWORD, USER, Sim, signed_in, start_sim
from vms.access.admin import UserAdmin
from vms.access.roles import Role
from vms.devices.commissioning import Commissioning
from vms.loans.loans import Loans
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


def lend(profile: Profile, device: str) -> None:
    """``device`` lent to a burgled household at 12 Elm Road from today, as a loan
    coordinator records it (a loan of the programme the journeys' set-up shares)."""
    admin = profile.access.sign_in(ADMIN, ADMIN_PASSWORD, via="cli")
    loans = Loans(profile, admin)
    try:
        did = next(d.id for d in profile.registry.devices() if d.name == device)
        loans.open_loan(name="12 Elm Road", address="12 Elm Road, Northampton NN1 1AA",
                        lat=52.24, lon=-0.9, urn="NP/2026/0001", contact="",
                        reason="repeat burglary", response_level="", on_test=False,
                        devices=[did], installed=dt.date.today(), signage=True, notes="")
    finally:
        loans.close()
        profile.access.sign_out(admin, "loan recorded")
