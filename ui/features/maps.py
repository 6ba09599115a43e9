"""The site map (View → Site map, Ctrl+G): one window, fed the live state the desk already has
(event health, recording, calls), acting on a pin's click: the device's call if it has one,
else its camera on the wall's selected tile. For those who may see loans, its area list also
offers loaned kit by coordinates, with the police.uk crime near each premises."""

from __future__ import annotations

from PySide6.QtCore import Qt, QTimer
from shiboken6 import isValid

from ui.features.admin import CLOSES_ON_LOCK
from ui.features.signed_in import SignedIn
from ui.maps.window import MapWindow
from vms.access.roles import Permission
from vms.incidents.queue import NEW
from vms.loans.loans import Loans
from vms.maps.coordinates import KitMap, kit_map, loaned_kit
from vms.maps.plans import SitePlans

LOANS_EVERY_MS = 60_000


class MapsFeature:
    def __init__(self, ctx: SignedIn) -> None:
        self.ctx = ctx
        self.window: MapWindow | None = None
        ctx.window.open_maps.triggered.connect(self.show)

    def is_open(self) -> bool:
        return self.window is not None and isValid(self.window) and self.window.isVisible()

    def show(self) -> MapWindow:
        if self.window is not None and self.is_open():
            self.window.raise_()
            self.window.activateWindow()
            return self.window
        ctx = self.ctx
        win = MapWindow(SitePlans(ctx.profile, ctx.session),
                        ctx.access.can(ctx.session, Permission.DEVICE_CONFIGURE))
        win.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        win.setProperty(CLOSES_ON_LOCK, True)
        calls, service, pane = ctx.calls, ctx.calls.service, ctx.live.pane
        for h in list(service.health.values()):
            win.set_health(h)
        for device_id, level in list(calls.alarms.items()):
            win.set_alarm(device_id, level)
        win.set_recording(dict(pane.on_air))
        service.health_changed.connect(win.set_health)
        calls.alarm_changed.connect(win.set_alarm)
        pane.recording_changed.connect(win.set_recording)
        win.pin_activated.connect(self.activate)
        win.message.connect(lambda text: ctx.say(text, 8000))
        ctx.after(ctx.svc.devices, win.set_devices, "the site map")
        if ctx.access.can(ctx.session, Permission.LOANS_VIEW):
            win.kit_source = self._kit
            # read now and every minute: the map may stay open all shift while loans end
            def loans_read() -> None:
                ctx.after(self._on_loan, lambda on: win.set_loans(on) if isValid(win) else None,
                          "the loaned cameras on the map")
            timer = QTimer(win)
            timer.setInterval(LOANS_EVERY_MS)
            timer.timeout.connect(loans_read)
            timer.start()
            loans_read()
        self.window = win
        win.show()
        return win

    def _on_loan(self) -> dict[int, str]:
        """Devices deployed at victims' premises now (off the GUI thread)."""
        loans = Loans(self.ctx.profile, self.ctx.session)
        try:
            return {device_id: f"{d.premises} until {d.end:%d %b %Y}"
                    for d in loans.deployments() for device_id, _name in d.devices}
        finally:
            loans.close()

    def _kit(self) -> KitMap:
        """Loaned kit by coordinates, with the crime near it (off the GUI thread)."""
        ctx = self.ctx
        loans = Loans(ctx.profile, ctx.session)
        try:
            kit = loaned_kit(loans)
        finally:
            loans.close()
        return kit_map(kit, str(ctx.access.accounts.settings().value("crimes_dir") or ""))

    def activate(self, device_id: int) -> None:
        """A pin clicked: the device's call (the one waiting first), else its camera on the
        wall's selected tile."""
        ctx = self.ctx
        open_calls = sorted((i for i in ctx.calls.queue_pane.items.values()
                             if i.device_id == device_id),
                            key=lambda i: (i.state != NEW, i.priority, i.id))
        if open_calls:
            ctx.calls.show_pane(open_calls[0].id)
            return
        wall = ctx.live.pane.wall
        wall.assign(wall.selected, device_id)
        row = ctx.live.pane.rows.get(device_id)
        ctx.say(f"{row.name if row else 'The camera'} is on tile {wall.selected + 1}.", 6000)
