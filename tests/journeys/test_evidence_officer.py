"""Journey: an evidence officer exports footage and checks it, through the desktop only (issue 23).

The site service records a camera (as the desktop starts it). The officer signs in, opens
Playback, sees the recording on the timeline and in the picture, selects a range and asks to
export it. This workstation has no signing key yet: the desktop asks for one before the wizard
(a local evidence CA is made here). The officer fills in the wizard, closes it to check a
detail, opens it again with every field still there, and exports. The package is checked in
the Verify window (valid, pending a time-stamp: no TSA here); a byte of a master is then
changed outside the application, and the same window refuses it, without claiming under
"checks passed" that its segments match their recorder hashes.

Defects reproduced here (issue 23): *export fails on its last page with "no evidence signing
key (vms evidence-ca init …)": not checked up front, no way to create or import the key in the
desktop*; *reopening the wizard loses every field*; *the verify report of a tampered package
still lists "segments match their recorder hashes" under checks passed*.

Set-up outside the windows: the simulated site, its camera registered and the officer's account.
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from cryptography import x509
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QWizard
from pytestqt.qtbot import QtBot

from tests.conftest import Sim
from tests.journeys.setup_site import simulated_site
from tests.journeys.walk import answer, at_desk, look_at, opened, shown
from ui.evidence.export_wizard import ExportWizard
from ui.evidence.signing_key import SigningKeyDialog
from ui.evidence.verify_window import VerifyWindow
from ui.playback.window import PlaybackWindow
from vms.access.roles import Role
from vms.evidence.signing import SigningKeySetup
from vms.profile import Profile

OFFICER, OFFICER_PW = "eve-evidence", "eve-exports-77"


@pytest.fixture()
def site(tmp_path: Path, clip_cache: Path) -> Iterator[tuple[Sim, Profile]]:
    with simulated_site(tmp_path, clip_cache, users={OFFICER: (Role.EVIDENCE_OFFICER,
                                                                OFFICER_PW)},
                        registered=("cam1",)) as both:
        yield both


def test_an_evidence_officer_sets_up_the_key_exports_and_verifies(
        qtbot: QtBot, site: tuple[Sim, Profile], site_of: Callable[..., Any],
        tmp_path: Path) -> None:
    _sim, profile = site
    desktop, win, link = at_desk(profile, site_of(profile, segment_s=3), OFFICER, OFFICER_PW)
    assert desktop.recordings is not None
    index = desktop.recordings
    # The service records from the start; a few closed segments before the officer looks.
    qtbot.waitUntil(lambda: len(index.segments(state="closed")) >= 3, timeout=60000)

    # -- Playback: the recording is on the timeline and in the picture ----------------------
    win.open_playback.trigger()
    qtbot.waitUntil(lambda: shown(PlaybackWindow) is not None, timeout=10000)
    play = shown(PlaybackWindow)
    assert play is not None and play.chosen(), "no recorded camera was chosen"
    assert play.timeline.rows and play.timeline.rows[0].spans, "nothing on the timeline"
    cell = next(iter(play.cells.values()))
    qtbot.waitUntil(lambda: cell.image is not None, timeout=20000)
    look_at(play, "journey-playback.png")

    # -- a range chosen and exported: the signing key is asked for first ------------------------
    qtbot.mouseClick(play.range, Qt.MouseButton.LeftButton)
    assert play.export.isEnabled()

    def set_up_key(dlg: SigningKeyDialog) -> None:
        assert "no evidence signing key yet" in dlg.intro.text()
        look_at(dlg, "journey-signing-key.png")
        dlg.organisation.setText("Northtown Borough Council")
        qtbot.mouseClick(dlg.ok, Qt.MouseButton.LeftButton)
        qtbot.waitUntil(lambda: not dlg.isVisible(), timeout=30000)

    answer(SigningKeyDialog, set_up_key,
           lambda: qtbot.mouseClick(play.export, Qt.MouseButton.LeftButton))
    assert "Evidence signing key set up" in win.statusBar().currentMessage()
    qtbot.waitUntil(lambda: shown(ExportWizard) is not None, timeout=10000)
    wiz = shown(ExportWizard)
    assert wiz is not None and wiz.what.chosen() == play.chosen()

    # -- the wizard filled in, closed to check something, opened again as it was left -----------
    wiz.what.exhibit.setText("EE/1")
    wiz.what.label.setText("CCTV cam1, journey")
    qtbot.mouseClick(wiz.button(QWizard.WizardButton.NextButton), Qt.MouseButton.LeftButton)
    wiz.why.officer.setText("PC 1234 Smith")
    wiz.why.crime.setText("NT/2026/0042")
    wiz.why.purpose.setPlainText("Investigation of criminal damage at the market")
    wiz.why.basis.setCurrentIndex(1)
    basis = wiz.why.basis.currentText()
    qtbot.mouseClick(wiz.button(QWizard.WizardButton.CancelButton), Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: shown(ExportWizard) is None, timeout=10000)

    qtbot.mouseClick(play.export, Qt.MouseButton.LeftButton)  # no key question this time
    qtbot.waitUntil(lambda: shown(ExportWizard) is not None, timeout=10000)
    wiz = shown(ExportWizard)
    assert wiz is not None
    assert wiz.what.exhibit.text() == "EE/1" and wiz.what.label.text() == "CCTV cam1, journey"
    assert wiz.why.officer.text() == "PC 1234 Smith" and wiz.why.crime.text() == "NT/2026/0042"
    assert wiz.why.purpose.toPlainText() == "Investigation of criminal damage at the market"
    assert wiz.why.basis.currentText() == basis
    look_at(wiz, "journey-export-what.png")
    out = tmp_path / "exports"
    qtbot.mouseClick(wiz.button(QWizard.WizardButton.NextButton), Qt.MouseButton.LeftButton)
    qtbot.mouseClick(wiz.button(QWizard.WizardButton.NextButton), Qt.MouseButton.LeftButton)
    wiz.where.folder.setText(str(out))
    qtbot.mouseClick(wiz.button(QWizard.WizardButton.CommitButton), Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: wiz.finished_export, timeout=120000)
    assert wiz.error is None, wiz.run_page.stage.text()
    assert wiz.run_page.stage.text().startswith("Exported"), wiz.run_page.stage.text()
    look_at(wiz, "journey-export-done.png")
    packages = [p for p in out.iterdir() if p.is_dir() and not p.name.startswith(".")]
    assert len(packages) == 1
    package = packages[0]
    assert str(package) in wiz.run_page.outcome.text()
    qtbot.mouseClick(wiz.button(QWizard.WizardButton.FinishButton), Qt.MouseButton.LeftButton)

    # -- checked in the Verify window: valid, pending a time-stamp ---------------------------
    win.open_verify.trigger()
    qtbot.waitUntil(lambda: shown(VerifyWindow) is not None, timeout=10000)
    check = shown(VerifyWindow)
    assert check is not None and check.trust.text().endswith("root.crt")  # the key made above
    check.package.setText(str(package))  # as chosen in the folder dialog
    qtbot.mouseClick(check.go, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: check.go.isEnabled() and check.last is not None, timeout=120000)
    assert check.status.text().startswith("VALID, PENDING TIME-STAMP"), check.status.text()
    look_at(check, "journey-verify-valid.png")

    # -- a byte changed outside the application: refused, and not said to match ----------------
    master = sorted((package / "data" / "master").iterdir())[0]
    data = bytearray(master.read_bytes())
    data[len(data) // 2] ^= 0x01
    master.write_bytes(bytes(data))
    qtbot.mouseClick(check.go, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: check.go.isEnabled() and check.status.text().startswith("INVALID"),
                    timeout=120000)
    report = check.report.toPlainText()
    assert "SHA-256 differs" in report and master.name in report, report
    passed = report.split("Checks passed", 1)[-1]
    assert "match their recorder hashes" not in passed, report
    look_at(check, "journey-verify-tampered.png")
    check.close()
    play.close()
    desktop._end_session("journey over")
    link.shutdown()


def _openssl(folder: Path, *args: str, **env: str) -> None:
    subprocess.run(["openssl", *args], cwd=folder, check=True, capture_output=True,
                   env={**os.environ, **env})


def council_pkcs12(folder: Path, passphrase: str) -> Path:
    """What a council's PKI team hands over, made with the openssl binary: its evidence root
    and issuing CA, and this workstation's key with a certificate for signing evidence (key
    usage digitalSignature; EKU document signing and emailProtection), in one PKCS#12 file."""
    org, ec = "/O=Northtown Borough Council/CN=", ("-newkey", "ec", "-pkeyopt",
                                                  "ec_paramgen_curve:P-256", "-nodes")
    ca = ("-addext", "keyUsage=critical,keyCertSign,cRLSign")
    _openssl(folder, "req", "-x509", *ec, "-keyout", "root.key", "-out", "root.crt",
             "-days", "3650", "-subj", org + "Evidence Root CA", *ca,
             "-addext", "basicConstraints=critical,CA:TRUE,pathlen:1")
    _openssl(folder, "req", "-x509", "-CA", "root.crt", "-CAkey", "root.key", *ec,
             "-keyout", "issuing.key", "-out", "issuing.crt", "-days", "1825",
             "-subj", org + "Evidence Issuing CA", *ca,
             "-addext", "basicConstraints=critical,CA:TRUE,pathlen:0")
    _openssl(folder, "req", "-x509", "-CA", "issuing.crt", "-CAkey", "issuing.key", *ec,
             "-keyout", "signer.key", "-out", "signer.crt", "-days", "1095",
             "-subj", org + "Control room evidence export",
             "-addext", "basicConstraints=critical,CA:FALSE",
             "-addext", "keyUsage=critical,digitalSignature,nonRepudiation",
             "-addext", "extendedKeyUsage=1.3.6.1.5.5.7.3.36,emailProtection")
    _openssl(folder, "verify", "-CAfile", "root.crt", "-untrusted", "issuing.crt",
             "-purpose", "smimesign", "signer.crt")  # fit to sign, as openssl cms sees it
    (folder / "chain.pem").write_bytes((folder / "issuing.crt").read_bytes()
                                       + (folder / "root.crt").read_bytes())
    _openssl(folder, "pkcs12", "-export", "-inkey", "signer.key", "-in", "signer.crt",
             "-certfile", "chain.pem", "-name", "evidence export", "-out", "council.p12",
             "-passout", "env:P12_PASS", P12_PASS=passphrase)
    return folder / "council.p12"


def test_an_evidence_officer_imports_the_councils_pkcs12_key(
        qtbot: QtBot, site: tuple[Sim, Profile], site_of: Callable[..., Any],
        tmp_path: Path) -> None:
    """Issue 23, the import path: *export fails on its last page with "no evidence signing
    key": no way to create or import the key in the desktop*. The council's PKI team has
    issued this workstation a PKCS#12 file; Recordings → Export evidence… asks for the key
    first, and the officer imports the file there, mistyping its passphrase once."""
    _sim, profile = site
    pki = tmp_path / "pki"
    pki.mkdir()
    passphrase = "Northtown-PKI-2026"
    p12 = council_pkcs12(pki, passphrase)
    desktop, win, link = at_desk(profile, site_of(profile), OFFICER, OFFICER_PW)
    assert win.open_export.isEnabled()

    def import_key(dlg: SigningKeyDialog) -> None:
        assert "no evidence signing key yet" in dlg.intro.text()
        qtbot.mouseClick(dlg.import_p12, Qt.MouseButton.LeftButton)
        assert dlg.import_p12.isChecked() and dlg.import_form.isEnabled()
        assert not dlg.create_form.isEnabled()
        dlg.file.setText(str(p12))  # as chosen with Browse…
        qtbot.keyClicks(dlg.password, passphrase.lower())  # the wrong passphrase first
        qtbot.mouseClick(dlg.ok, Qt.MouseButton.LeftButton)
        qtbot.waitUntil(lambda: dlg.ok.isEnabled() and bool(dlg.error.text()), timeout=30000)
        said = dlg.error.text()
        assert said.startswith("The key was not set up") and "password is wrong" in said, said
        assert dlg.isVisible() and dlg.import_p12.isChecked() and dlg.file.text() == str(p12)
        look_at(dlg, "journey-signing-key-pkcs12-refused.png")
        assert dlg.password.selectedText() == dlg.password.text()  # ready to be typed over
        qtbot.keyClicks(dlg.password, passphrase)
        assert dlg.error.text() == ""  # being corrected: the old refusal goes
        look_at(dlg, "journey-signing-key-pkcs12.png")
        qtbot.mouseClick(dlg.ok, Qt.MouseButton.LeftButton)
        qtbot.waitUntil(lambda: not dlg.isVisible(), timeout=30000)

    wiz = opened(qtbot, ExportWizard,
                 lambda: answer(SigningKeyDialog, import_key, win.open_export.trigger))
    assert "Evidence signing key set up" in win.statusBar().currentMessage()
    assert desktop.session is not None and SigningKeySetup(profile, desktop.session).ready
    # The council's certificate, chain and root are in place, not a local CA's.
    keys = profile.data_dir / "evidence"
    cert = x509.load_pem_x509_certificate((keys / "signer.crt").read_bytes())
    assert cert == x509.load_pem_x509_certificate((pki / "signer.crt").read_bytes())
    assert (keys / "root.crt").read_bytes() == (pki / "root.crt").read_bytes()
    assert not (keys / "root.key").exists()
    qtbot.mouseClick(wiz.button(QWizard.WizardButton.CancelButton), Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: shown(ExportWizard) is None, timeout=10000)
    desktop._end_session("journey over")
    link.shutdown()
