"""Everything one signed-in user's live video needs, built and torn down together."""

from __future__ import annotations

import time
from dataclasses import dataclass

from ui.tasks import Leftover
from ui.video.hub import FeedHub
from ui.wall.pane import WallPane
from ui.wall.ptz_panel import PtzPanel
from vms.access.session import Session
from vms.devices.live import LiveView
from vms.devices.ptz import PtzControl
from vms.media import backends
from vms.profile import Profile
from vms.wall.saved import SavedLayouts


@dataclass
class LiveWall:
    report: backends.BackendReport
    hub: FeedHub
    ptz: PtzControl
    pane: WallPane

    def shutdown(self, wait: float = 5.0) -> list[Leftover]:
        """``wait``: seconds in all for streams and camera connections to close (0 when
        signing out: they close by themselves, and the next user need not wait for them)."""
        deadline = time.monotonic() + wait
        self.pane.shutdown()
        left: list[Leftover] = list(self.hub.shutdown(wait))
        closing = self.ptz.close(max(0.0, deadline - time.monotonic()) if wait > 0 else 0.0)
        return left + ([closing] if closing is not None else [])


def assemble(profile: Profile, session: Session) -> LiveWall:
    report = backends.probe(profile.accounts.settings().value("player_backend"))
    hub = FeedHub(LiveView(profile, session), backends.feed_class(report.chosen))
    ptz = PtzControl(profile, session)
    pane = WallPane(hub, SavedLayouts(profile, session), PtzPanel(ptz))
    return LiveWall(report, hub, ptz, pane)
