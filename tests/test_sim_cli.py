"""`vms sim` as a person runs it: busy ports, isolated profiles, bad input, offline/online."""

from __future__ import annotations

import os
import socket
import subprocess
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from tests.conftest import REPO, Sim, start_sim, vms_cmd


def run_vms(*args: str, env: dict[str, str] | None = None, timeout: float = 120
            ) -> subprocess.CompletedProcess[str]:
    return subprocess.run(vms_cmd(*args), capture_output=True, text=True, timeout=timeout,
                          env=env, cwd=REPO)


def test_busy_port_is_named_and_exits_non_zero(tmp_path: Path) -> None:
    blocker = socket.socket()
    blocker.bind(("127.0.0.1", 0))
    blocker.listen()
    port = blocker.getsockname()[1]
    try:
        t0 = time.monotonic()
        res = run_vms("--data-dir", str(tmp_path), "sim", "--base-port", str(port),
                      "--rtsp-base-port", "0", "--control-port", "0", "--no-discovery",
                      "--cameras", "1", "--help-points", "0", "--pid", "0")
    finally:
        blocker.close()
    assert res.returncode != 0
    assert f"port {port} is already in use" in res.stderr and "cam1" in res.stderr
    assert "Traceback" not in res.stderr
    assert time.monotonic() - t0 < 30, "a busy port must fail before any clip is encoded"


def test_control_commands_without_a_running_site_say_so(tmp_path: Path) -> None:
    res = run_vms("--data-dir", str(tmp_path), "sim", "press", "hp1")
    assert res.returncode == 2
    assert "no simulated site is running" in res.stderr and "Traceback" not in res.stderr


def test_unknown_device_is_a_clear_error(sim: Sim) -> None:
    res = sim.cli("press", "hp99", check=False)
    assert res.returncode == 2 and "no device called 'hp99'" in res.stderr
    res = sim.cli("press", "cam1", check=False)  # a fixed camera has no button
    assert res.returncode == 2 and "no digital input" in res.stderr


def test_bad_toml_is_reported_in_plain_words(tmp_path: Path) -> None:
    cfg = tmp_path / "site.toml"
    cfg.write_text("[site\nname = 'x'")
    res = run_vms("--data-dir", str(tmp_path / "d"), "sim", "--config", str(cfg))
    assert res.returncode == 2 and "is not valid TOML" in res.stderr


def test_profile_isolation_nothing_written_outside_data_dir(tmp_path: Path, clip_cache: Path) -> None:
    """HOME and XDG dirs point at an empty tree; after a run it must still be empty."""
    home = tmp_path / "home"
    home.mkdir()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("XDG_", "VMS_"))}
    env.update(HOME=str(home), XDG_DATA_HOME=str(home / ".local/share"),
               XDG_CACHE_HOME=str(home / ".cache"), XDG_CONFIG_HOME=str(home / ".config"),
               VMS_DATA_DIR=str(tmp_path / "profile"), PYTHONDONTWRITEBYTECODE="1")
    cfg = tmp_path / "small.toml"
    cfg.write_text('[site]\nname = "Isolation"\n[[device]]\nname = "lone"\nkind = "help_point"\n'
                   'location = "Yard"\n')
    sim = start_sim(tmp_path / "profile", clip_cache, "--config", str(cfg), env=env)
    try:
        res = subprocess.run(vms_cmd("sim", "press", "lone"), env=env, capture_output=True,
                             text=True, timeout=60, cwd=REPO)  # VMS_DATA_DIR finds the site
        assert res.returncode == 0, res.stderr
        assert [d["name"] for d in sim.state()["devices"]] == ["lone"]
    finally:
        sim.stop()
    leaked = [str(p.relative_to(home)) for p in home.rglob("*")]
    assert leaked == [], f"written outside the profile: {leaked}"
    assert not (tmp_path / "profile" / "sim" / "site.json").exists(), "state file left behind"


def test_offline_drops_http_and_rtsp_and_online_restores_them(sim: Sim) -> None:
    dev = sim.device("cam2")
    http = f"http://127.0.0.1:{dev['http_port']}/onvif/device_service"

    def http_up() -> bool:
        body = (b'<s:Envelope xmlns:s="http://www.w3.org/2003/05/soap-envelope"><s:Body>'
                b'<GetSystemDateAndTime xmlns="http://www.onvif.org/ver10/device/wsdl"/>'
                b"</s:Body></s:Envelope>")
        try:
            with urllib.request.urlopen(urllib.request.Request(http, data=body), timeout=3):
                return True
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            return False

    def rtsp_up() -> bool:
        try:
            socket.create_connection(("127.0.0.1", dev["rtsp_port"]), timeout=2).close()
            return True
        except OSError:
            return False

    assert http_up() and rtsp_up()
    sim.cli("offline", "cam2")
    try:
        assert not http_up() and not rtsp_up()
        assert sim.live("cam2")["online"] is False
    finally:
        sim.cli("online", "cam2")
    assert http_up() and rtsp_up()


@pytest.mark.parametrize("args, message", [
    (["sim", "--base-port", "70000"], "out of range"),
    (["sim", "--cameras", "-1"], "cannot be negative"),
    (["sim", "--cameras", "0", "--help-points", "0", "--pid", "0"], "at least one device"),
])
def test_bad_flags(tmp_path: Path, args: list[str], message: str) -> None:
    res = run_vms("--data-dir", str(tmp_path), *args)
    assert res.returncode == 2 and message in res.stderr


def test_default_site_on_documented_ports(tmp_path: Path, clip_cache: Path) -> None:
    """`vms sim` with no flags: 4 + 2 + 2 devices, HTTP from 10080, RTSP from 10554, control 10079."""
    sim = Sim(tmp_path / "data", clip_cache=clip_cache)
    sim.start()
    try:
        state = sim.wait_ready(600)
        devs = state["devices"]
        assert [d["kind"] for d in devs] == ["camera"] * 4 + ["help_point"] * 2 + ["pid"] * 2
        assert [d["http_port"] for d in devs] == list(range(10080, 10088))
        assert [d["rtsp_port"] for d in devs] == list(range(10554, 10562))
        assert state["control_url"] == "http://127.0.0.1:10079"
        assert state["discovery_port"] == 3702
        assert sim.cli("press", "hp1").returncode == 0
        assert sim.live("hp1")["button_pressed"] is True
    finally:
        sim.stop()
    log = sim.log_text()
    assert "user 'admin', password 'beacon-sim'" in log  # credentials printed at start
