"""Words for a person: clock offsets, and a refusal that names what was asked for."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest

from tests.conftest import PASSWORD, USER, Sim, ensure_admin, vms_cmd
from vms.onvif.model import describe_offset


@pytest.mark.parametrize(("seconds", "words"), [
    (-0.2, "in step with this computer (0.2 s behind)"),
    (0.04, "in step with this computer"),
    (0.6, "in step with this computer (0.6 s ahead)"),
    (-95, "95 s behind this computer"),
    (125, "2 min 5 s ahead of this computer"),
    (600.3, "10 min ahead of this computer"),
    (-3725, "1 h 2 min behind this computer"),
    (-3 * 86400, "3 days behind this computer"),
])
def test_clock_offsets_are_worded_for_a_person(seconds: float, words: str) -> None:
    assert describe_offset(seconds) == words


def vms(profile: Path, *args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(vms_cmd("--data-dir", str(profile), *args), input=stdin,
                          capture_output=True, text=True, timeout=60, env=ensure_admin(profile))


def clock_line(res: subprocess.CompletedProcess[str]) -> str:
    assert res.returncode == 0, res.stderr
    return next(line for line in res.stdout.splitlines() if line.startswith("Clock"))


def test_probe_words_the_clock_offset(sim: Sim, tmp_path: Path) -> None:
    """Was "offset -0.2 s (0 s behind this computer)"."""
    line = clock_line(vms(tmp_path, "probe", sim.address("cam1"), "--user", USER,
                          "--password-stdin", stdin=PASSWORD))
    assert "in step with this computer" in line and "(0 s" not in line, line
    try:
        sim.cli("skew", "cam2", "-95")
        line = clock_line(vms(tmp_path, "probe", sim.address("cam2"), "--user", USER,
                              "--password-stdin", stdin=PASSWORD))
        assert re.search(r"offset -9[45]\.\d s: 9[456] s behind this computer$", line), line
    finally:
        sim.cli("skew", "cam2", "0")


def test_an_administrator_asking_for_presets_is_told_it_is_about_presets(
        sim: Sim, tmp_path: Path) -> None:
    """Administrators add devices but do not steer them (README's role table: "live view
    only"), so the refusal stands; it now names the act asked for, not "move cameras"."""
    res = vms(tmp_path, "devices", "add", sim.address("cam1"), "--user", USER,
              "--password-stdin", stdin=PASSWORD)
    assert res.returncode == 0, res.stderr
    res = vms(tmp_path, "devices", "presets", "cam1")
    assert res.returncode != 0
    assert "administrators may not view a camera's PTZ presets" in res.stderr, res.stderr
    assert "operators, supervisors and installers" in res.stderr, res.stderr
    assert "Traceback" not in res.stderr
