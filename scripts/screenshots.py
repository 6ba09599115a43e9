"""Regenerate docs/screenshots/*.png from the real desktop on the simulated site.

Run under a real X server, e.g. ``xvfb-run -a -s "-screen 0 1400x900x24" python scripts/screenshots.py``.
It starts a site on a throwaway profile, raises a Help Point call, an intrusion and
an outage so every state shows, and grabs the main window.
"""

from __future__ import annotations

import contextlib
import sys
import tempfile
import time
from pathlib import Path

from PySide6.QtCore import QEventLoop, QItemSelectionModel
from PySide6.QtWidgets import QApplication

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

import resources  # noqa: E402
from tests import audio_sink  # noqa: E402

# A sound output of its own (the tests' null sink), or every screenshot of the call list would
# say the desk cannot be heard: Xvfb machines have no sound card.
audio_sink.start_for_tests()
from ui.calls.desk import CallDesk  # noqa: E402
from ui.calls.service_link import ServiceLink  # noqa: E402
from ui.dialogs.audit_viewer import AuditViewer  # noqa: E402
from ui.dialogs.diagnostics import DiagnosticsDialog  # noqa: E402
from ui.dialogs.discovery import DiscoveryDialog, defaults_for  # noqa: E402
from ui.dialogs.links import LinksDialog  # noqa: E402
from ui.dialogs.sign_in import LockDialog, SignInDialog  # noqa: E402
from ui.dialogs.users import UsersDialog  # noqa: E402
from ui.main_window import MainWindow  # noqa: E402
from ui.playback.window import PlaybackWindow  # noqa: E402
from ui.simulator_link import SimulatorLink  # noqa: E402
from ui.wall.assembly import assemble  # noqa: E402
from vms.access.admin import UserAdmin, create_first_administrator  # noqa: E402
from vms.access.roles import Role  # noqa: E402
from vms.audio.announcements import clip  # noqa: E402
from vms.audit.trail import AuditTrail  # noqa: E402
from vms.devices.commissioning import Commissioning  # noqa: E402
from vms.devices.links import CameraLinks  # noqa: E402
from vms.devices.live import LiveView  # noqa: E402
from vms.devices.ptz import PtzControl  # noqa: E402
from vms.errors import VmsError  # noqa: E402
from vms.events.store import EventStore  # noqa: E402
from vms.profile import Profile  # noqa: E402
from vms.recording.service import Recording  # noqa: E402
from vms.recording.timeline_data import TimelineData  # noqa: E402
from vms.sim import control  # noqa: E402
from vms.sim.launcher import EPHEMERAL, SimProcess  # noqa: E402
from vms.site.service import SiteService  # noqa: E402
from vms.wall.layouts import WallState  # noqa: E402

OUT = REPO / "docs" / "screenshots"


def pump(app: QApplication, seconds: float) -> None:
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        app.processEvents(QEventLoop.ProcessEventsFlag.AllEvents, 50)
        time.sleep(0.02)


def main() -> int:
    clip_cache = Path(sys.argv[1]) if len(sys.argv) > 1 else None
    OUT.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        data = Path(tmp)
        # 12 cameras, 2 Help Points and 2 PID cameras: 16 devices, enough for a 4x4 wall.
        sim = SimProcess(data, *EPHEMERAL, "--cameras", "12", clip_cache=clip_cache)
        sim.start()
        try:
            sim.wait_ready()
            app = QApplication(sys.argv[:1])
            app.setStyleSheet(resources.path("styles/app.qss").read_text())
            link = SimulatorLink(data)
            profile = Profile(data / "desk")
            create_first_administrator(profile.access, "s.khan", "screenshot-admin-1",
                                       via="desktop", workstation="CR-WS-03")
            admin = profile.access.sign_in("s.khan", "screenshot-admin-1", via="desktop")
            users = UserAdmin(profile.access, admin)
            users.add("j.okafor", Role.OPERATOR, "screenshot-operator-1")
            users.add("r.evans", Role.EVIDENCE_OFFICER, "screenshot-evidence-1")
            users.add("m.price", Role.INSTALLER, "screenshot-installer-1")
            inst = profile.access.sign_in("m.price", "screenshot-installer-1", via="desktop")
            svc = Commissioning(profile, inst)
            ids = {}
            for d in control.status(data)["devices"]:
                if d["name"] in ("cam3", "hp2"):
                    continue  # left for the discovery screenshots to find
                area = "Loaned PID cameras" if d["kind"] == "pid" else "Town Centre"
                ids[d["name"]] = svc.add(d["onvif"], "admin", "beacon-sim", area=area).device_id
            link_cameras(app, profile, inst, ids)
            op = profile.access.sign_in("j.okafor", "screenshot-operator-1", via="desktop")
            view = LiveView(profile, op)
            for dev in svc.devices()[:3]:
                view.close(view.open(dev.id))
            for _ in range(2):  # failed sign-ins, for the audit view
                with contextlib.suppress(VmsError):
                    profile.access.sign_in("r.evans", "not-my-password", via="desktop")
            wall_op = profile.access.sign_in("j.okafor", "screenshot-operator-1", via="desktop")
            # The site service records through everything below, for the playback screenshot
            # at the end, and raises the calls and alarms the desk shows.
            site = SiteService(profile, cameras=[ids["cam1"], ids["hp1"], ids["pid1"]],
                               segment_s=20, serve_clients=False)
            site.devices = list(ids.values())
            site.start()
            assert site.recording is not None
            rec = site.recording
            live = assemble(profile, wall_op)
            service = ServiceLink(profile, wall_op, site)
            desk = CallDesk(profile, service, live.hub)
            win = MainWindow(link, Commissioning(profile, wall_op), live.pane, desk.queue_pane)
            win.resize(1400, 860)
            win.show()
            link.watch()
            control.action(data, "hp1", "press")
            control.action(data, "hp2", "relay", active=True)
            control.action(data, "pid1", "intrude", duration=60)
            control.action(data, "cam4", "skew", seconds=-95)
            pump(app, 2)
            wall = live.pane.wall
            wall.apply(WallState("2x2", [ids["cam1"], ids["hp1"], ids["pid1"], ids["cam2"]]))
            wall.select(2)  # the PID camera: the PTZ panel is live
            pump(app, 6)
            for name in ("main-window.png", "wall-2x2.png"):
                win.grab().save(str(OUT / name))
                print(f"wrote {OUT / name}")
            order = [n for n in ids if n.startswith("cam")] + ["hp1", "pid1", "pid2"]
            wall.apply(WallState("4x4", [ids[n] for n in order]))
            pump(app, 8)
            control.action(data, "cam5", "offline")  # one tile shows an outage and its retry
            pump(app, 6)
            win.grab().save(str(OUT / "wall-4x4.png"))
            print(f"wrote {OUT / 'wall-4x4.png'}")
            save(app, DiagnosticsDialog(live.report, live.hub, win), "diagnostics.png")
            calls(app, data, desk, win, profile)
            desk.shutdown()
            live.shutdown()
            dlg = DiscoveryDialog(svc, defaults_for(control.status(data)), win)
            dlg.show()
            dlg.timeout.setValue(4.0)
            dlg.start_scan()
            pump(app, 1.2)
            sel = dlg.table.selectionModel()
            for r in range(dlg.model.rowCount()):
                if dlg.model.item(r, 0).text() in ("cam3", "hp2"):
                    sel.select(dlg.model.index(r, 0), QItemSelectionModel.SelectionFlag.Select
                               | QItemSelectionModel.SelectionFlag.Rows)
            pump(app, 0.2)
            path = OUT / "discovery-mid-scan.png"
            dlg.grab().save(str(path))
            print(f"wrote {path}")
            pump(app, 3.5)
            dlg.add_devices(dlg.selected(), "admin", "wrong-password", "Town Centre")
            pump(app, 3)
            path = OUT / "discovery-results.png"
            dlg.grab().save(str(path))
            print(f"wrote {path}")
            shots(app, profile, admin, op, svc)
            playback(app, data, profile, rec, ids)
            site.stop()
            link.shutdown()
        finally:
            sim.stop()
    return 0


def link_cameras(app: QApplication, profile: Profile, inst: object, ids: dict[str, int]) -> None:
    """The installer points two street domes at hp1, saves presets and links them."""
    from vms.access.session import Session

    assert isinstance(inst, Session)
    ptz = PtzControl(profile, inst)
    links = CameraLinks(profile, inst, ptz)
    for cam, preset, (pan, tilt) in (("cam1", "Station Approach", (0.6, -0.3)),
                                     ("cam2", "Station Approach (wide)", (-0.5, -0.2))):
        ptz.move(ids[cam], pan, tilt).result(10)
        time.sleep(0.5)
        ptz.stop(ids[cam]).result(10)
        time.sleep(0.2)
        ptz.save_preset(ids[cam], preset).result(10)
        ptz.move(ids[cam], -pan, -tilt).result(10)
        time.sleep(0.5)
        ptz.stop(ids[cam]).result(10)
        links.link(ids["hp1"], ids[cam], preset)
    links.link(ids["hp1"], ids["cam4"])
    rows = profile.registry.devices()
    dlg = LinksDialog(links, profile.registry.device(ids["hp1"]), rows)
    dlg.camera.setCurrentIndex(dlg.camera.findData(ids["cam5"]))
    pump(app, 2)
    save(app, dlg, "links-dialog.png")
    ptz.close()


def calls(app: QApplication, data: Path, desk: CallDesk, win: MainWindow,
          profile: Profile) -> None:
    """The queue with a Help Point call and an intrusion waiting; the pane during a call."""
    desk.start(Commissioning(profile, desk.session).devices())
    pump(app, 4)
    control.action(data, "pid2", "intrude", duration=90)
    pump(app, 4)
    for pane in desk.panes.values():
        pane.hide()
    win.raise_()
    pump(app, 1)
    win.grab().save(str(OUT / "call-queue.png"))
    print(f"wrote {OUT / 'call-queue.png'}")
    pane = next(p for p in desk.panes.values() if p.incident.kind == "help_button")
    pane.show()
    pane.accept()
    pump(app, 4)
    pane.light.set("on")
    pane.record.notes.setPlainText("Caller says her phone was stolen outside the station; she is "
                            "unhurt. Suspect ran towards the bus station.")
    pane.record.save_note()
    pane.record.police_ref.setText("NPT-20261122-0417")
    pane.record.units.setText("1 patrol")
    pane.record.police_informed()
    pump(app, 3)
    pane.talk_box.mic_setting = f"file:{clip('help-on-way')}"
    pane.talk_box.start_talking()
    pane.record.outcome.setCurrentIndex(pane.record.outcome.findData("police"))
    pump(app, 2)
    save(app, pane, "incident-pane.png")
    pane.talk_box.toggle.setChecked(False)
    pane.talk_box.stop_talking()


def playback(app: QApplication, data: Path, profile: Profile, rec: Recording,
             ids: dict[str, int]) -> None:
    """The timeline after a few minutes of the site: calls, alarms, a gap and a bookmark."""
    control.action(data, "cam1", "offline")
    pump(app, 12)
    control.action(data, "cam1", "online")
    pump(app, 15)
    rec.stop()
    store = EventStore.for_profile(profile.data_dir)
    data_ = TimelineData(rec.index, store, "r.evans")
    spans = [s for r in data_.rows([ids["cam1"]], {}) for s in r.spans]
    data_.add_bookmark(ids["cam1"], spans[0][0] + 20, "Suspect enters frame")
    names = {ids[n]: n for n in ("cam1", "hp1", "pid1")}
    win = PlaybackWindow(data_, sorted(names.items()))
    win.resize(1300, 900)
    win.show()
    win.choose(list(names))
    pump(app, 1)
    win.seek(spans[0][0] + 25)
    win.range.setChecked(True)
    pump(app, 3)
    path = OUT / "playback-timeline.png"
    win.grab().save(str(path))
    print(f"wrote {path}")
    win.close()
    store.close()


def save(app: QApplication, widget: object, name: str) -> None:
    from PySide6.QtWidgets import QWidget

    assert isinstance(widget, QWidget)
    widget.show()
    pump(app, 1.0)
    path = OUT / name
    widget.grab().save(str(path))
    print(f"wrote {path}")
    widget.close()


def shots(app: QApplication, profile: Profile, admin: object, op: object, svc: Commissioning) -> None:
    from vms.access.session import Session

    assert isinstance(admin, Session) and isinstance(op, Session)
    sign_in = SignInDialog(profile.access, user="j.okafor")
    sign_in.password.setText("wrong password")
    sign_in.show_error("wrong user name or password")
    save(app, sign_in, "sign-in.png")
    op.idle_limit_s = 600
    save(app, LockDialog(profile.access, op), "locked.png")
    cams = [(d.id, d.name) for d in svc.devices()]
    viewer = AuditViewer(AuditTrail(profile.access, admin), cams)
    viewer.verify()
    pump(app, 1.0)
    save(app, viewer, "audit-viewer.png")
    users = UsersDialog(UserAdmin(profile.access, admin))
    save(app, users, "users.png")


if __name__ == "__main__":
    raise SystemExit(main())
