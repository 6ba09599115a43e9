"""Render an HTML file in a real browser engine (Qt WebEngine, Chromium) at 1920x1080 and save
a PNG of the page as a reader sees it. Run as its own process: WebEngine must be set up before
Qt's application exists, which the test process's application already does.

    python -m tests.render_html PAGE.html OUT.png
"""

from __future__ import annotations

import os
import sys

from PySide6.QtCore import QTimer, QUrl
from PySide6.QtWebEngineWidgets import QWebEngineView
from PySide6.QtWidgets import QApplication


def main(page: str, out: str) -> int:
    os.environ.setdefault("QTWEBENGINE_DISABLE_SANDBOX", "1")  # CI runs as root
    app = QApplication([sys.argv[0]])
    view = QWebEngineView()
    view.resize(1920, 1080)
    result = [1]

    def loaded(ok: bool) -> None:
        def grab() -> None:
            result[0] = 0 if ok and view.grab().save(out) else 1
            app.quit()
        QTimer.singleShot(400, grab)

    view.loadFinished.connect(loaded)
    view.load(QUrl.fromLocalFile(os.path.abspath(page)))
    view.show()
    QTimer.singleShot(30000, app.quit)
    app.exec()
    return result[0]


if __name__ == "__main__":
    sys.exit(main(sys.argv[1], sys.argv[2]))
