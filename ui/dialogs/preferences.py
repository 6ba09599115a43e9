"""Account → Sound and display: the signed-in user's alert volume and mute, and their theme.

Saved for this user only (``vms.access.preferences``, audited) and applied at once and at each
of their sign-ins. **Play a test** rings the alert at the level on the slider, so a user can
set it without waiting for a call.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable

from PySide6.QtCore import Qt, QTimer
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QSlider,
    QVBoxLayout,
    QWidget,
)

from ui import tasks
from ui.calls.alert import Alert
from vms.access.preferences import SOUND_AND_DISPLAY, THEMES, Preferences, UserPreferences

TEST_MS = 2500  # long enough to hear the alert's pattern twice


class PreferencesDialog(QDialog):
    def __init__(self, store: UserPreferences, current: Callable[[], Preferences],
                 apply: Callable[[Preferences], None], parent: QWidget | None = None) -> None:
        """``current``: the user's settings as the desk holds them at the moment of asking
        (the call list's columns may change while this is open)."""
        super().__init__(parent)
        self.store = store
        self.current = current
        self.apply = apply
        now = current()
        self.setWindowTitle("Sound and display — Beacon VMS")
        heading = QLabel(f"Sound and display for {store.session.user}")
        heading.setObjectName("dialogHeading")
        intro = QLabel("These are yours: they apply at this desk whenever you sign in, and "
                       "not to the next person who signs in here.")
        intro.setWordWrap(True)
        self.volume = QSlider(Qt.Orientation.Horizontal)
        self.volume.setObjectName("alertVolume")
        self.volume.setRange(0, 100)
        self.volume.setSingleStep(5)
        self.volume.setPageStep(10)
        self.volume.setValue(now.alert_volume)
        self.volume.setAccessibleName("Alert volume")
        self.volume_words = QLabel()
        self.volume_words.setMinimumWidth(48)
        self.volume.valueChanged.connect(self._level_changed)
        self.muted = QCheckBox("Mute the alert sound (calls still flash and open their window)")
        self.muted.setObjectName("alertMuted")
        self.muted.setChecked(now.alert_muted)
        self.muted.toggled.connect(self._level_changed)
        self.test_button = QPushButton("Play a test")
        self.test_button.setObjectName("alertTest")
        self.test_button.clicked.connect(self.play_test)
        self.theme = QComboBox()
        self.theme.setObjectName("theme")
        for key, words in THEMES.items():
            self.theme.addItem(words, key)
        self.theme.setCurrentIndex(max(0, self.theme.findData(now.theme)))
        level = QHBoxLayout()
        level.addWidget(self.volume, 1)
        level.addWidget(self.volume_words)
        level.addWidget(self.test_button)
        form = QFormLayout()
        form.addRow("Alert volume", level)
        form.addRow("", self.muted)
        self.silent = QLabel("⚠ This desk has no sound output: no alert or test can be heard "
                             "until speakers or a headset are plugged in.")
        self.silent.setObjectName("noSoundOutput")
        self.silent.setWordWrap(True)
        form.addRow("", self.silent)
        form.addRow("Theme", self.theme)
        self.status = QLabel("")
        self.status.setObjectName("errorText")
        self.status.setWordWrap(True)
        self.status.hide()
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Save
                                   | QDialogButtonBox.StandardButton.Cancel)
        self.save_button = buttons.button(QDialogButtonBox.StandardButton.Save)
        buttons.accepted.connect(self.save)
        buttons.rejected.connect(self.reject)
        lay = QVBoxLayout(self)
        lay.addWidget(heading)
        lay.addWidget(intro)
        lay.addLayout(form)
        lay.addWidget(self.status)
        lay.addStretch(1)
        lay.addWidget(buttons)
        self.resize(560, 260)
        self.tester = Alert(self)  # its own sound: a test never stops a real call's alert
        self.tester.output_changed.connect(lambda _audible: self._level_changed())
        self.test_timer = QTimer(self)
        self.test_timer.setSingleShot(True)
        self.test_timer.setInterval(TEST_MS)
        self.test_timer.timeout.connect(self._test_done)
        self._level_changed()

    def chosen(self) -> Preferences:
        return dataclasses.replace(self.current(), alert_volume=self.volume.value(),
                                   alert_muted=self.muted.isChecked(),
                                   theme=str(self.theme.currentData()))

    def _level_changed(self) -> None:
        muted = self.muted.isChecked()
        self.volume_words.setText("muted" if muted else f"{self.volume.value()} %")
        self.tester.set_level(self.volume.value(), False)
        if muted and self.test_timer.isActive():
            self._test_done()
        # A muted test, or one with nowhere to play, would play nothing.
        self.test_button.setEnabled(not muted and self.tester.audible)
        self.silent.setVisible(not self.tester.audible)

    def play_test(self) -> None:
        if self.test_timer.isActive():
            self._test_done()
            return
        self.tester.start(None)
        self.test_button.setText("Stop the test")
        self.test_timer.start()

    def _test_done(self) -> None:
        self.test_timer.stop()
        self.tester.stop()
        self.test_button.setText("Play a test")

    def save(self) -> None:
        prefs = self.chosen()
        self.save_button.setEnabled(False)
        tasks.run(lambda: self.store.save(prefs, SOUND_AND_DISPLAY), self._saved,
                  self._not_saved, owner=self)

    def _saved(self, prefs: Preferences) -> None:
        self._test_done()
        self.apply(prefs)
        self.accept()

    def _not_saved(self, exc: BaseException) -> None:
        self.save_button.setEnabled(True)
        self.status.setText(f"Not saved: {exc}")
        self.status.show()

    def done(self, result: int) -> None:
        self._test_done()
        super().done(result)
