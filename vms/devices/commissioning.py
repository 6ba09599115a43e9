"""Commissioning: onboard a device and register it with its credentials, all or nothing.

``Commissioning`` is the service the CLI and the desktop use; each call checks the
session's permission first and writes what it did to the audit trail.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from vms.access.roles import Permission
from vms.access.session import Session
from vms.coreloop import core_loop
from vms.credentials import CredentialStore
from vms.devices.gate import DeviceGate, keyring_login
from vms.discovery.wsd import Scan, Sighting
from vms.errors import ConfigError, VmsError
from vms.onvif.camera import Target, parse_target
from vms.onvif.http import Timeouts
from vms.onvif.model import DeviceReport
from vms.onvif.onboard import onboard
from vms.profile import Profile
from vms.store import Registry
from vms.store.devices import DeviceRow, label

P = Permission


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
    """The one service the CLI and the desktop use to find, add and remove devices."""

    def __init__(self, profile: Profile, session: Session) -> None:
        self.profile = profile
        self.session = session
        self.access = profile.access
        self.registry: Registry = profile.registry
        self.gate = DeviceGate(profile, session)

    @property
    def credentials(self) -> CredentialStore:
        return self.profile.credentials

    def kept_user(self, row: DeviceRow) -> str | None:
        """The device's user name as kept in the keyring (offered when a login is changed;
        the password is never handed out)."""
        login = keyring_login(self.profile, row)
        return login[0] if login else None

    def devices(self) -> list[DeviceRow]:
        """The registered devices this user may see."""
        return self.access.visible(self.session, self.registry.devices())

    async def discover(self, timeout: float, targets: list[str], multicast: bool = True,
                       port: int = 3702, on_found: Any = None,
                       interface: str | None = None) -> Scan:
        from vms.discovery.wsd import discover

        # The checks touch SQLite: keep them off the core loop.
        await asyncio.to_thread(self.access.require, self.session, P.DEVICE_DISCOVER,
                                action="device.discover")
        found = await discover(timeout, targets, multicast, port, on_found, interface)
        await asyncio.to_thread(self.access.record, self.session, "device.discover",
                                detail={"multicast": multicast, "ranges": targets,
                                        "found": len(found), "ignored": found.notes})
        return found

    def record_sighting(self, s: Sighting, source: str) -> None:
        self.access.require(self.session, P.DEVICE_DISCOVER, action="device.discover")
        self.registry.record_sighting(s, source)

    def probe(self, address: str | Target, user: str, password: str,
              timeouts: Timeouts | None = None) -> DeviceReport:
        self.access.require(self.session, P.DEVICE_DISCOVER, action="device.probe")
        where = address if isinstance(address, str) else address.url
        try:
            rep = probe(address, user, password, timeouts)
        except VmsError as exc:
            self.access.record(self.session, "device.probe", outcome="failed",
                               detail={"address": where, "device_user": user, "error": str(exc)})
            raise
        self.access.record(self.session, "device.probe",
                           detail={"address": rep.address, "device_user": user,
                                   "model": rep.model, "clock_offset_s": rep.clock_offset_s})
        return rep

    def register(self, report: DeviceReport, password: str, *, name: str | None = None,
                 area: str | None = None, location: str | None = None) -> int:
        """Store credentials then the registry rows; undo the first if the second fails."""
        self.access.require(self.session, P.DEVICE_ADD, action="device.add")
        uid = self.registry.check_new(report)
        store = self.credentials
        store.set(uid, report.user, password)
        try:
            dev_id = self.registry.add_device(report, name=name, area=area, location=location)
        except BaseException:
            store.delete(uid)
            raise
        row = self.registry.device(dev_id)
        self.gate.done("device.add", row, {"address": row.address, "model": row.model,
                                           "device_user": report.user})
        return dev_id

    def add(self, address: str | Target, user: str, password: str, *, name: str | None = None,
            area: str | None = None, location: str | None = None,
            timeouts: Timeouts | None = None) -> Added:
        self.access.require(self.session, P.DEVICE_ADD, action="device.add")
        report = self.probe(address, user, password, timeouts)
        return Added(self.register(report, password, name=name, area=area, location=location), report)

    def allow_basic_rtsp(self, device_id: int, allow: bool) -> str:
        """Accept (or no longer accept) a camera that wants its RTSP password in clear text
        (Basic on plain RTSP): an installer's decision for a network they trust, audited."""
        row = self.gate.allowed(device_id, P.DEVICE_CONFIGURE, "device.allow_basic_rtsp")
        self.registry.set_allow_basic_rtsp(device_id, allow)
        self.gate.done("device.allow_basic_rtsp", row, {"allow": allow})
        return row.name

    def change_login(self, device_id: int, user: str, password: str,
                     timeouts: Timeouts | None = None) -> str:
        """A device's ONVIF account changed (or was entered wrong): try the new login on the
        device first, so a typing error is refused here and the working login is kept; then
        keep it in the keyring in place of the old one."""
        row = self.gate.allowed(device_id, P.DEVICE_CONFIGURE, "device.login")
        if not password:
            raise ConfigError("enter the device's password")
        try:
            rep = probe(row.address, user, password, timeouts)
        except VmsError as exc:
            self.access.record(self.session, "device.login", device=row, outcome="failed",
                               detail={"device_user": user, "error": str(exc)})
            raise
        if self.registry.uid_for(rep) != row.uid:
            raise ConfigError(f"{row.address} now answers as another device "
                              f"({rep.model or 'unknown model'}); remove {row.name} and add it")
        self.credentials.set(row.uid, user, password)
        self.gate.done("device.login", row, {"device_user": user})
        return row.name

    def rename(self, device_id: int, name: str) -> DeviceRow:
        """Give a device the name operators know it by (audited, old and new); every window
        shows the registry's name, so the change is seen everywhere."""
        row = self.gate.allowed(device_id, P.DEVICE_CONFIGURE, "device.rename")
        return self._name_and_place(row, name, row.area, row.location)

    def move(self, device_id: int, area: str, location: str | None = None) -> DeviceRow:
        """Put a device in another area (made if new) and place within it (audited);
        ``location`` None keeps its place."""
        row = self.gate.allowed(device_id, P.DEVICE_CONFIGURE, "device.move")
        return self._name_and_place(row, row.name, area,
                                    row.location if location is None else location)

    def name_and_place(self, device_id: int, name: str, area: str,
                       location: str | None) -> DeviceRow:
        """Name, area and place at once (the desktop's dialog): all checked before anything
        is written, then written together, so a refusal leaves the device as it was."""
        row = self.gate.allowed(device_id, P.DEVICE_CONFIGURE, "device.rename")
        return self._name_and_place(row, name, area, location)

    def _name_and_place(self, row: DeviceRow, name: str, area: str,
                        location: str | None) -> DeviceRow:
        name, area = label(name, "name"), label(area, "area")
        place = label(location or "", "place") or None
        if not name:
            raise ConfigError("enter a name for the camera")
        if name.isdigit():
            raise ConfigError("a name of digits only would be read as a device id: add a word")
        if not area:
            raise ConfigError("enter the area the camera belongs to")
        others = [d for d in self.registry.devices() if d.id != row.id]
        if any(d.name.casefold() == name.casefold() for d in others):
            raise ConfigError(f"another device is already called '{name}': choose another name")
        # "town centre" is the Town Centre area already there, not a second one
        area = next((d.area for d in others if d.area.casefold() == area.casefold()), area)
        renamed = name != row.name
        moved = (area, place) != (row.area, label(row.location or "", "place") or None)
        if not renamed and not moved:
            return row
        self.registry.set_name_and_place(row.id, name, area, place)
        if renamed:
            self.gate.done("device.rename", row, {"from": row.name, "to": name})
        if moved:
            self.gate.done("device.move", row, {"from_area": row.area, "to_area": area,
                                                "from_location": row.location,
                                                "to_location": place})
        return self.registry.device(row.id)

    def remove(self, device_id: int) -> str:
        row = self.gate.allowed(device_id, P.DEVICE_REMOVE, "device.remove")
        self.registry.remove_device(device_id)
        self.credentials.delete(row.uid)
        self.gate.done("device.remove", row, {"address": row.address})
        return row.name


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
