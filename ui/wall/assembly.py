"""Everything one signed-in user's live video needs, built and torn down together."""

from __future__ import annotations

from dataclasses import dataclass

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

    def shutdown(self) -> None:
        self.pane.shutdown()
        self.hub.shutdown()
        self.ptz.close()


def assemble(profile: Profile, session: Session) -> LiveWall:
    report = backends.probe(profile.accounts.settings().value("player_backend"))
    hub = FeedHub(LiveView(profile, session), backends.feed_class(report.chosen))
    ptz = PtzControl(profile, session)
    pane = WallPane(hub, SavedLayouts(profile, session), PtzPanel(ptz))
    return LiveWall(report, hub, ptz, pane)
