"""Helpers for the live-wall tests: a profile with registered sim devices, pixels and OCR."""

from __future__ import annotations

import shutil
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image
from PySide6.QtCore import Qt
from PySide6.QtGui import QImage

from tests.conftest import PASSWORD, USER, Sim, signed_in
from vms.access.admin import UserAdmin
from vms.access.roles import Role
from vms.access.session import Session
from vms.devices.commissioning import Commissioning
from vms.devices.ptz import PtzControl
from vms.profile import Profile

OPERATOR, OPERATOR_PASSWORD = "wall-operator", "wall-operator-pass"



@dataclass
class Site:
    sim: Sim
    profile: Profile
    operator: Session
    ids: dict[str, int]
    path: Path

    def sign_in(self) -> Session:
        return self.profile.access.sign_in(OPERATOR, OPERATOR_PASSWORD, via="desktop")


def register(sim: Sim, path: Path, names: list[str]) -> Site:
    profile, admin = signed_in(path)
    svc = Commissioning(profile, admin)
    ids = {n: svc.add(sim.address(n), USER, PASSWORD).device_id for n in names}
    UserAdmin(profile.access, admin).add(OPERATOR, Role.OPERATOR, OPERATOR_PASSWORD)
    op = profile.access.sign_in(OPERATOR, OPERATOR_PASSWORD, via="desktop")
    return Site(sim, profile, op, ids, path)


def pixels(image: QImage) -> np.ndarray:
    img = image.convertToFormat(QImage.Format.Format_RGB32)
    ptr = img.constBits()
    arr = np.frombuffer(ptr, np.uint8, count=img.sizeInBytes())
    return arr.reshape(img.height(), img.bytesPerLine())[:, : img.width() * 4].reshape(
        img.height(), img.width(), 4)[:, :, :3].copy()


def ocr(image: QImage, tmp: Path) -> str:
    """Text tesseract reads in a picture, lower case, one space between words.

    Small tiles show light text on video at less than the ~20 px tesseract likes, so the
    picture is read at three and two times its size, and inverted; the readings are joined.
    """
    exe = shutil.which("tesseract")
    assert exe, "tesseract is missing: scripts/setup.sh installs tesseract-ocr"
    readings = []
    for scale, invert in ((3, False), (2, False), (3, True)):
        big = image.scaled(image.width() * scale, image.height() * scale,
                           mode=Qt.TransformationMode.SmoothTransformation)
        grey = pixels(big).mean(axis=2).astype(np.uint8)
        png = tmp / f"ocr-{scale}-{int(invert)}.png"
        Image.fromarray(255 - grey if invert else grey).save(png)
        res = subprocess.run([exe, str(png), "-", "--psm", "6"], capture_output=True, text=True,
                             timeout=60)
        readings.append(" ".join(res.stdout.split()).lower())
    return " | ".join(readings)


def steer(ptz: PtzControl, sim: Sim, cam_id: int, name: str, pan: float, tilt: float) -> dict[str, Any]:
    """Move for 0.6 s and wait until the sim says the camera stopped; returns where it is."""
    ptz.move(cam_id, pan, tilt).result(10)
    time.sleep(0.6)
    ptz.stop(cam_id).result(10)
    deadline = time.monotonic() + 10
    while sim.live(name)["ptz"]["moving"]:
        assert time.monotonic() < deadline, "the camera never stopped"
        time.sleep(0.05)
    return sim.live(name)["ptz"]


def at(sim: Sim, name: str, where: dict[str, Any]) -> bool:
    now = sim.live(name)["ptz"]
    return all(abs(now[k] - where[k]) < 1e-3 for k in ("pan", "tilt", "zoom"))
