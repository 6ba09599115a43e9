"""Site plans and pins (``vms.maps.plans``): who may change them, what a plan may be (hostile
SVG refused), pins on the plan only, every change audited with what it replaced."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest
from PySide6.QtGui import QColor, QImage

from tests.conftest import PASSWORD, USER, Sim, ensure_admin, signed_in, vms_cmd
from tests.plan_files import plans_pdf
from vms.access.admin import UserAdmin
from vms.access.roles import Role
from vms.audit.log import Filter
from vms.errors import ConfigError, PermissionDenied
from vms.maps.plans import PDF_LONG_SIDE, SitePlans, plan_pages

SVG = b"""<?xml version="1.0"?>
<svg xmlns="http://www.w3.org/2000/svg" width="800" height="500">
  <rect width="800" height="500" fill="#2b2b2b"/>
  <path d="M0 250 H800 M400 0 V500" stroke="#777" stroke-width="40"/>
</svg>"""
ENTITY_SVG = b"""<?xml version="1.0"?>
<!DOCTYPE svg [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>
<svg xmlns="http://www.w3.org/2000/svg"><text>&xxe;</text></svg>"""


def test_plans_and_pins_are_for_installers_checked_and_audited(tmp_path: Path,
                                                                sim: Sim) -> None:
    profile_dir = tmp_path / "p"
    env = ensure_admin(profile_dir)
    for name in ("cam1", "hp1"):
        res = subprocess.run(vms_cmd("--data-dir", str(profile_dir), "devices", "add",
                                     sim.address(name), "--user", USER, "--password-stdin"),
                             input=PASSWORD, capture_output=True, text=True, env=env, timeout=60)
        assert res.returncode == 0, res.stderr
    profile, admin = signed_in(profile_dir)
    try:
        admins = UserAdmin(profile.access, admin)
        admins.add("ian-installer", Role.INSTALLER, "ian-installs-42")
        admins.add("otto-operator", Role.OPERATOR, "otto-watches-42")
        ian = SitePlans(profile, profile.access.sign_in("ian-installer", "ian-installs-42",
                                                        via="test"))
        otto = SitePlans(profile, profile.access.sign_in("otto-operator", "otto-watches-42",
                                                         via="test"))
        cam1, hp1 = sorted(profile.registry.devices(), key=lambda d: d.name)
        svg = tmp_path / "town.svg"
        svg.write_bytes(SVG)

        with pytest.raises(PermissionDenied):
            otto.set_plan("Town Centre", svg)
        for bad, words in ((ENTITY_SVG, "DOCTYPE"), (b"%PDF-1.7 ...", "the PDF cannot be read"),
                           (b"<?xml version='1.0'?><html/>", "not an SVG")):
            f = tmp_path / "bad.svg"
            f.write_bytes(bad)
            with pytest.raises(ConfigError, match=words):
                ian.set_plan("Town Centre", f)
        assert ian.plans() == {}

        plan = ian.set_plan("Town Centre", svg)
        svg.unlink()  # the profile keeps its own copy
        assert plan.path.read_bytes() == SVG and plan.kind == "svg"
        png = tmp_path / "car-park.png"
        image = QImage(400, 300, QImage.Format.Format_RGB32)
        image.fill(QColor("#334455"))
        assert image.save(str(png))
        assert ian.set_plan("Car Park", png).kind == "png"
        assert sorted(otto.plans()) == ["Car Park", "Town Centre"]

        with pytest.raises(PermissionDenied):
            otto.place(cam1, "Town Centre", 0.5, 0.5)
        for x, y in ((1.2, 0.5), (0.5, -0.1), (float("nan"), 0.5)):
            with pytest.raises(ConfigError, match="on the plan"):
                ian.place(cam1, "Town Centre", x, y)
        with pytest.raises(ConfigError, match="no plan"):
            ian.place(cam1, "Nowhere", 0.5, 0.5)
        ian.place(cam1, "Town Centre", 0.25, 0.5)
        ian.place(hp1, "Town Centre", 0.75, 0.25)
        ian.place(cam1, "Car Park", 0.1, 0.9)  # moved to another plan
        pins = otto.pins()
        assert (pins[cam1.id].area, pins[cam1.id].x, pins[cam1.id].y) == ("Car Park", 0.1, 0.9)
        assert (pins[hp1.id].area, pins[hp1.id].x) == ("Town Centre", 0.75)
        ian.unpin(hp1)
        assert hp1.id not in otto.pins()

        moves = [e for e in profile.audit.entries(Filter(action="map.pin")) if e.outcome == "ok"]
        assert [e.device for e in moves] == ["cam1", "hp1", "cam1"]
        assert json.loads(moves[2].detail)["from"] == {"plan": "Town Centre", "x": 0.25,
                                                      "y": 0.5}
        plans = profile.audit.entries(Filter(action="map.plan"))
        assert [(e.user, e.outcome) for e in plans] == [
            ("otto-operator", "denied"), ("ian-installer", "ok"), ("ian-installer", "ok")]
        assert [json.loads(e.detail).get("area") for e in plans[1:]] == ["Town Centre",
                                                                        "Car Park"]

        # the same from the command line, for installers' scripts
        def as_user(user: str, pw: str, *args: str) -> subprocess.CompletedProcess[str]:
            return subprocess.run(vms_cmd("--data-dir", str(profile_dir), "maps", *args),
                                  capture_output=True, text=True, timeout=60,
                                  env={**env, "VMS_USER": user, "VMS_PASSWORD": pw})

        png.rename(tmp_path / "station.png")
        refused = as_user("otto-operator", "otto-watches-42", "plan", "Station",
                          str(tmp_path / "station.png"))
        assert refused.returncode == 2 and "installer" in refused.stderr, refused.stderr
        done = as_user("ian-installer", "ian-installs-42", "plan", "Station",
                       str(tmp_path / "station.png"))
        assert done.returncode == 0 and "Station has its plan (PNG" in done.stdout, done.stderr
        done = as_user("ian-installer", "ian-installs-42", "pin", "hp1", "0.5", "0.25",
                       "--plan", "Station")
        assert done.returncode == 0, done.stderr
        assert "hp1 is pinned on the plan of Station at 0.500, 0.250." in done.stdout
        off = as_user("ian-installer", "ian-installs-42", "pin", "hp1", "2", "0.5",
                      "--plan", "Station")
        assert off.returncode == 2 and "must lie on the plan" in off.stderr, off.stderr
        listed = json.loads(as_user("otto-operator", "otto-watches-42", "list",
                                    "--json").stdout)
        assert sorted(p["area"] for p in listed["plans"]) == ["Car Park", "Station",
                                                              "Town Centre"]
        assert {(p["device"], p["plan"], p["x"], p["y"]) for p in listed["pins"]} == {
            ("cam1", "Car Park", 0.1, 0.9), ("hp1", "Station", 0.5, 0.25)}
        done = as_user("ian-installer", "ian-installs-42", "unpin", "hp1")
        assert done.returncode == 0 and "hp1 is off the plans." in done.stdout
        text = as_user("otto-operator", "otto-watches-42", "list").stdout
        assert "Car Park (PNG): cam1 at 0.100, 0.900" in text
        assert "Station (PNG): no devices pinned" in text
    finally:
        profile.close()


def test_a_page_of_a_pdf_is_a_plan_kept_as_an_image(tmp_path: Path, qapp: object) -> None:
    profile_dir = tmp_path / "p"
    env = ensure_admin(profile_dir)
    profile, admin = signed_in(profile_dir)
    try:
        UserAdmin(profile.access, admin).add("ian-installer", Role.INSTALLER, "ian-installs-42")
        ian = SitePlans(profile, profile.access.sign_in("ian-installer", "ian-installs-42",
                                                        via="test"))
        pdf = tmp_path / "plans.pdf"
        plans_pdf(pdf)
        assert plan_pages(pdf) == 2
        with pytest.raises(ConfigError, match="the PDF has 2 pages; there is no page 3"):
            ian.set_plan("Town Centre", pdf, 3)
        plan = ian.set_plan("Town Centre", pdf, 2)
        assert plan.kind == "png"
        image = QImage(str(plan.path))
        assert max(image.width(), image.height()) == PDF_LONG_SIDE
        assert abs(image.width() / image.height() - 297 / 210) < 0.01  # A4 landscape
        middle = image.pixelColor(image.width() // 2, image.height() // 2)
        street = image.pixelColor(image.width() // 5, image.height() // 5)
        assert (middle.red(), middle.green()) == (255, 0) and street.name() == "#cccccc"
        png = tmp_path / "plan.png"
        assert image.save(str(png))
        assert plan_pages(png) == 0
        with pytest.raises(ConfigError, match="only for a PDF"):
            ian.set_plan("Car Park", png, 2)
        with pytest.raises(ConfigError, match="cannot be shown"):  # as the registry refuses
            ian.set_plan("\x00loaned-kit", png)
        done = [json.loads(e.detail) for e in profile.audit.entries(Filter(action="map.plan"))
                if e.outcome == "ok"]
        assert done[-1]["format"] == "PNG" and done[-1]["from_pdf"]["page"] == 2
        cover = subprocess.run(vms_cmd("--data-dir", str(profile_dir), "maps", "plan",
                                       "Station", str(pdf), "--page", "1"),
                               capture_output=True, text=True, timeout=60,
                               env={**env, "VMS_USER": "ian-installer",
                                    "VMS_PASSWORD": "ian-installs-42"})
        assert cover.returncode == 0 and "Station has its plan (PNG" in cover.stdout, \
            cover.stderr
    finally:
        profile.close()
