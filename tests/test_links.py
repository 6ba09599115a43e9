"""Linked cameras on the simulator: an installer links street domes to a Help Point with a
preset; during a call they go there, one failing camera does not stop the others."""

from __future__ import annotations

import json
import os
import subprocess
import uuid
from collections.abc import Iterator

import pytest

from tests.conftest import Sim, vms_cmd
from tests.wall_helpers import Site, at, register, steer
from vms.access.admin import UserAdmin
from vms.access.roles import Role
from vms.access.session import Session
from vms.devices.links import CameraLinks
from vms.devices.ptz import PtzControl
from vms.errors import ConfigError, DeviceError, PermissionDenied

INSTALLER, INSTALLER_PASSWORD = "links-installer", "links-installer-pass"


@pytest.fixture(scope="module")
def lsite(sim: Sim, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Site, Session]]:
    site = register(sim, tmp_path_factory.mktemp("links") / "profile", ["hp2", "cam3", "cam4"])
    admin = site.profile.access.sign_in("root-admin", "test-admin-passphrase", via="test")
    UserAdmin(site.profile.access, admin).add(INSTALLER, Role.INSTALLER, INSTALLER_PASSWORD)
    inst = site.profile.access.sign_in(INSTALLER, INSTALLER_PASSWORD, via="test")
    yield site, inst
    site.profile.close()


def test_link_checks_the_preset_and_a_call_up_moves_the_camera(
        sim: Sim, lsite: tuple[Site, Session]) -> None:
    site, inst = lsite
    hp, cam3, cam4 = site.ids["hp2"], site.ids["cam3"], site.ids["cam4"]
    ptz = PtzControl(site.profile, inst)
    links = CameraLinks(site.profile, inst, ptz)
    op_links = CameraLinks(site.profile, site.operator)
    try:
        target = steer(ptz, sim, cam3, "cam3", 0.6, 0.3)
        name = f"Station Approach {uuid.uuid4().hex[:6]}"  # the shared sim keeps presets
        ptz.save_preset(cam3, name).result(10)
        away = steer(ptz, sim, cam3, "cam3", -0.8, -0.5)
        assert not at(sim, "cam3", target) and away["pan"] < target["pan"]

        # Linking checks the preset on the camera and says what it has.
        with pytest.raises(DeviceError, match=r"cam3 has no preset named 'Nowhere' \(it has: .*"
                                              + name):
            links.link(hp, cam3, "Nowhere")
        with pytest.raises(ConfigError, match="cannot be linked to itself"):
            links.link(hp, hp)
        with pytest.raises(DeviceError, match="hp2 cannot steer"):
            links.link(cam4, hp, "anything")
        with pytest.raises(PermissionDenied):
            op_links.link(hp, cam4)  # operators watch; installers commission
        row = links.link(hp, cam3, name.upper())  # names as typed, case aside
        assert (row.camera, row.preset_name) == ("cam3", name) and row.preset_token
        links.link(hp, cam4)  # a fixed view: shown, never moved
        assert [(r.camera, r.preset_name) for r in op_links.links(hp)] == \
            [("cam3", name), ("cam4", None)]

        # The call-up, as the operator who accepted the call.
        results = op_links.call_up(hp)
        assert [(r.camera, r.ok) for r in results] == [("cam3", True)], results
        assert at(sim, "cam3", target)

        # The camera re-made its presets (new tokens, same names): found by name, and kept.
        steer(ptz, sim, cam3, "cam3", -0.5, 0.0)
        site.profile.registry.set_link(hp, cam3, "token-the-camera-forgot", name, INSTALLER)
        linked_at = site.profile.registry.links(hp)[0].linked_at
        results = op_links.call_up(hp)
        assert [(r.camera, r.ok) for r in results] == [("cam3", True)], results
        assert at(sim, "cam3", target)
        kept = site.profile.registry.links(hp)[0]
        assert kept.preset_token == row.preset_token and kept.linked_at == linked_at

        # An offline camera is one failed line, in words; it works again when back.
        sim.cli("offline", "cam3")
        try:
            results = op_links.call_up(hp)
            assert len(results) == 1 and not results[0].ok
            assert results[0].detail and "rtsp://" not in results[0].detail
            print("offline call-up said:", results[0].detail)
        finally:
            sim.cli("online", "cam3")
        steer(ptz, sim, cam3, "cam3", 0.4, -0.4)
        assert op_links.call_up(hp)[0].ok and at(sim, "cam3", target)

        actions = [(e.user, e.action) for e in site.profile.audit.entries()]
        assert actions.count((INSTALLER, "device.link")) == 2
        assert (site.operator.user, "ptz.preset.go") in actions
        links.unlink(hp, cam4)
        with pytest.raises(ConfigError, match="cam4 is not linked to hp2"):
            links.unlink(hp, cam4)
        assert [r.camera for r in links.links(hp)] == ["cam3"]
    finally:
        links.close()
        op_links.close()
        ptz.close()


def test_cli_links_by_name(sim: Sim, lsite: tuple[Site, Session]) -> None:
    site, _inst = lsite
    env = {**os.environ, "VMS_USER": INSTALLER, "VMS_PASSWORD": INSTALLER_PASSWORD}

    def vms(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(vms_cmd("--data-dir", str(site.path), "devices", *args),
                              capture_output=True, text=True, timeout=60, env=env)

    name = f"Bus stop {uuid.uuid4().hex[:6]}"
    ptz = PtzControl(site.profile, site.profile.access.sign_in(INSTALLER, INSTALLER_PASSWORD,
                                                               via="test"))
    try:
        ptz.save_preset(site.ids["cam4"], name).result(10)
    finally:
        ptz.close()
    res = vms("presets", "cam4", "--json")
    assert res.returncode == 0, res.stderr
    assert name in [p["name"] for p in json.loads(res.stdout)]
    res = vms("link", "hp2", "cam4", "--preset", "Nope")
    assert res.returncode != 0 and "cam4 has no preset named 'Nope'" in res.stderr, res.stderr
    res = vms("link", "HP2", "cam4", "--preset", name)
    assert res.returncode == 0, res.stderr
    assert f"Linked cam4 to hp2, preset '{name}'." in res.stdout
    res = vms("links", "hp2", "--json")
    assert [(r["camera"], r["preset"]) for r in json.loads(res.stdout)][-1] == ("cam4", name)
    res = vms("links", "hp2")
    assert "cam4" in res.stdout and name in res.stdout
    res = vms("unlink", "hp2", "cam4")
    assert res.returncode == 0 and "Unlinked cam4 from hp2." in res.stdout, res.stderr
    res = vms("link", "hp9", "cam4")
    assert res.returncode != 0 and "no registered device is named 'hp9'" in res.stderr
