"""Commissioning: onboard a device and register it with its credentials, all or nothing."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from vms.coreloop import core_loop
from vms.credentials import CredentialStore, open_store
from vms.errors import VmsError
from vms.onvif.camera import Target, parse_target
from vms.onvif.http import Timeouts
from vms.onvif.model import DeviceReport
from vms.onvif.onboard import onboard
from vms.registry import Registry


def probe(address: str | Target, user: str, password: str,
          timeouts: Timeouts | None = None) -> DeviceReport:
    """Onboard without storing anything. Blocking: for the CLI and worker threads, never the GUI."""
    target = parse_target(address) if isinstance(address, str) else address
    return core_loop().call(onboard(target, user, password, timeouts))


@dataclass
class Added:
    device_id: int
    report: DeviceReport


class Commissioning:
    """The one service the CLI and the desktop use to add and remove devices."""

    def __init__(self, profile: Path, registry: Registry | None = None,
                 credentials: CredentialStore | None = None) -> None:
        self.profile = profile
        self.registry = registry or Registry.for_profile(profile)
        self._credentials = credentials

    @property
    def credentials(self) -> CredentialStore:
        if self._credentials is None:
            self._credentials = open_store(self.profile)
        return self._credentials

    def probe(self, address: str | Target, user: str, password: str,
              timeouts: Timeouts | None = None) -> DeviceReport:
        return probe(address, user, password, timeouts)

    def register(self, report: DeviceReport, password: str, *, name: str | None = None,
                 site: str | None = None, location: str | None = None) -> int:
        """Store credentials then the registry rows; undo the first if the second fails."""
        uid = self.registry.check_new(report)
        store = self.credentials
        store.set(uid, report.user, password)
        try:
            return self.registry.add_device(report, name=name, site=site, location=location)
        except BaseException:
            store.delete(uid)
            raise

    def add(self, address: str | Target, user: str, password: str, *, name: str | None = None,
            site: str | None = None, location: str | None = None,
            timeouts: Timeouts | None = None) -> Added:
        report = self.probe(address, user, password, timeouts)
        return Added(self.register(report, password, name=name, site=site, location=location), report)

    def remove(self, device_id: int) -> str:
        row = self.registry.remove_device(device_id)
        self.credentials.delete(row.uid)
        return row.name

    def credentials_for(self, device_id: int) -> tuple[str, str] | None:
        return self.credentials.get(self.registry.device(device_id).uid)


async def onboard_many(targets: list[tuple[Target, str, str]], concurrency: int = 16,
                       timeouts: Timeouts | None = None,
                       on_done: Callable[[Target, DeviceReport | VmsError], None] | None = None,
                       ) -> list[DeviceReport | VmsError]:
    """Onboard several devices at once on the core loop, each failure kept to its device."""
    sem = asyncio.Semaphore(concurrency)

    async def one(t: Target, user: str, pw: str) -> DeviceReport | VmsError:
        async with sem:
            try:
                res: DeviceReport | VmsError = await onboard(t, user, pw, timeouts)
            except VmsError as exc:
                res = exc
        if on_done:
            on_done(t, res)
        return res

    return list(await asyncio.gather(*(one(*x) for x in targets)))
