"""The status bar's word on the control room's site: connected, reconnecting, or this
profile alone. Reconnecting is red and says what the desk cannot do meanwhile."""

from __future__ import annotations

from PySide6.QtWidgets import QLabel, QWidget

from vms.site.desk import CONNECTED, SiteDesk


class SiteIndicator(QLabel):
    def __init__(self, desk: SiteDesk | None, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("siteIndicator")
        self.desk = desk
        if desk is None:
            self.setText("Site: this profile only")
            self.setToolTip("Not joined to a control room's site database (--site or VMS_SITE):"
                            " calls are this profile's alone.")
        else:
            self.show_state(desk.state, desk.words)

    def show_state(self, state: str, words: str) -> None:
        assert self.desk is not None
        where = f"{self.desk.address.host} as {self.desk.workstation}"
        if state == CONNECTED:
            self.setText(f"Site: connected ({where})")
            self.setStyleSheet("")
            self.setToolTip(f"Calls are shared with every desk of {self.desk.address}.")
        else:
            self.setText("Site: reconnecting — calls cannot be taken or updated until it is "
                         "back; live video goes on")
            self.setStyleSheet("color: white; background: #c0392b; padding: 0 6px;")
            self.setToolTip(f"{where}: {words}")
