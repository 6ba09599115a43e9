"""Registered devices from the camera tree: find, link, details (with live events), login,
removal."""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtWidgets import QDialog, QMessageBox, QWidget

from ui import tasks
from ui.dialogs.credentials import DeviceLoginDialog
from ui.dialogs.device_details import DeviceDetailsDialog
from ui.dialogs.device_place import DevicePlaceDialog
from ui.dialogs.discovery import DiscoveryDialog, defaults_for
from ui.dialogs.events_watch import EventsWatchDialog
from ui.dialogs.links import LinksDialog
from ui.features.signed_in import SignedIn
from vms.access.roles import Permission
from vms.devices.links import CameraLinks
from vms.events.inspect import EventInspector
from vms.store.devices import DeviceRow


class DeviceFeature:
    def __init__(self, ctx: SignedIn) -> None:
        self.ctx = ctx
        cameras = ctx.window.cameras
        cameras.find_requested.connect(self.find_cameras)
        cameras.links_requested.connect(self.show_links)
        cameras.details_requested.connect(self.show_details)
        cameras.login_requested.connect(self.change_login)
        cameras.remove_requested.connect(self.remove)
        cameras.place_requested.connect(self.name_and_place)

    def find_cameras(self) -> None:
        ctx = self.ctx
        DiscoveryDialog(ctx.svc, defaults_for(ctx.link.last_status), ctx.window).exec()

    def show_links(self, device_id: int) -> None:
        ctx = self.ctx

        def show(rows: list[DeviceRow]) -> None:
            device = next((r for r in rows if r.id == device_id), None)
            if device is not None:
                links = CameraLinks(ctx.profile, ctx.session, ctx.live.ptz)  # the wall's PTZ
                LinksDialog(links, device, rows, ctx.window).exec()
        ctx.after(ctx.svc.devices, show, "the linked cameras")

    def show_details(self, device_id: int) -> None:
        ctx = self.ctx

        def watch(device: DeviceRow, parent: QWidget) -> object:
            return EventsWatchDialog(EventInspector(ctx.profile, ctx.session), device,
                                     parent).exec()
        offer = ctx.access.can(ctx.session, Permission.DEVICE_DISCOVER)
        self._with_device(device_id, lambda device, _user: DeviceDetailsDialog(
            device, ctx.window, watch if offer else None).exec(), "the device details")

    def _with_device(self, device_id: int, show: Callable[[DeviceRow, str | None], object],
                     what: str, login: bool = False) -> None:
        """``show(device, stored user name)``, the device (and, if ``login``, the user name
        kept in the keyring) read off the GUI thread."""
        svc = self.ctx.svc

        def read() -> tuple[DeviceRow, str | None] | None:
            device = next((r for r in svc.devices() if r.id == device_id), None)
            if device is None:
                return None
            return device, svc.kept_user(device) if login else None

        def shown(found: tuple[DeviceRow, str | None] | None) -> None:
            if found is not None:
                show(*found)
        self.ctx.after(read, shown, what)

    def change_login(self, device_id: int) -> None:
        ctx = self.ctx

        def show(device: DeviceRow, user: str | None) -> None:
            dlg = DeviceLoginDialog(device.name, user or "admin",
                                    lambda user, pw: ctx.svc.change_login(device_id, user, pw),
                                    ctx.window)
            if dlg.exec() == QDialog.DialogCode.Accepted:
                ctx.say(f"{device.name}: the new login works and is kept in the keyring.")
        self._with_device(device_id, show, "the device's login", login=True)

    def name_and_place(self, device_id: int) -> None:
        ctx = self.ctx

        def save(name: str, area: str, location: str) -> DeviceRow:
            return ctx.svc.name_and_place(device_id, name, area, location)

        def show(rows: list[DeviceRow]) -> None:
            device = next((r for r in rows if r.id == device_id), None)
            if device is None:
                return
            dlg = DevicePlaceDialog(device, sorted({r.area for r in rows}), save, ctx.window)
            if dlg.exec() == QDialog.DialogCode.Accepted and dlg.saved is not None:
                ctx.window.cameras.refresh()  # the tree, then the wall's captions
                row = dlg.saved
                ctx.say(f"Saved: {row.name}, {row.location or 'no place given'}, in {row.area}.")
        ctx.after(ctx.svc.devices, show, "the device's name and place")

    def remove(self, device_id: int) -> None:
        ctx = self.ctx

        def show(device: DeviceRow, _user: str | None) -> None:
            answer = QMessageBox.question(
                ctx.window, "Remove device — Beacon VMS",
                f"Remove {device.name} ({device.location or device.area})? Beacon stops showing "
                "and recording it and deletes its password from the keyring. Its recordings and "
                "its audit stay.",
                QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.Cancel,
                QMessageBox.StandardButton.Cancel)
            if answer != QMessageBox.StandardButton.Yes:
                return
            tasks.run(lambda: ctx.svc.remove(device_id),
                      lambda name: ctx.say(f"Removed {name}."),
                      lambda e: ctx.say(f"{device.name} was not removed: {e}", 0))
        self._with_device(device_id, show, "the device")
