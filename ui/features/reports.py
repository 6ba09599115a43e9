"""Programme reports: the Help Point and loaned-camera reports for a period."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from PySide6.QtCore import Qt

from ui.features.signed_in import SignedIn
from ui.reports.window import ReportsWindow
from vms.loans.loans import today_london
from vms.reports.build import LOANS, build, crime_settings
from vms.reports.figures import Period


class ReportFeature:
    def __init__(self, ctx: SignedIn) -> None:
        self.ctx = ctx
        self.window: ReportsWindow | None = None
        ctx.window.open_reports.triggered.connect(self.show_reports)

    def make(self, kind: str, period: Period, folder: str, radius_m: float) -> dict[str, Any]:
        """Runs on a worker (the window asks through ``ui.tasks``)."""
        crime = crime_settings(Path(folder), radius_m) if kind == LOANS and folder else None
        return build(self.ctx.profile, self.ctx.session, kind, period, crime)

    def show_reports(self) -> None:
        ctx = self.ctx

        def show(crimes_dir: str) -> None:
            win = ReportsWindow(self.make, crimes_dir, today_london(), ctx.window)
            win.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
            self.window = win
            win.destroyed.connect(lambda _o=None: setattr(self, "window", None))
            win.show()
        ctx.after(lambda: str(ctx.access.accounts.settings().value("crimes_dir")), show,
                  "the programme reports")
