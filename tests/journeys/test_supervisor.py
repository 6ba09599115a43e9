"""Journey: a supervisor triages an intrusion on a loaned camera and checks the audit trail,
through the desktop's windows only (issue 23).

A perimeter camera is on loan at Elm Road. An intrusion arrives as a call with its pre-alarm
video; the supervisor accepts it, tries to escalate without a police reference (refused, nothing
recorded), fills in the reference and what the police were told, escalates, and closes the
alarm as passed to the police. In the audit trail the decision is there; the chain verifies.

Set-up outside the windows: the simulated site, the camera registered, the supervisor's account
and the loan (the coordinator's journey records a loan through the windows).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from PySide6.QtCore import Qt
from pytestqt.qtbot import QtBot

from tests.conftest import Sim
from tests.journeys.setup_site import lend, simulated_site
from tests.journeys.walk import answer, at_desk, look_at
from ui.dialogs.audit_viewer import AuditViewer
from vms.access.roles import Role
from vms.profile import Profile

SUPERVISOR, SUPERVISOR_PW = "sam-supervisor", "sam-supervises-5"
POLICE_REF = "NP-20261205-0042"
SAID = "Two people at the rear door of 12 Elm Road with a crowbar"


@pytest.fixture()
def site(tmp_path: Path, clip_cache: Path) -> Iterator[tuple[Sim, Profile]]:
    with simulated_site(tmp_path, clip_cache, registered=("pid1",),
                        users={SUPERVISOR: (Role.SUPERVISOR, SUPERVISOR_PW)}) as (sim, profile):
        lend(profile, "pid1")
        yield sim, profile


def test_a_supervisor_escalates_an_intrusion_and_finds_it_in_the_audit_trail(
        qtbot: QtBot, site: tuple[Sim, Profile], site_of: Callable[..., Any]) -> None:
    sim, profile = site
    desktop, win, link = at_desk(profile, site_of(profile), SUPERVISOR, SUPERVISOR_PW)
    assert desktop.calls is not None
    calls = desktop.calls
    qtbot.waitUntil(lambda: [h.state for h in calls.service.health.values()] == ["ok"],
                    timeout=30000)

    # -- the camera has been recording a while (the site service records from the start) ----
    index = desktop.recordings
    assert index is not None
    qtbot.waitUntil(lambda: any((s.frames or 0) > 50 for s in index.segments()), timeout=30000)

    # -- the intrusion: a call with its pre-alarm video and the loan's site ------------------
    sim.cli("intrude", "pid1", "--duration", "2")
    qtbot.waitUntil(lambda: any(p.isVisible() for p in calls.panes.values()), timeout=20000)
    pane = next(iter(calls.panes.values()))
    box, clip = pane.triage_box, pane.prealarm
    assert box is not None and clip is not None
    qtbot.waitUntil(lambda: "12 Elm Road" in box.premises_label.text(), timeout=10000)
    qtbot.mouseClick(pane.accept_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: pane.incident.state == "accepted", timeout=10000)
    qtbot.waitUntil(lambda: box.genuine_button.isEnabled(), timeout=10000)

    # -- escalating without a reference is refused, and nothing is recorded ------------------
    qtbot.mouseClick(box.genuine_button, Qt.MouseButton.LeftButton)
    qtbot.wait(500)
    assert pane.incident.police_ref is None
    assert "No decision yet" in box.decision_label.text()

    box.police_ref.setText(POLICE_REF)
    box.said.setText(SAID)
    # The pre-alarm video plays at once from the first second recorded in the pre-roll (the
    # camera has recorded less than the 30 s pre-roll: no seconds of "no recording" first).
    qtbot.waitUntil(lambda: clip.frames_shown > 5, timeout=5000)

    look_at(pane, "journey-intrusion-triage.png")
    qtbot.mouseClick(box.genuine_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: pane.incident.police_ref == POLICE_REF, timeout=10000)
    qtbot.waitUntil(lambda: "Genuine" in box.decision_label.text(), timeout=10000)
    log = [pane.call_log.entries.item(r).text() for r in range(pane.call_log.entries.count())]
    qtbot.waitUntil(lambda: any(POLICE_REF in pane.call_log.entries.item(r).text()
                                for r in range(pane.call_log.entries.count())), timeout=10000)
    iid = pane.incident.id
    pane.record.outcome.setCurrentIndex(pane.record.outcome.findData("police"))
    qtbot.mouseClick(pane.record.close_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: iid not in calls.panes, timeout=10000)

    # -- the audit trail: the decision is there, and the chain verifies ----------------------
    seen: dict[str, Any] = {}

    def audit(dlg: AuditViewer) -> None:
        qtbot.waitUntil(lambda: dlg.model.rowCount() > 0, timeout=15000)
        rows = [" ".join(dlg.model.item(r, c).text() for c in range(dlg.model.columnCount())
                         if dlg.model.item(r, c) is not None)
                for r in range(dlg.model.rowCount())]
        seen["rows"] = rows
        qtbot.mouseClick(dlg.verify_button, Qt.MouseButton.LeftButton)
        qtbot.waitUntil(lambda: dlg.verdict.text() not in ("", "Verifying…"), timeout=30000)
        seen["verdict"] = dlg.verdict.text()
        look_at(dlg, "journey-audit-trail.png")
        dlg.accept()

    answer(AuditViewer, audit, win.open_audit.trigger)
    python = [r for r in seen["rows"] if ": None" in r or ": False" in r or ": True" in r
              or "['" in r]
    assert python == [], f"details in Python's spelling, not words: {python[:3]}"
    decided = [r for r in seen["rows"] if "alarm.classify" in r]
    assert decided and SUPERVISOR in decided[0], seen["rows"][:10]
    assert "intact" in seen["verdict"].lower() or "verifies" in seen["verdict"].lower(), \
        seen["verdict"]
    assert log  # the call's own log was read on screen before closing
    desktop._end_session("journey over")
    link.shutdown()
